"""The revoke watcher: an event trigger, run by the triggerer, that starts a calls run when an ended
meeting's room has become due for deletion (:func:`daily_dialin.calls.revoke.due_revokes`).

Why a second watcher: a room becomes due ``revoke_after_minutes`` after ``meeting.ended`` - by then
that event was folded in long ago, and often no other event arrives; the events watcher would not
fire and only the hourly safety cron would run the revoke (``meeting.ended`` -> PIN refused up to
``revoke_after_minutes`` + 60 min). Polling the due set every ``poll_seconds`` (default 15 s: SQL
only, no Daily call) keeps it at ``revoke_after_minutes`` + poll + a run's start (the goal: p95 <=
``revoke_after_minutes`` + 60 s).

It yields ``{"due", "refire"}`` (a count: no PIN, no room name) for a due set it has not fired for
(keyed by a digest of the due meeting ids); a set that stays due - a room deferred because someone
is in it, a room Daily refuses to delete - fires again after the doubling re-fire interval (the
freshness watcher's :class:`FireGate`), so a deferred room is retried soon after it empties, with
back-off. Outages are retried with back-off and never end the trigger.

May import at module level: the standard library, :mod:`airflow.triggers.base` and
:mod:`daily_dialin.freshness.trigger` (light); the rest inside the poll.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from daily_dialin.freshness.trigger import FireGate, backoff_delay

__all__ = ["RevokeDueTrigger"]

CLASSPATH = "daily_dialin.calls.revoke_trigger.RevokeDueTrigger"
STORE_MAX_AGE_SECONDS = 300.0


class RevokeDueTrigger(BaseEventTrigger):
    """Fire when an ended one-off meeting's room is due for deletion."""

    def __init__(
        self,
        *,
        poll_seconds: float = 15.0,
        refire_seconds: float = 60.0,
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
            CLASSPATH,
            {
                "poll_seconds": self.poll_seconds,
                "refire_seconds": self.refire_seconds,
                "refire_max_seconds": self.refire_max_seconds,
                "max_backoff_seconds": self.max_backoff_seconds,
            },
        )

    def poll(self, now: datetime | None = None) -> tuple[int, str]:
        """``(due meetings, digest of their ids)``. Blocking: reads the Variables and the tables."""
        from daily_dialin.calls.revoke import due_revokes

        try:
            config, table, store = self._sources()
            if not config.revoke_after_minutes:
                return 0, ""
            due, _ = due_revokes(table, store, config, now or datetime.now(UTC))
        except BaseException:
            self._drop()
            raise
        digest = hashlib.blake2b("\x1f".join(sorted(d.meeting_id for d in due)).encode(), digest_size=16)
        return len(due), digest.hexdigest()

    def _sources(self) -> tuple[Any, Any, Any]:
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
                self.log.debug("Revoke watch: engine not disposed (%s)", type(exc).__name__)

    async def cleanup(self) -> None:
        await asyncio.to_thread(self._drop)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        gate = FireGate(refire_seconds=self.refire_seconds, refire_max_seconds=self.refire_max_seconds)
        failures = 0
        while True:
            try:
                count, token = await asyncio.to_thread(self.poll)
            except Exception as exc:  # an outage, a bad Variable: keep polling
                failures += 1
                if failures == 1:
                    self.log.warning("Revoke watch: cannot poll (%s); retrying with back-off", type(exc).__name__)
                await asyncio.sleep(
                    backoff_delay(
                        failures, poll_seconds=self.poll_seconds, max_backoff_seconds=self.max_backoff_seconds
                    )
                )
                continue
            if failures:
                self.log.info("Revoke watch: polling again after %d failed poll(s)", failures)
                failures = 0
            if gate.decide(token=token, pending=count > 0, now=time.time()):
                self.log.info("Revoke watch: %d ended meeting(s) due for their PIN to be revoked: firing", count)
                yield TriggerEvent({"due": count, "refire": gate.refires})
            await asyncio.sleep(self.poll_seconds)
