"""The PIN dies with the meeting: delete an ended one-off meeting's room (task ``revoke_ended`` of the
calls DAG), so a leaked PIN stops opening an empty bridge until the room's ``exp``.

A meeting's room is **due** when all of these hold:

* its row is a one-off meeting (no ``series_id``) with a provisionable status, a room and a PIN
  (``dialin_pin`` set: a revoked row has none, so nothing is done twice);
* Daily reported ``meeting.ended`` for the room (a stored event; its ``end_ts``, else ``event_ts``);
* ``max(latest meeting.ended, ends_at) + revoke_after_minutes <= now``: the meeting ended *and* its
  scheduled end passed (a meeting that emptied early may resume within its slot), then the grace;
* no other row still needs the room: a series occurrence naming it, or any row naming it that is not
  over (``ends_at > now``). A series room is therefore never revoked; its ``exp`` ends it after the
  last occurrence.

Rows whose end is older than ``revoke_after_minutes + exp_grace_minutes + 1 day`` are not looked at
(their room has expired by then), nor meetings longer than 35 days (:data:`LONGEST_MEETING`: the
bound on ``starts_at`` lets its index narrow the scan), so the work per run - and per poll of the
revoke watcher - stays bounded.

Due rooms are deleted through :class:`~airflow_provider_daily.bulk.BulkRoomDeleter` (presence first:
a room someone is in - or whose presence is unknown - is **deferred**, never deleted; the next run
tries again). The approval gate does not apply: these deletions are due by design, one per ended
meeting. A room already gone (404) counts as deleted. Write-back per row:

* deleted: ``dialin_pin``, ``room_url``, ``dial_string`` and ``room_exp`` cleared, ``last_error`` =
  :data:`REVOKED` (``room_name``, ``provisioned_at`` and ``room_fingerprint`` stay: the row is still
  provisioned, so no "missed" alert; an ended meeting is outside every run's selection - each mode
  selects ``ends_at > now`` - so provisioning never re-creates the room; a meeting moved into the
  future changes its fingerprint and gets a new room, as any moved meeting does);
* deferred / refused: ``last_error`` = ``revoke deferred: live (...)`` / ``revoke failed: ...``;
  the PIN stays and the next run tries again.

An outage that outlasts the hook's retries writes back what was settled and re-raises (Airflow
retries the task). Only room names, meeting ids and counts are logged or handed over: never a PIN
or a caller number.

May import: SQLAlchemy, pydantic, the provider (bulk, hooks, errors, presence) and
``daily_dialin.calls`` / ``daily_dialin.provisioning`` (config, handover, table).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from airflow_provider_daily.presence import DEFERRED
from daily_dialin.calls.fold import when
from daily_dialin.calls.process import calls_tables
from daily_dialin.calls.store import CallsStore
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.handover import LISTED, Handover
from daily_dialin.provisioning.table import MeetingsTable

log = logging.getLogger(__name__)

__all__ = ["REVOKED", "Due", "RevokeResult", "due_revokes", "revoke_ended", "revoke_window"]

REVOKED = "revoked: the meeting ended"
FAILED_PREFIX = "revoke failed: "
LOOKBACK_MARGIN = timedelta(days=1)
LONGEST_MEETING = timedelta(days=35)  # a meeting longer than this (start to end) is never revoked
_IN_LIMIT = 500


@dataclass(frozen=True)
class Due:
    """A one-off meeting whose room is due for deletion."""

    meeting_id: str
    room: str
    ended_at: datetime
    due_at: datetime


class RevokeResult(Handover):
    """What ``revoke_ended`` did (XCom): counts, and the first :data:`LISTED` meetings / rooms."""

    off: bool = False
    due: int = Field(default=0, ge=0)
    revoked: int = Field(default=0, ge=0, description="meetings whose room was deleted (or was gone already)")
    deferred: int = Field(default=0, ge=0, description="rooms kept for now: people in them, or presence unknown")
    failed: int = Field(default=0, ge=0, description="rooms Daily refused to delete")
    kept_shared: int = Field(default=0, ge=0, description="rooms kept: another row (a series occurrence) needs them")
    meetings: dict[str, str] = Field(default_factory=dict, description="meeting id -> 'revoked: the meeting ended'")
    rooms: dict[str, str] = Field(default_factory=dict, description="room -> why it was not deleted")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return when(value)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _IN_LIMIT):
        yield items[start : start + _IN_LIMIT]


def revoke_window(config: ProvisioningConfig, now: datetime) -> tuple[datetime, datetime] | None:
    """``(oldest end looked at, latest end that can be due)`` at ``now``; None when revoking is off."""
    if not config.revoke_after_minutes:
        return None
    grace = timedelta(minutes=config.revoke_after_minutes)
    return now - grace - timedelta(minutes=config.exp_grace_minutes) - LOOKBACK_MARGIN, now - grace


def _candidates(table: MeetingsTable, window: tuple[datetime, datetime]) -> list[tuple[str, str, datetime]]:
    """``(meeting_id, room, ends_at)`` of one-off provisionable rows holding a PIN, ended in ``window``."""
    c = table.c
    query = sa.select(c.meeting_id, c.room_name, c.ends_at).where(
        *table._selectable(),  # provisionable, a usable id, readable times (the table's one rule)
        *table._one_off(),
        c.room_name.is_not(None),
        c.dialin_pin.is_not(None),
        c.ends_at > table.ts(window[0]),
        c.ends_at <= table.ts(window[1]),
        # the same bound on starts_at, so its index narrows the scan (the watcher polls this)
        c.starts_at > table.ts(window[0] - LONGEST_MEETING),
        c.starts_at <= table.ts(window[1]),
    )
    with table.engine.connect() as conn:
        rows = conn.execute(query.order_by(c.meeting_id)).all()
    return [(str(mid), str(room), ends) for mid, room, raw in rows if (ends := _aware(raw)) is not None]


def meeting_ends(store: CallsStore, rooms: Iterable[str]) -> dict[str, datetime]:
    """The latest ``meeting.ended`` of each of ``rooms`` (``end_ts``, else the envelope's ``event_ts``)."""
    e, ends = store.events.c, {}
    with store.engine.connect() as conn:
        for part in _chunks(sorted(set(rooms))):
            query = sa.select(e.room, e.payload, e.event_ts).where(
                e.event_type == "meeting.ended", e.room.in_(list(part))
            )
            for room, body, event_ts in conn.execute(query):
                end = when(json.loads(body).get("end_ts")) or when(event_ts)
                if end is not None and (room not in ends or end > ends[room]):
                    ends[room] = end
    return ends


def _needed_elsewhere(table: MeetingsTable, rooms: Iterable[str], now: datetime) -> set[str]:
    """Which of ``rooms`` some row still needs: a series occurrence, or a meeting not over."""
    c, needed = table.c, set()
    series = [c.series_id.is_not(None)] if table.has_series else []
    with table.engine.connect() as conn:
        for part in _chunks(sorted(set(rooms))):
            query = sa.select(c.room_name).where(
                c.room_name.in_(list(part)), sa.or_(c.ends_at > table.ts(now), *series)
            )
            needed.update(str(room) for (room,) in conn.execute(query.distinct()))
    return needed


def due_revokes(
    table: MeetingsTable, store: CallsStore, config: ProvisioningConfig, now: datetime
) -> tuple[list[Due], set[str]]:
    """The meetings whose room is due at ``now``, and the due rooms kept because another row needs them."""
    window = revoke_window(config, now)
    if window is None:
        return [], set()
    candidates = _candidates(table, window)
    ends = meeting_ends(store, {room for _, room, _ in candidates})
    grace = timedelta(minutes=config.revoke_after_minutes or 0)
    due = []
    for meeting_id, room, ends_at in candidates:
        ended = ends.get(room)
        if ended is not None and max(ended, ends_at) + grace <= now:
            due.append(Due(meeting_id=meeting_id, room=room, ended_at=ended, due_at=max(ended, ends_at) + grace))
    kept = _needed_elsewhere(table, {d.room for d in due}, now)
    return [d for d in due if d.room not in kept], kept


def _delete(config: ProvisioningConfig, rooms: list[str]) -> tuple[Mapping[str, str | None], dict[str, str], Any]:
    """Delete ``rooms`` (presence first); ``(results, deferred, error)``: an outage is returned, not raised."""
    from airflow_provider_daily.bulk import BulkRoomDeleter
    from airflow_provider_daily.errors import DailyBulkDeleteError
    from daily_dialin.hook import daily_hook

    hook = daily_hook(config, live_rooms=False)  # presence is checked by the deleter itself
    try:
        results = BulkRoomDeleter(hook=hook, batch_size=config.batch_size).delete(rooms)
    except DailyBulkDeleteError as exc:  # keep what was settled, then fail the task (Airflow retries)
        return exc.results, dict(getattr(exc.results, "deferred", {})), exc
    return results, dict(results.deferred), None


def _write_back(table: MeetingsTable, due: Sequence[Due], results: Mapping[str, str | None]) -> None:
    """Revoked rows lose their PIN and say so; the others say why their room stays."""
    c = table.c
    holding = [table.c.meeting_id == sa.bindparam("k_id"), c.room_name == sa.bindparam("k_room")]
    revoke = (
        sa.update(table.meetings)
        .where(*holding)
        .values(dialin_pin=None, room_url=None, dial_string=None, room_exp=None, last_error=REVOKED)
    )
    note = sa.update(table.meetings).where(*holding, c.dialin_pin.is_not(None)).values(last_error=sa.bindparam("k_why"))
    done, notes = [], []
    for d in due:
        if d.room not in results:
            continue  # not settled (the deleter stopped first): left as it is for the next run
        reason = results[d.room]
        if reason is None:
            done.append({"k_id": d.meeting_id, "k_room": d.room})
        else:
            why = f"revoke {reason}" if reason.startswith(DEFERRED) else f"{FAILED_PREFIX}{reason}"
            notes.append({"k_id": d.meeting_id, "k_room": d.room, "k_why": why[:2000]})
    with table.engine.begin() as conn:
        if done:
            conn.execute(revoke, done)
        if notes:
            conn.execute(note, notes)


def _result(
    due: Sequence[Due], results: Mapping[str, str | None], deferred: dict[str, str], kept: set[str]
) -> RevokeResult:
    revoked = [d.meeting_id for d in due if d.room in results and results[d.room] is None]
    held = {room: reason for room, reason in results.items() if reason is not None}
    return RevokeResult(
        due=len(due),
        revoked=len(revoked),
        deferred=len(deferred),
        failed=len(held) - len(deferred),
        kept_shared=len(kept),
        meetings={mid: REVOKED for mid in revoked[:LISTED]},
        rooms=dict(list(held.items())[:LISTED]),
    )


def _log(result: RevokeResult) -> None:
    if result.revoked:
        log.info("Revoked %d ended meeting(s) (%s): their rooms are deleted, PINs refused", result.revoked, REVOKED)
    if result.deferred:
        log.info("%d ended meeting room(s) kept for now (people in them, or presence unknown)", result.deferred)
    if result.failed:
        log.error(
            "Daily refused to delete %d ended meeting room(s): %s",
            result.failed,
            "; ".join(f"{r}: {why}" for r, why in result.rooms.items() if not why.startswith(DEFERRED)),
        )
    if not (result.due or result.kept_shared):
        log.info("No ended meeting is due for its PIN to be revoked")


def revoke_ended(
    *,
    config_overrides: dict[str, Any] | None = None,
    settings_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The task: delete the rooms of ended one-off meetings that are due (see the module); the summary."""
    opened = calls_tables(config_overrides, settings_overrides)
    config, table, store = opened.config, opened.table, opened.store
    if not config.revoke_after_minutes:
        log.info("revoke_after_minutes is off: PINs live until their room's exp")
        return RevokeResult(off=True).to_xcom()
    now = now or _utcnow()
    due, kept = due_revokes(table, store, config, now)
    if not due:
        result = RevokeResult(kept_shared=len(kept))
        _log(result)
        return result.to_xcom()
    results, deferred, error = _delete(config, sorted({d.room for d in due}))
    _write_back(table, due, results)
    result = _result(due, results, deferred, kept)
    _log(result)
    if error is not None:
        raise error
    return result.to_xcom()
