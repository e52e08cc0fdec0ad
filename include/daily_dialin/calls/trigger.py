"""The events-table watcher: an event trigger, run by the triggerer, that starts a calls run when
the receiver has stored events not folded in yet.

It polls :meth:`CallsStore.pending` (count and highest ``seq`` of unprocessed events) every
``poll_seconds`` in a worker thread and yields ``{"pending", "seq", "refire"}`` - counts only - for
a ``seq`` it has not fired for; the same pending work fires again only after the doubling re-fire
interval (the freshness watcher's :class:`FireGate`). Level-triggered like that watcher: the table is
the state, so a lost event, a triggerer restart or a failed run lose nothing. Outages are retried
with back-off and never end the trigger.

Why a watcher and not an asset event from the receiver: the receiver then touches only the meetings
database (one committed insert per request: its answer does not wait on Airflow's metadata
database or scheduler); a burst of events becomes one run (one poll, one event; ``max_active_runs=1``
coalesces the rest) instead of one asset event per webhook; and an event committed just before the
API server died is still found. The cost is the poll interval (default 5 s) on top of a run.

:class:`PollingWatcher` is what both of the application's calls watchers share (this one and
:class:`~daily_dialin.calls.revoke_trigger.RevokeDueTrigger`): the sources opened once and renewed
every few minutes or when the settings change, the poll in a worker thread, back-off on outages,
the freshness watcher's re-fire gate. A subclass says what it polls and what its event carries.

May import at module level: the standard library, :mod:`airflow.triggers.base` and
:mod:`daily_dialin.freshness.trigger` (light); the rest inside the poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from daily_dialin.freshness.trigger import FireGate, backoff_delay

__all__ = ["CallEventsTrigger", "PollingWatcher"]

CLASSPATH = "daily_dialin.calls.trigger.CallEventsTrigger"
STORE_MAX_AGE_SECONDS = 300.0


class PollingWatcher(BaseEventTrigger):
    """Poll the meetings database every ``poll_seconds``; fire for work not fired for yet (and again
    after the doubling re-fire interval while it stays). Subclasses set :attr:`CLASSPATH` and
    :attr:`LABEL` and implement :meth:`check`."""

    CLASSPATH: ClassVar[str]
    LABEL: ClassVar[str]  # how the log names the watch

    def __init__(
        self,
        *,
        poll_seconds: float,
        refire_seconds: float,
        refire_max_seconds: float = 1800.0,
        max_backoff_seconds: float = 300.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.poll_seconds = float(poll_seconds)
        self.refire_seconds = float(refire_seconds)
        self.refire_max_seconds = max(float(refire_max_seconds), self.refire_seconds)
        self.max_backoff_seconds = max(float(max_backoff_seconds), self.poll_seconds)
        if self.poll_seconds <= 0 or self.refire_seconds <= 0:
            raise ValueError("poll_seconds and refire_seconds must be positive")
        self._held: Any = None
        self._opened = 0.0

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            self.CLASSPATH,
            {
                "poll_seconds": self.poll_seconds,
                "refire_seconds": self.refire_seconds,
                "refire_max_seconds": self.refire_max_seconds,
                "max_backoff_seconds": self.max_backoff_seconds,
            },
        )

    def check(self, config: Any, table: Any, store: Any) -> tuple[int, str, dict[str, Any]]:
        """``(how much work, a token naming it, the event's payload)``. Blocking."""
        raise NotImplementedError

    def _polled(self) -> tuple[int, str, dict[str, Any]]:
        try:
            return self.check(*self._sources())
        except BaseException:
            self._drop()
            raise

    def _sources(self) -> tuple[Any, Any, Any]:
        """The settings, the meetings table and the events store, reopened when stale or changed."""
        from daily_dialin.calls.settings import CallsSettings
        from daily_dialin.calls.store import CallsStore
        from daily_dialin.provisioning.config import ProvisioningConfig
        from daily_dialin.provisioning.table import MeetingsTable

        config, settings = ProvisioningConfig.load(), CallsSettings.load()
        key = config.model_dump_json() + settings.model_dump_json()
        fresh = time.monotonic() - self._opened < STORE_MAX_AGE_SECONDS
        if self._held is None or not fresh or self._held[0] != key:
            self._drop()
            table = MeetingsTable.from_config(config)
            store = CallsStore(engine=table.engine, settings=settings)
            store.ensure_schema()
            self._held, self._opened = (key, table, store), time.monotonic()
        return config, self._held[1], self._held[2]

    def _drop(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            try:
                held[1].engine.dispose()
            except Exception as exc:
                self.log.debug("%s: engine not disposed (%s)", self.LABEL, type(exc).__name__)

    async def cleanup(self) -> None:
        await asyncio.to_thread(self._drop)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        gate = FireGate(refire_seconds=self.refire_seconds, refire_max_seconds=self.refire_max_seconds)
        failures = 0
        while True:
            try:
                count, token, payload = await asyncio.to_thread(self._polled)
            except Exception as exc:  # an outage, a bad Variable: keep polling
                failures += 1
                if failures == 1:
                    self.log.warning("%s: cannot poll (%s); retrying with back-off", self.LABEL, type(exc).__name__)
                await asyncio.sleep(
                    backoff_delay(
                        failures, poll_seconds=self.poll_seconds, max_backoff_seconds=self.max_backoff_seconds
                    )
                )
                continue
            if failures:
                self.log.info("%s: polling again after %d failed poll(s)", self.LABEL, failures)
                failures = 0
            if gate.decide(token=token, pending=count > 0, now=time.time()):
                self.log.info("%s: %d to do: firing", self.LABEL, count)
                yield TriggerEvent({**payload, "refire": gate.refires})
            await asyncio.sleep(self.poll_seconds)


class CallEventsTrigger(PollingWatcher):
    """Fire when the events table holds events the calls DAG has not folded in."""

    CLASSPATH = CLASSPATH
    LABEL = "Call events watch"

    def __init__(self, *, poll_seconds: float = 5.0, refire_seconds: float = 120.0, **kwargs: Any) -> None:
        super().__init__(poll_seconds=poll_seconds, refire_seconds=refire_seconds, **kwargs)

    def poll(self) -> tuple[int, int]:
        """``(pending events, highest pending seq)``. Blocking: reads the Variables and the table."""
        count, _, payload = self._polled()
        return count, payload["seq"]

    def check(self, config: Any, table: Any, store: Any) -> tuple[int, str, dict[str, Any]]:
        count, top = store.pending()
        return count, str(top), {"pending": count, "seq": top}
