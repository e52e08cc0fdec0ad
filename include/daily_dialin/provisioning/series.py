"""Recurring meetings: every provisionable occurrence of a series shares one room, one PIN.

A row with a ``series_id`` (the optional column; NULL or no column: a one-off meeting) is an
occurrence of that series. A series is a :class:`~.groups.RoomGroup` of n rows going through the
one pipeline of :mod:`.groups`; this module is its :class:`SeriesPolicy` - what differs from a
one-off meeting. Its room is the series' room, named by
:func:`~airflow_provider_daily.rooms.series_room_name_for` (``<prefix>_s-<series>``: a namespace no
meeting room can take), so one PIN and one dial string reach every occurrence. The rules, each once:

* **one task per series**: ``plan`` cuts the due series' keys (``series_id`` as text, in the
  database's order) into chunks of their own kind (:class:`~.chunk.ChunkBounds`, kind
  ``series``); a series never spans two chunks, so no two tasks of a run write one series room;
* **exp rolls forward**: the room's ``exp`` is the latest end (plus grace) of the occurrences that
  fit Daily's 365 days now; later ones wait (reported as :data:`WAITING_PREFIX`, not as failures,
  never counted as attempts) and a later run adds them, on the same room with the same PIN -
  ``MeetingsTable.due_series`` makes a series due as soon as an occurrence fits. An extension
  is an ``exp`` update only (the hook re-sends ``dialin`` only when a dial-in field differs), and
  the PIN Daily answers with is compared with every occurrence's (the one ``pin_changed`` rule of
  :mod:`.recording`): a change is written back and reported. ``nbf`` is not used for series rooms;
* **the room's settings** (display name, wait flag) come from the series' next occurrence;
  requested numbers that differ within a series fail every occurrence with that reason (no
  silent choice);
* **an occurrence that holds the room as it is** is left alone (only its ``room_exp`` follows the
  room's: :meth:`SeriesPolicy.exp_updates`);
* **moves between series**: an occurrence that gains a ``series_id`` moves to the series room
  (its own room is deleted first, through the deletion gate: :func:`delete_own_rooms`, its PIN
  change reported); one that leaves a series is a one-off meeting again and gets its own room
  (the one-off path: the fingerprint includes ``series_id``);
* **bad input**: a blank ``series_id`` (or one that is not text) fails its own rows with the
  reason; the other series of the chunk still get their rooms. A long one is hashed into the
  room name (like a long meeting id), not refused.

Idempotency: the series room name is the key; a repeat (a lost response, a killed task, an
overlapping run) finds the room and reuses it with its PIN, and the write-back is of values, not
increments (but ``attempts`` of failures, as everywhere).

Cancelled occurrences are ``retire_cancelled``'s: it must keep a room that another row not
cancelled still names (``MeetingsTable.room_names_kept``). A series with a cancelled occurrence
that still holds the room is due, so its exp is recomputed here.

May import: the provider, ``daily_dialin`` (errors, hook, rows, provisioning below the steps), the
standard library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_daily.errors import DailyError
from airflow_provider_daily.models import DialinProperties, DialinRoomNumber, RoomCreate, RoomProperties
from airflow_provider_daily.rooms import latest_allowed_exp
from daily_dialin.errors import BadMeetingRow
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.groups import Member, RoomGroup
from daily_dialin.provisioning.meetings import Meeting, room_exp_for, room_name_for, series_room_name_for
from daily_dialin.provisioning.table.due import series_settings_outdated
from daily_dialin.rows import MeetingRow

__all__ = ["SERIES", "WAITING_PREFIX", "JoinGate", "SeriesPolicy", "cap_ends_by", "plan_series", "row_key"]

log = logging.getLogger(__name__)

WAITING_PREFIX = "waiting for the 365-day window: "


def cap_ends_by(now: datetime, config: ProvisioningConfig) -> datetime:
    """The latest end an occurrence may have to fit a room created now (its end plus grace
    within Daily's 365 days, :func:`~airflow_provider_daily.rooms.latest_allowed_exp`)."""
    latest = latest_allowed_exp(now.timestamp()) - 60 * config.exp_grace_minutes
    return datetime.fromtimestamp(latest, tz=now.tzinfo)


def row_key(row: MeetingRow) -> str | None:
    """The row's series key: the one rule, :func:`daily_dialin.rows.series_key` (``None``: a one-off
    or a problem row, which the table's series queries never select)."""
    return row.series_key


def series_group(key: str, rows: Sequence[tuple[MeetingRow, bool]]) -> RoomGroup:
    """A series as a group: all its rows, and as members the occurrences this run may write
    (``rows``: each with whether the table's one due rule lets a run write it -
    ``MeetingsTable.fetch_series``: provisionable, readable, not given up on unless forced)."""
    members = [Member(row=row) for row, writable in rows if writable]
    return RoomGroup(key=key, rows=[row for row, _ in rows], members=members, policy=SERIES)


def plan_series(
    key: str, rows: Sequence[tuple[MeetingRow, bool]], config: ProvisioningConfig, now: datetime, force: bool
) -> RoomGroup:
    """A series' group with its room's spec planned (``.spec``; ``None``: no room this run).
    ``force`` is the one the rows were fetched with (``fetch_series``: it decides who may be written)."""
    group = series_group(key, rows)
    group.plan(config, now)
    return group


@dataclass(frozen=True)
class JoinGate:
    """Which own rooms this chunk may delete: the gate's judged plan for the run (its ``joined``
    rooms when its verdict is ``auto``), ``{}`` (none: every join waits) or ``None`` (no plan was
    handed over - a direct call -: the chunk's joins are judged alone by the per-run limit).
    ``live``: the count of live rooms the per-run limit is a share of (asked only then)."""

    deletions: dict[str, Any] | None
    live: Callable[[], int] = lambda: 0

    def allowed(self, leaving: Sequence[str], config: ProvisioningConfig) -> tuple[set[str], str]:
        from daily_dialin.provisioning.deletions import Candidate, DeletionPlan

        if self.deletions is None:
            rooms = [Candidate(room_name=name, joined=True) for name in leaving]
            plan = DeletionPlan.build(reason="cancelled", rooms=rooms, live=self.live(), config=config)
        elif not self.deletions:
            return set(), "the deletion gate's plan for this run is missing"
        else:
            plan = DeletionPlan.from_xcom(self.deletions)
        if plan.verdict != "auto":
            return set(), plan.why_held or f"over the deletion limit ({plan.limit}): it waits for a person's approval"
        return {room.room_name for room in plan.rooms if room.joined or self.deletions is None}, ""


class SeriesPolicy:
    """What a series does differently from a one-off meeting (the module docstring)."""

    kind = "series"
    keeps_unchanged = True

    def plan(self, group: RoomGroup, config: ProvisioningConfig, now: datetime) -> RoomCreate | None:
        """Which occurrences get the room now, and the room's spec (``None``: no room this run)."""
        try:
            group.rows[0].series()
        except ValueError as exc:
            for member in group.members:
                member.fail(str(exc), counts=True)
            return None
        fitting = _parse_and_sort(group, config, now)
        if not fitting:
            return None
        numbers = {m.meeting.requested_phone_number for m in group.members if m.meeting is not None}
        if len(numbers) > 1:
            _fail_numbers(group, numbers)
            return None
        # the occurrence that gave the room its settings is over: the next one's reach the room now,
        # and its row is rewritten (provisioned_at) so the table sees them applied (table.due)
        fitting[0].rewrite = series_settings_outdated(group.rows, now=now, config=config)
        return _spec(group.key, fitting, config, numbers.pop())

    def follow_up(self, groups: Sequence[RoomGroup], config: ProvisioningConfig, context: Any) -> Exception | None:
        """Delete the own rooms members leave to join their series; an outage undoes those joins."""
        try:
            delete_own_rooms(groups, config, context)
        except DailyError as exc:  # an outage: the joining rows stay as they were, for the next run
            for group in groups:
                for member in own_rooms_to_delete(group, config).values():
                    member.undo(f"not provisioned: {type(exc).__name__}: {exc}")
            return exc
        return None

    def exp_updates(self, group: RoomGroup) -> list[tuple[str, str, int]]:
        """``(meeting_id, room, exp)`` for every other row holding the series room (over, cancelled,
        unchanged): each row's ``room_exp`` stays the room's."""
        spec = group.spec
        if spec is None or not any(m.provisioned or m.unchanged for m in group.members):
            return []
        written = {m.meeting_id for m in group.members if m.provisioned}
        exp = int(spec.properties.exp or 0)
        return [(row.meeting_id, spec.name, exp) for row in group.rows if _stale_exp(row, written, spec.name, exp)]


SERIES = SeriesPolicy()


def _stale_exp(row: MeetingRow, written: set[str], room: str, exp: int) -> bool:
    """A row not written this run that holds the room with another ``room_exp``."""
    return row.meeting_id not in written and row.get("room_name") == room and row.get("room_exp") != exp


def _parse_and_sort(group: RoomGroup, config: ProvisioningConfig, now: datetime) -> list[Member]:
    """Parse each member (a bad row fails alone); drop those over; mark those beyond the cap as
    waiting. Returns the members that fit, earliest first."""
    cap = latest_allowed_exp(now.timestamp())
    fitting = []
    for member in list(group.members):
        try:
            member.meeting = meeting = Meeting.from_row(member.row)
        except BadMeetingRow as exc:
            member.fail(exc.reason, counts=True)
            continue
        exp = room_exp_for(meeting.ends_at, config)
        if exp <= now.timestamp():
            group.members.remove(member)  # over: its row stays as it is (but for the room's new exp)
        elif exp > cap:
            member.waiting = True
            member.fail(
                f"{WAITING_PREFIX}ends {meeting.ends_at:%Y-%m-%d}; a later run adds it to the series room", counts=False
            )
        else:
            fitting.append(member)
    return sorted(fitting, key=lambda m: (m.meeting.starts_at, m.meeting_id))


def _fail_numbers(group: RoomGroup, numbers: set[str | None]) -> None:
    shown = ", ".join(sorted(number or "(the default number)" for number in numbers))
    for member in group.members:
        if member.failure is None or member.waiting:  # every occurrence: a problem of the series
            member.waiting = False
            member.fail(f"series {group.key!r}: its occurrences request different phone numbers ({shown})", counts=True)


def _spec(key: str, fitting: list[Member], config: ProvisioningConfig, number: str | None) -> RoomCreate:
    """The series room: settings of the next occurrence, exp covering the latest one that fits."""
    following = fitting[0].meeting
    exp = max(room_exp_for(m.meeting.ends_at, config) for m in fitting)
    return RoomCreate(
        name=series_room_name_for(key, config.room_name_prefix),
        privacy=config.privacy,
        properties=RoomProperties(
            exp=exp,
            eject_at_room_exp=config.eject_at_room_exp,
            dialin=DialinProperties(
                display_name=following.display_name,
                wait_for_meeting_start=following.wait_for_meeting_start,
                room_numbers=[DialinRoomNumber(phone_number=number)] if number else None,
            ),
        ),
    )


# -- joins: a one-off's own room, left for the series room ---------------------------------------------
def own_rooms_to_delete(group: RoomGroup, config: ProvisioningConfig) -> dict[str, Member]:
    """Rooms of their own that members joining the series leave (room name -> member): only rooms
    the row believes live (a row cleared after its room was deleted - by the approval DAG - just
    joins). Another series' room is not deleted: that series may still use it."""
    leaving = {}
    for member in group.members:
        old = member.row.get("room_name")
        joined = member.provisioned is not None and old and old != member.provisioned.room_name
        own = joined and old == room_name_for(member.meeting_id, config.room_name_prefix)
        if own and member.row.is_provisioned:
            leaving[str(old)] = member
    return leaving


def delete_own_rooms(groups: Sequence[RoomGroup], config: ProvisioningConfig, gate: JoinGate) -> None:
    """Delete the own rooms of members that joined a series - those the gate allows, through the
    provider's bulk deleter - before their rows name the series room: a run killed in between finds
    the row unchanged (and due) and does it again (404 = done). A member whose room the gate holds
    keeps its row and room as they are and is told why (``held``: not a failure, not an attempt);
    a room Daily refuses to delete likewise (reported, not an attempt). An outage raises
    :class:`~airflow_provider_daily.errors.DailyBulkDeleteError` (the caller undoes the joins)."""
    leaving = {name: (group, m) for group in groups for name, m in own_rooms_to_delete(group, config).items()}
    if not leaving:
        return
    allowed, why = gate.allowed(sorted(leaving), config)
    for name in sorted(set(leaving) - allowed):
        group, member = leaving[name]
        member.undo(f"joins series {group.key!r}, but keeps its own room {name} for now: {why}")
        member.held = True
    names = sorted(set(leaving) & allowed)
    if names:
        _delete(names, leaving, config)


def _delete(names: list[str], leaving: dict[str, tuple[RoomGroup, Member]], config: ProvisioningConfig) -> None:
    from airflow_provider_daily.bulk import BulkRoomDeleter
    from daily_dialin.hook import daily_hook

    hook = daily_hook(config, live_rooms=False)
    results = BulkRoomDeleter(hook=hook, batch_size=config.batch_size).delete(names)
    deferred = getattr(results, "deferred", {})  # live (people in it) or presence unknown: not a failure
    for name in names:
        group, member = leaving[name]
        if results.get(name, "not deleted") is None:
            log.info("Meeting %s joined series %r: its own room %s is deleted", member.meeting_id, group.key, name)
        else:
            member.undo(
                f"joins series {group.key!r}, but its own room {name} could not be deleted: {results.get(name)}"
            )
            member.held = name in deferred
