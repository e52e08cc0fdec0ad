"""Fault injection: scripted faults (a FIFO queue matched by method and path) and seeded random faults."""

from __future__ import annotations

import random
import threading
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from daily_emulator.settings import FaultSettings

FaultKind = Literal["429", "500", "502", "503", "hang", "reset", "lost_create"]
FAULT_KINDS: tuple[str, ...] = ("429", "500", "502", "503", "hang", "reset", "lost_create")


class ScriptedFault(BaseModel):
    """One queued fault; ``method``/``path`` (path after /v1, exact) restrict which request takes it."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    retry_after: int | None = Field(default=None, ge=0)
    hang_seconds: float | None = Field(default=None, ge=0)

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or self.path == path)


class Fault(BaseModel):
    """The fault chosen for one request."""

    kind: FaultKind
    retry_after: int | None = None
    hang_seconds: float = 30.0
    scripted: bool = False


class FaultInjector:
    """Chooses at most one fault per API request; scripted faults win over random ones."""

    def __init__(self, *, settings: FaultSettings) -> None:
        self._lock = threading.Lock()
        self._queue: list[ScriptedFault] = []
        self.configure(settings=settings)

    def configure(self, *, settings: FaultSettings) -> None:
        """Apply new rates and re-seed the random generator."""
        with self._lock:
            self.settings = settings
            self._rng = random.Random(settings.seed)

    def enqueue(self, faults: list[ScriptedFault]) -> int:
        with self._lock:
            self._queue.extend(faults)
            return len(self._queue)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def queued(self) -> list[ScriptedFault]:
        with self._lock:
            return list(self._queue)

    def draw(self, *, method: str, path: str) -> Fault | None:
        """The fault for this request, if any. Every call consumes one random draw."""
        with self._lock:
            settings = self.settings
            roll = self._rng.random()
            for index, scripted in enumerate(self._queue):
                if scripted.matches(method, path):
                    del self._queue[index]
                    return Fault(
                        kind=scripted.kind,
                        retry_after=scripted.retry_after if scripted.retry_after is not None else settings.retry_after,
                        hang_seconds=scripted.hang_seconds
                        if scripted.hang_seconds is not None
                        else settings.hang_seconds,
                        scripted=True,
                    )
            threshold = 0.0
            for kind, rate in settings.rates().items():
                threshold += rate
                if rate > 0 and roll < threshold:
                    return Fault(
                        kind=kind,  # type: ignore[arg-type]
                        retry_after=settings.retry_after,
                        hang_seconds=settings.hang_seconds,
                    )
            return None
