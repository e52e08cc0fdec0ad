"""Emulator clock: wall and monotonic time shifted by an adjustable offset, so tests can expire rooms."""

from __future__ import annotations

import threading
import time


class Clock:
    """Real time plus ``offset`` seconds; advancing it moves both wall time and the rate-limit clock."""

    def __init__(self, *, offset: float = 0.0) -> None:
        self._offset = float(offset)
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        """Unix time in seconds, as the emulated Daily sees it."""
        return time.time() + self._offset

    def monotonic(self) -> float:
        """Monotonic seconds for rate limiting (shifted by the same offset)."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, if negative); returns the new offset."""
        with self._lock:
            self._offset += float(seconds)
            return self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
