"""Request, rate-limit, fault and room-creation counters exposed by ``GET /_emulator/counters``."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Counters:
    """Thread-safe counters; request keys are ``"<METHOD> <route template>"`` such as ``"GET /rooms/:name"``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._rate_limited: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._rooms_created = 0
            self._rooms_deleted = 0

    def request(self, key: str) -> None:
        with self._lock:
            self._requests[key] += 1

    def rate_limited(self, key: str) -> None:
        with self._lock:
            self._rate_limited[key] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def rooms_created(self, count: int) -> None:
        with self._lock:
            self._rooms_created += count

    def rooms_deleted(self, count: int) -> None:
        with self._lock:
            self._rooms_deleted += count

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "rate_limited": dict(self._rate_limited),
                "faults": dict(self._faults),
                "rooms_created": self._rooms_created,
                "rooms_deleted": self._rooms_deleted,
            }
