"""The running emulator: settings plus clock, store, rate limiter, fault injector and counters."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from daily_emulator.clock import Clock
from daily_emulator.counters import Counters
from daily_emulator.faults import FaultInjector
from daily_emulator.ratelimit import RateLimiter
from daily_emulator.settings import RUNTIME_SETTINGS, EmulatorSettings
from daily_emulator.state import Store
from daily_emulator.webhooks import Webhooks

log = logging.getLogger(__name__)


class Emulator:
    """One emulated Daily domain; ``create_app`` exposes it over HTTP, tests may inspect it directly."""

    def __init__(self, *, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.clock = Clock()
        self.counters = Counters()
        self.store = Store(settings=settings, clock=self.clock)
        self.limiter = RateLimiter(limits=settings.rate_limits, clock=self.clock)
        self.faults = FaultInjector(settings=settings.faults)
        self.webhooks = Webhooks(settings=lambda: self.settings, clock=self.clock, tick=self.store.life.sweep)
        self.store.life.subscribe(self.webhooks.on_event)
        self._shutting_down = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    @property
    def shutting_down(self) -> bool:
        """True while the server is stopping: hanging requests give up early."""
        return self._shutting_down.is_set()

    def begin_shutdown(self) -> None:
        self._shutting_down.set()

    def end_shutdown(self) -> None:
        self._shutting_down.clear()

    # ----------------------------------------------------------------- admin ops

    def configure(self, patch: Mapping[str, Any]) -> EmulatorSettings:
        """Change runtime settings (see ``RUNTIME_SETTINGS``); ``faults`` merges into the current faults.

        New ``rate_limits`` start with full buckets; new ``faults`` re-seed the fault generator.

        Raises ``ValueError`` (incl. pydantic's ValidationError) for unknown keys or bad values.
        """
        unknown = sorted(set(patch) - set(RUNTIME_SETTINGS))
        if unknown:
            raise ValueError(f"settings that cannot be changed at runtime: {unknown}")
        update = {key: _plain(value) for key, value in patch.items()}
        if "faults" in update:
            update["faults"] = {**self.settings.faults.model_dump(), **(update["faults"] or {})}
        merged = {**self.settings.model_dump(), **update}
        settings = EmulatorSettings.model_validate(merged)
        self.settings = settings
        self.store.settings = settings
        if "rate_limits" in patch:
            self.limiter = RateLimiter(limits=settings.rate_limits, clock=self.clock)
        if "faults" in patch:
            self.faults.configure(settings=settings.faults)
        if "webhook_workers" in patch:
            self.webhooks.resize()
        log.info("Emulator settings changed: %s", sorted(patch))
        return settings

    def reset(self) -> None:
        """Clear rooms, room life, webhooks, counters, queued faults and the clock offset; re-seed dial-in configs."""
        self.clock.reset()
        self.webhooks.reset()
        self.store.reset()
        self.counters.reset()
        self.faults.clear()
        self.faults.configure(settings=self.settings.faults)
        self.limiter = RateLimiter(limits=self.settings.rate_limits, clock=self.clock)
        log.info("Emulator reset")

    def snapshot(self) -> dict[str, Any]:
        return {**self.store.snapshot(), "counters": self.counters.snapshot()}


def _plain(value: Any) -> Any:
    """Pydantic models (also inside lists and dicts) to plain data, so partial settings can be merged."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
