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

May import at module level: the standard library, :mod:`airflow.triggers.base` and
:mod:`daily_dialin.freshness.trigger` (light); the rest inside the poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from daily_dialin.freshness.trigger import FireGate, backoff_delay

__all__ = ["CallEventsTrigger"]

CLASSPATH = "daily_dialin.calls.trigger.CallEventsTrigger"
STORE_MAX_AGE_SECONDS = 300.0


class CallEventsTrigger(BaseEventTrigger):
    """Fire when the events table holds events the calls DAG has not folded in."""

    def __init__(
        self,
        *,
        poll_seconds: float = 5.0,
        refire_seconds: float = 120.0,
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
        self._store: Any = None
        self._opened = 0.0

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            CLASSPATH,
            {
                "poll_seconds": self.poll_seconds,
                "refire_seconds": self.refire_seconds,
                "refire_max_seconds": self.refire_max_seconds,
                "max_backoff_seconds": self.max_backoff_seconds,
            },
        )

    def poll(self) -> tuple[int, int]:
        """``(pending events, highest pending seq)``. Blocking: reads the Variables and the table."""
        try:
            return self._store_now().pending()
        except BaseException:
            self._drop()
            raise

    def _store_now(self) -> Any:
        from daily_dialin.calls.settings import CallsSettings
        from daily_dialin.calls.store import CallsStore
        from daily_dialin.provisioning.config import ProvisioningConfig
        from daily_dialin.provisioning.table import MeetingsTable

        config, settings = ProvisioningConfig.load(), CallsSettings.load()
        key = (config.meetings_conn_id, settings.events_table, settings.calls_table)
        fresh = time.monotonic() - self._opened < STORE_MAX_AGE_SECONDS
        if self._store is None or not fresh or self._store[0] != key:
            self._drop()
            store = CallsStore(engine=MeetingsTable.from_config(config).engine, settings=settings)
            store.ensure_schema()
            self._store, self._opened = (key, store), time.monotonic()
        return self._store[1]

    def _drop(self) -> None:
        held, self._store = self._store, None
        if held is not None:
            try:
                held[1].engine.dispose()
            except Exception as exc:
                self.log.debug("Call events watch: engine not disposed (%s)", type(exc).__name__)

    async def cleanup(self) -> None:
        await asyncio.to_thread(self._drop)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        gate = FireGate(refire_seconds=self.refire_seconds, refire_max_seconds=self.refire_max_seconds)
        failures = 0
        while True:
            try:
                count, top = await asyncio.to_thread(self.poll)
            except Exception as exc:  # an outage, a bad Variable: keep polling
                failures += 1
                if failures == 1:
                    self.log.warning("Call events watch: cannot poll (%s); retrying with back-off", type(exc).__name__)
                await asyncio.sleep(
                    backoff_delay(
                        failures, poll_seconds=self.poll_seconds, max_backoff_seconds=self.max_backoff_seconds
                    )
                )
                continue
            if failures:
                self.log.info("Call events watch: polling again after %d failed poll(s)", failures)
                failures = 0
            if gate.decide(token=str(top), pending=count > 0, now=time.time()):
                self.log.info("Call events watch: %d event(s) to fold in: firing", count)
                yield TriggerEvent({"pending": count, "seq": top, "refire": gate.refires})
            await asyncio.sleep(self.poll_seconds)
