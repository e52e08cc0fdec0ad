"""Token-bucket rate limiting per endpoint class, as Daily documents it (e.g. 20/s and 100 per 5 s)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from daily_emulator.clock import Clock
from daily_emulator.settings import RateLimit


class TokenBucket:
    """Holds up to ``capacity`` tokens, refilled continuously at ``refill_per_second``; starts full."""

    def __init__(self, *, capacity: int, refill_per_second: float, now: float) -> None:
        self.capacity = float(capacity)
        self.refill_per_second = float(refill_per_second)
        self.tokens = float(capacity)
        self._updated = now

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        self._updated = now

    def seconds_until_token(self) -> float:
        """Seconds until one whole token is available (call after ``refill``)."""
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.refill_per_second


class RateLimiter:
    """A request of a class needs one token from every bucket of that class; unknown classes are unlimited."""

    def __init__(self, *, limits: Mapping[str, Sequence[RateLimit]], clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        now = clock.monotonic()
        self._buckets = {
            name: [
                TokenBucket(capacity=limit.requests, refill_per_second=limit.requests / limit.per_seconds, now=now)
                for limit in class_limits
            ]
            for name, class_limits in limits.items()
        }

    def try_acquire(self, endpoint_class: str) -> tuple[bool, float]:
        """Take a token from each bucket of the class, or none at all.

        Returns ``(allowed, retry_after_seconds)``; ``retry_after_seconds`` is 0 when allowed.
        """
        buckets = self._buckets.get(endpoint_class)
        if not buckets:
            return True, 0.0
        with self._lock:
            now = self._clock.monotonic()
            for bucket in buckets:
                bucket.refill(now)
            wait = max(bucket.seconds_until_token() for bucket in buckets)
            if wait > 0:
                return False, wait
            for bucket in buckets:
                bucket.tokens -= 1.0
            return True, 0.0
