"""Client-side pacing under Daily's rate limits, so a normal run never sees a 429.

Daily documents each limit as "N requests per W seconds" per endpoint class (``default`` for most
endpoints, ``delete`` for ``DELETE /rooms/:name``), sometimes two windows per class. The pacer
keeps one sliding window per documented limit and a request waits until every window of its class
has room. ``safety`` (97 %) widens each window (N per W / safety seconds), so the pace is 97 % of
Daily's rate exactly, not rounded down to whole requests; ``share`` (a task's part of the budget
when several tasks call Daily at once) cuts the count, so concurrent clients never burst above
N together. Pacers are shared per process and per
(base URL, connection), so several hooks in one task share one budget. Limits are settings: Daily
changes them and raises them on request.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping

DEFAULT_RATE_LIMITS: dict[str, list[tuple[int, float]]] = {
    "default": [(20, 1.0), (100, 5.0)],
    "delete": [(2, 1.0), (50, 30.0)],
}
DEFAULT_SAFETY = 0.97


class _Window:
    """At most ``limit`` requests in any ``width`` seconds (a sliding window of send times)."""

    def __init__(self, *, limit: int, width: float) -> None:
        self.limit = limit
        self.width = width
        self.sent: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.width:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.limit else self.sent[0] + self.width - now


class Pacer:
    """Blocking limiter for one endpoint class: every window of the class must have room.

    Sliding windows are the strictest reading of "N requests per W seconds": a client that
    honours them is also under a token bucket of the same figures, whichever Daily uses.
    """

    def __init__(
        self,
        *,
        limits: Iterable[tuple[int, float]],
        safety: float = DEFAULT_SAFETY,
        share: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._windows = []
        for n, w in limits:
            count = max(1, int(n * share))
            # count per width == n * share * safety per w: the exact budget, however it rounds
            self._windows.append(_Window(limit=count, width=w * count / (n * share * safety)))

    def acquire(self) -> float:
        """Record one request, sleeping first as long as needed. Returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                delay = max((w.wait_time(now) for w in self._windows), default=0.0)
                if delay <= 0:
                    for window in self._windows:
                        window.sent.append(now)
                    return waited
            self._sleep(delay)
            waited += delay


def parse_rate_limits(raw: Mapping[str, object] | None) -> dict[str, list[tuple[int, float]]]:
    """Connection-extra form ``{"default": [[20, 1], [100, 5]], "delete": [[2, 1]]}`` -> limits.

    Classes not given keep Daily's documented defaults.
    """
    limits = {name: list(windows) for name, windows in DEFAULT_RATE_LIMITS.items()}
    for name, windows in (raw or {}).items():
        if not isinstance(windows, list) or not windows:
            raise ValueError(f"rate_limits[{name!r}] must be a non-empty list of [requests, seconds]")
        limits[str(name)] = [_parse_window(name, window) for window in windows]
    return limits


def _parse_window(name: object, window: object) -> tuple[int, float]:
    """One ``[requests, seconds]`` window of endpoint class ``name``."""
    if not isinstance(window, list | tuple) or len(window) != 2:
        raise ValueError(f"rate_limits[{name!r}]: {window!r} is not [requests, seconds]")
    requests, seconds = int(window[0]), float(window[1])
    if requests < 1 or seconds <= 0:
        raise ValueError(f"rate_limits[{name!r}]: {window!r} must be positive")
    return requests, seconds


_registry: dict[tuple[str, str, float, float], Pacer] = {}
_registry_lock = threading.Lock()


def shared_pacer(
    *,
    scope: str,
    endpoint_class: str,
    limits: dict[str, list[tuple[int, float]]],
    safety: float,
    share: float = 1.0,
) -> Pacer:
    """The process-wide pacer for ``scope`` (base URL + connection) and one endpoint class."""
    windows = limits.get(endpoint_class) or limits["default"]
    key = (scope, f"{endpoint_class}:{windows!r}", safety, share)
    with _registry_lock:
        pacer = _registry.get(key)
        if pacer is None:
            pacer = _registry[key] = Pacer(limits=windows, safety=safety, share=share)
        return pacer
