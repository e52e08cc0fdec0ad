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
:mod:`daily_dialin.calls.trigger` (light: the shared :class:`PollingWatcher`); the rest inside the poll.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from daily_dialin.calls.trigger import PollingWatcher

__all__ = ["RevokeDueTrigger"]

CLASSPATH = "daily_dialin.calls.revoke_trigger.RevokeDueTrigger"


class RevokeDueTrigger(PollingWatcher):
    """Fire when an ended one-off meeting's room is due for deletion."""

    CLASSPATH = CLASSPATH
    LABEL = "Revoke watch"

    def __init__(self, *, poll_seconds: float = 15.0, refire_seconds: float = 60.0, **kwargs: Any) -> None:
        super().__init__(poll_seconds=poll_seconds, refire_seconds=refire_seconds, **kwargs)
        self._now: datetime | None = None  # a test's "now" for one poll

    def poll(self, now: datetime | None = None) -> tuple[int, str]:
        """``(due meetings, digest of their ids)``. Blocking: reads the Variables and the tables."""
        self._now = now
        try:
            count, token, _ = self._polled()
        finally:
            self._now = None
        return count, token

    def check(self, config: Any, table: Any, store: Any) -> tuple[int, str, dict[str, Any]]:
        from daily_dialin.calls.revoke import due_revokes

        if not config.revoke_after_minutes:
            return 0, "", {"due": 0}
        due, _ = due_revokes(table, store, config, self._now or datetime.now(UTC))
        digest = hashlib.blake2b("\x1f".join(sorted(d.meeting_id for d in due)).encode(), digest_size=16)
        return len(due), digest.hexdigest(), {"due": len(due)}
