"""The calls loop without webhooks: read the ended meetings of this deployment's rooms from Daily's
``GET /meetings`` analytics and store them as the events the fold already reads
(:func:`read_meetings`), so :mod:`daily_dialin.calls.fold` stays the one home of the figures.

For deployments whose Airflow cannot be reached from the internet (``calls_source:
"meetings_api"`` in the Variable ``daily_calls``). Each ended meeting session of a room under the
prefix becomes, in the events table:

* one ``meeting.ended`` ``{start_ts, end_ts, meeting_id, room}`` -> ``actual_end_at`` (and the
  revoke step's "the meeting ended");
* per attendance (``GET /meetings/:id/participants``, paged until its 404 [doc]) one
  ``participant.joined`` and one ``participant.left`` ``{joined_at, duration, session_id, room}`` ->
  ``participants`` and ``participant_minutes``.

**What it cannot give** (and never guesses): ``phone_callers``, ``phone_minutes``,
``first_dialin_at``, ``last_dialin_error`` and the calls table - ``/meetings`` has no phone flag
[doc] and no dial-in errors, so no ``dialin.*`` event is ever made up here. Daily's analytics have
~15 s granularity and do not record joins under 10 s [doc]: short attendances are missing.

Event ids are derived from Daily's ids (``meetings-api:<meeting id>:ended``, ...), so a meeting read
twice is stored once (the events table's unique id). **Watermark**, kept in the events table: the
newest ``end_ts`` of the ``meeting.ended`` events stored from here; a read lists meetings that
started from ``lookback`` hours before it (``meetings_api_lookback_hours``; first read: before now),
skips ongoing meetings (read once ended) and meetings already stored. User names are not stored (a
phone caller's name may be their number).

May import: SQLAlchemy, the provider's hook, ``daily_dialin.calls`` and ``daily_dialin.provisioning``
(config, table).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from airflow_provider_daily.models import MeetingParticipant, MeetingSession
from daily_dialin.calls.events import WebhookEvent, is_our_room, sanitized_payload
from daily_dialin.calls.settings import CallsSettings
from daily_dialin.calls.store import CallsStore

log = logging.getLogger(__name__)

__all__ = ["CANNOT_FILL", "CAN_FILL", "ID_PREFIX", "meeting_events", "read_meetings", "watermark"]

ID_PREFIX = "meetings-api:"
SOURCE = "meetings_api"
CAN_FILL = ("actual_end_at", "participants", "participant_minutes")
CANNOT_FILL = ("phone_callers", "phone_minutes", "first_dialin_at", "last_dialin_error")


def watermark(store: CallsStore) -> float | None:
    """The newest meeting end stored from ``/meetings`` (unix seconds), None before the first read."""
    e = store.events.c
    query = sa.select(sa.func.max(e.event_ts)).where(
        e.event_type == "meeting.ended", e.event_id.like(f"{ID_PREFIX}%", escape="\\")
    )
    with store.engine.connect() as conn:
        top = conn.execute(query).scalar()
    return None if top is None else float(top)


def _ended_ids(store: CallsStore, meetings: list[MeetingSession]) -> set[str]:
    ids = [f"{ID_PREFIX}{m.id}:ended" for m in meetings]
    e, found = store.events.c, set()
    with store.engine.connect() as conn:
        for start in range(0, len(ids), 500):
            query = sa.select(e.event_id).where(e.event_id.in_(ids[start : start + 500]))
            found.update(str(row[0]) for row in conn.execute(query))
    return found


def _event(event_id: str, kind: str, at: float, payload: dict[str, Any]) -> WebhookEvent:
    return WebhookEvent(id=event_id, type=kind, version="meetings-api", event_ts=at, payload=sanitized_payload(payload))


def meeting_events(meeting: MeetingSession, participants: Iterable[MeetingParticipant]) -> list[WebhookEvent]:
    """The events an ended ``meeting`` stands for (see the module docstring); never a ``dialin.*`` one."""
    start = float(meeting.start_time or 0)
    end = start + float(meeting.duration or 0)
    base = {"room": meeting.room, "meeting_id": meeting.id, "source": SOURCE}
    ended = {**base, "start_ts": start, "end_ts": end}
    events = [_event(f"{ID_PREFIX}{meeting.id}:ended", "meeting.ended", end, ended)]
    for n, person in enumerate(participants):
        session = person.participant_id or f"{meeting.id}#{n}"
        joined = float(person.join_time if person.join_time is not None else start)
        duration = float(person.duration or 0)
        payload = {**base, "session_id": session, "joined_at": joined}
        events.append(_event(f"{ID_PREFIX}{meeting.id}:{session}:joined", "participant.joined", joined, payload))
        left = {**payload, "duration": duration}
        events.append(_event(f"{ID_PREFIX}{meeting.id}:{session}:left", "participant.left", joined + duration, left))
    return events


def _ended_meetings(hook: Any, prefix: str, since: int) -> Iterator[MeetingSession]:
    for meeting in hook.iter_meetings(timeframe_start=since, no_participants=True):
        if meeting.ongoing is False and is_our_room(meeting.room, prefix):
            yield meeting


def read_meetings(
    *, hook: Any, store: CallsStore, prefix: str, settings: CallsSettings, now: datetime | None = None
) -> dict[str, Any]:
    """Store the ended meetings of rooms under ``prefix`` not stored yet; a summary (counts only)."""
    store.ensure_schema()
    mark = watermark(store)
    reference = mark if mark is not None else (now or datetime.now(UTC)).timestamp()
    since = int(reference - settings.meetings_api_lookback_hours * 3600)
    meetings = list(_ended_meetings(hook, prefix, since))
    known = _ended_ids(store, meetings)
    fresh = [m for m in meetings if f"{ID_PREFIX}{m.id}:ended" not in known]
    stored = attendances = 0
    received = datetime.now(UTC)
    started = time.monotonic()
    for meeting in sorted(fresh, key=lambda m: (m.start_time or 0, m.id)):
        events = meeting_events(meeting, hook.iter_meeting_participants(meeting.id))
        attendances += (len(events) - 1) // 2
        # the ended event last: it is the "read" mark, so a read that dies half-way redoes this meeting
        for event in events[1:] + events[:1]:
            stored += store.insert_event(event, received_at=received)
    summary = {
        "source": SOURCE,
        "since": since,
        "listed": len(meetings),
        "meetings": len(fresh),
        "attendances": attendances,
        "events_stored": stored,
        "seconds": round(time.monotonic() - started, 3),
        "cannot_fill": list(CANNOT_FILL),
    }
    log.info(
        "GET /meetings since %s: %d ended meeting(s) of ours listed, %d new, %d attendance(s), %d event(s) stored",
        since,
        summary["listed"],
        summary["meetings"],
        attendances,
        stored,
    )
    return summary


def read_meetings_api(
    *,
    config_overrides: dict[str, Any] | None = None,
    settings_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The calls DAG's step: with ``calls_source: "meetings_api"`` read ``/meetings`` (above);
    with ``"webhooks"`` nothing (no API call)."""
    from daily_dialin.hook import daily_hook
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    settings = CallsSettings.load(settings_overrides)
    if settings.calls_source != SOURCE:
        return {"source": settings.calls_source, "skipped": "calls come from webhooks"}
    config = ProvisioningConfig.load(config_overrides)
    store = CallsStore(engine=MeetingsTable.from_config(config).engine, settings=settings)
    hook = daily_hook(config, deadline=False, live_rooms=False)
    return read_meetings(hook=hook, store=store, prefix=config.room_name_prefix, settings=settings, now=now)
