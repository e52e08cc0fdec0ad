"""Recurring meetings: every provisionable occurrence of a series shares one room, one PIN.

A row with a ``series_id`` (the optional column; NULL or no column: a one-off meeting) is an
occurrence of that series. Its room is the series' room, named by
:func:`~airflow_provider_daily.rooms.series_room_name_for` (``<prefix>_s-<series>``: a namespace no
meeting room can take), so one PIN and one dial string reach every occurrence. The rules, each once:

* **one task per series**: ``plan`` cuts the due series' keys (``series_id`` as text, in the
  database's order) into ranges of their own chunk kind; a series never spans two chunks, so no
  two tasks of a run write one series room (see :func:`provision_series_chunk`);
* **exp rolls forward**: the room's ``exp`` is the latest end (plus grace) of the occurrences that
  fit Daily's 365 days now; later ones wait (reported as :data:`WAITING_PREFIX`, not as failures,
  never counted as attempts) and a later run adds them, on the same room with the same PIN -
  ``MeetingsTable.due_series`` makes a series due as soon as an occurrence fits. An extension
  is an ``exp`` update only (the hook re-sends ``dialin`` only when a dial-in field differs), and
  the PIN Daily answers with is compared with every occurrence's: a change is written back and
  reported (``pin_changed``: re-send those invitations). ``nbf`` is not used for series rooms;
* **the room's settings** (display name, wait flag) come from the series' next occurrence;
  requested numbers that differ within a series fail every occurrence with that reason (no
  silent choice);
* **moves between series**: an occurrence that gains a ``series_id`` moves to the series room
  (its own room is deleted first, its PIN change reported); one that leaves a series is a one-off
  meeting again and gets its own room (the one-off path: the fingerprint includes ``series_id``);
* **bad input**: a blank ``series_id`` (or one that is not text) fails its own rows with the
  reason; the other series of the chunk still get their rooms. A long one is hashed into the
  room name (like a long meeting id), not refused.

Idempotency: the series room name is the key; a repeat (a lost response, a killed task, an
overlapping run) finds the room and reuses it with its PIN, and the write-back is of values, not
increments (but ``attempts`` of failures, as everywhere).

Cancelled occurrences are ``retire_cancelled``'s: it must keep a room that another row not
cancelled still names (``MeetingsTable.room_names_kept``). A series with a cancelled occurrence
that still holds the room is due, so its exp is recomputed here.

May import: the provider, ``daily_dialin`` (errors, rows, provisioning), the standard library.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_daily.errors import DailyError
from airflow_provider_daily.models import (
    DialinProperties,
    DialinRoomNumber,
    RoomCreate,
    RoomProperties,
    dial_string,
)
from airflow_provider_daily.rooms import latest_allowed_exp
from daily_dialin.errors import BadMeetingRow
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.creating import ChunkInterrupted, ensure_rooms
from daily_dialin.provisioning.handover import LISTED, OUTCOMES, ChunkResult, Counts, Listed, RunPlan
from daily_dialin.provisioning.meetings import Meeting, id_text, room_exp_for, room_name_for, series_room_name_for
from daily_dialin.provisioning.table import Failure, MeetingsTable, Provisioned
from daily_dialin.rows import MeetingRow, StatusKind

__all__ = ["SERIES_CHUNK", "WAITING_PREFIX", "cap_ends_by", "provision_series_chunk", "row_key"]

log = logging.getLogger(__name__)

SERIES_CHUNK = "series"  # the third element of a series chunk's bounds: [first_key, last_key, "series"]
WAITING_PREFIX = "waiting for the 365-day window: "


def cap_ends_by(now: datetime, config: ProvisioningConfig) -> datetime:
    """The latest end an occurrence may have to fit a room created now (its end plus grace
    within Daily's 365 days, :func:`~airflow_provider_daily.rooms.latest_allowed_exp`)."""
    latest = latest_allowed_exp(now.timestamp()) - 60 * config.exp_grace_minutes
    return datetime.fromtimestamp(latest, tz=now.tzinfo)


def row_key(row: MeetingRow) -> str:
    """The series key of a row as the table's SQL makes it (``CAST(series_id AS TEXT)``), also for
    values that name no valid series (so a chunk finds their group among the due keys)."""
    raw = row.get("series_id")
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return id_text(raw)


@dataclass
class Occurrence:
    """One occurrence on its way through a series chunk."""

    row: MeetingRow
    meeting: Meeting | None = None
    provisioned: Provisioned | None = None
    unchanged: bool = False  # holds the room as it is: only its room_exp may change (exp_updates)
    failure: Failure | None = None
    outcome: str | None = None
    waiting: bool = False
    pin_changed: bool = False
    held: bool = False  # joins a series, but keeps its own room until the deletion gate allows
    deferred: bool = False  # the series room is live: its exp change waits until it is empty

    @property
    def meeting_id(self) -> str:
        return self.row.meeting_id

    def fail(self, reason: str, *, counts: bool) -> None:
        self.failure = Failure(meeting_id=self.meeting_id, reason=reason, counts=counts)


@dataclass
class Series:
    """One due series: its rows, the occurrences that get the room now, and the room's spec."""

    key: str
    rows: list[MeetingRow]
    live: list[Occurrence] = field(default_factory=list)  # provisionable, not over, to be written
    spec: RoomCreate | None = None


# -- planning one series ---------------------------------------------------------------------------
def plan_series(
    key: str, rows: Sequence[tuple[MeetingRow, bool]], config: ProvisioningConfig, now: datetime, force: bool
) -> Series:
    """Which occurrences get the room now, and the room's spec (``None``: no room this run).
    ``rows``: the series' rows, each with whether the table can select it."""
    series = Series(key=key, rows=[row for row, _ in rows])
    candidates = [Occurrence(row=row) for row, selectable in rows if selectable and _candidate(row, config, force)]
    series.live = candidates
    try:
        series.rows[0].series()
    except ValueError as exc:
        for occurrence in candidates:
            occurrence.fail(str(exc), counts=True)
        return series
    fitting = _parse_and_sort(candidates, config, now)
    if not fitting:
        return series
    numbers = {o.meeting.requested_phone_number for o in candidates if o.meeting is not None}
    if len(numbers) > 1:
        shown = ", ".join(sorted(number or "(the default number)" for number in numbers))
        for occurrence in candidates:
            if occurrence.failure is None or occurrence.waiting:  # every occurrence: a problem of the series
                occurrence.waiting = False
                occurrence.fail(
                    f"series {key!r}: its occurrences request different phone numbers ({shown})", counts=True
                )
        return series
    series.spec = _spec(key, fitting, config, numbers.pop())
    return series


def _candidate(row: MeetingRow, config: ProvisioningConfig, force: bool) -> bool:
    """A provisionable occurrence this run may write: not given up on (unless forced)."""
    if row.status_kind is not StatusKind.PROVISIONABLE:
        return False
    attempts = row.get("attempts") or 0
    return force or row.is_provisioned or not isinstance(attempts, int) or attempts < config.max_attempts


def _parse_and_sort(candidates: list[Occurrence], config: ProvisioningConfig, now: datetime) -> list[Occurrence]:
    """Parse each candidate (a bad row fails alone); drop those over; mark those beyond the cap
    as waiting. Returns the occurrences that fit, earliest first."""
    cap = latest_allowed_exp(now.timestamp())
    fitting = []
    for occurrence in list(candidates):
        try:
            occurrence.meeting = occurrence.row.meeting()
        except BadMeetingRow as exc:
            occurrence.fail(exc.reason, counts=True)
            continue
        exp = room_exp_for(occurrence.meeting.ends_at, config)
        if exp <= now.timestamp():
            candidates.remove(occurrence)  # over: its row stays as it is (but for the room's new exp)
        elif exp > cap:
            occurrence.waiting = True
            day = f"{occurrence.meeting.ends_at:%Y-%m-%d}"
            occurrence.fail(f"{WAITING_PREFIX}ends {day}; a later run adds it to the series room", counts=False)
        else:
            fitting.append(occurrence)
    return sorted(fitting, key=lambda o: (o.meeting.starts_at, o.meeting_id))


def _spec(key: str, fitting: list[Occurrence], config: ProvisioningConfig, number: str | None) -> RoomCreate:
    """The series room: settings of the next occurrence, exp covering the latest one that fits."""
    following = fitting[0].meeting
    exp = max(room_exp_for(o.meeting.ends_at, config) for o in fitting)
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


# -- after Daily answered ------------------------------------------------------------------------------
def record_series(
    series: Series, outcome: Any, error: Exception | None, fallback: str | None, config: ProvisioningConfig
) -> None:
    """Each occurrence's outcome from the series room's (``outcome``: the creator's, or ``None``)."""
    spec = series.spec
    if spec is None:
        return
    room = outcome.room if outcome is not None else None
    fitting = [o for o in series.live if o.failure is None and o.meeting is not None]
    if outcome is not None and outcome.ok and room is not None and room.pin:
        number = room.dialin_number(fallback=fallback)
        dialled = dial_string(number, room.pin)  # one room, one PIN: one dial string for every occurrence
        for occurrence in fitting:
            _written(occurrence, spec, room, (number, dialled), outcome.outcome or "created", config)
        return
    for occurrence in fitting:
        if outcome is not None and outcome.error:
            occurrence.deferred = bool(getattr(outcome, "deferred", None))  # live: not a failure
            occurrence.fail(outcome.error, counts=outcome.counts)
        else:
            reason = (
                f"not provisioned: {type(error).__name__}: {error}" if error else "not provisioned: no room returned"
            )
            occurrence.fail(reason, counts=False)


def _written(
    occurrence: Occurrence,
    spec: RoomCreate,
    room: Any,
    dialled: tuple[str, str],
    outcome: str,
    config: ProvisioningConfig,
) -> None:
    """Record one occurrence on the series room; ``dialled`` is the room's (number, dial string)."""
    row, exp = occurrence.row, int(spec.properties.exp or 0)
    number, dial = dialled
    provisioned = Provisioned(
        meeting_id=occurrence.meeting_id,
        room_name=spec.name,
        room_url=room.url,
        pin=room.pin,
        number=number,
        dial_string=dial,
        room_exp=exp,
        fingerprint=row.fingerprint(config),
    )
    unchanged = (  # the cheap comparisons first: a row new to the room stops at the first
        row.get("room_name") == spec.name
        and row.pin == room.pin
        and row.get("room_url") == room.url
        and row.get("dial_string") == dial
        and not row.needs_room(config)
    )
    if unchanged:
        occurrence.unchanged = True
        return
    occurrence.pin_changed = _pin_changed(row, room.pin)
    occurrence.provisioned = provisioned
    occurrence.outcome = outcome


def _pin_changed(row: MeetingRow, pin: str) -> bool:
    """Whether the occurrence's invitation must be re-sent (the rule of the one-off path): it held
    another PIN, or it held a room that was deleted (cancelled, or its own room left on joining
    the series: ``room_name`` kept, PIN and ``provisioned_at`` cleared) and is in a room again."""
    if row.pin is not None:
        return row.pin != pin
    return bool(row.get("room_name")) and not row.is_provisioned


def exp_updates(series: Series) -> list[tuple[str, str, int]]:
    """``(meeting_id, room, exp)`` for every other row holding the series room (over, cancelled,
    unchanged): each row's ``room_exp`` stays the room's."""
    spec = series.spec
    if spec is None or not any(o.provisioned or o.unchanged for o in series.live):
        return []
    written = {o.meeting_id for o in series.live if o.provisioned}
    exp = int(spec.properties.exp or 0)
    return [
        (row.meeting_id, spec.name, exp)
        for row in series.rows
        if row.meeting_id not in written and row.get("room_name") == spec.name and row.get("room_exp") != exp
    ]


def own_rooms_to_delete(series: Series, config: ProvisioningConfig) -> dict[str, Occurrence]:
    """Rooms of their own that occurrences joining the series leave (room name -> occurrence):
    only rooms the row believes live (a row cleared after its room was deleted - by the approval
    DAG - just joins). Another series' room is not deleted: that series may still use it."""
    leaving = {}
    for occurrence in series.live:
        old = occurrence.row.get("room_name")
        joined = occurrence.provisioned is not None and old and old != occurrence.provisioned.room_name
        own = joined and old == room_name_for(occurrence.meeting_id, config.room_name_prefix)
        if own and occurrence.row.is_provisioned:
            leaving[str(old)] = occurrence
    return leaving


@dataclass(frozen=True)
class JoinGate:
    """Which own rooms this chunk may delete: the gate's judged plan for the run (its ``joined``
    rooms when its verdict is ``auto``), ``{}`` (none: every join waits) or ``None`` (no plan was
    handed over - a direct call -: the chunk's joins are judged alone by the per-run limit)."""

    deletions: dict[str, Any] | None

    def allowed(self, leaving: Sequence[str], config: ProvisioningConfig, live: Any) -> tuple[set[str], str]:
        from daily_dialin.provisioning.deletions import Candidate, DeletionPlan

        if self.deletions is None:
            rooms = [Candidate(room_name=name, joined=True) for name in leaving]
            plan = DeletionPlan.build(reason="cancelled", rooms=rooms, live=live(), config=config)
        elif not self.deletions:
            return set(), "the deletion gate's plan for this run is missing"
        else:
            plan = DeletionPlan.from_xcom(self.deletions)
        if plan.verdict != "auto":
            return set(), plan.why_held or f"over the deletion limit ({plan.limit}): it waits for a person's approval"
        return {room.room_name for room in plan.rooms if room.joined or self.deletions is None}, ""


def delete_own_rooms(
    series: Sequence[Series], config: ProvisioningConfig, gate: JoinGate, live: Any = lambda: 0
) -> None:
    """Delete the own rooms of occurrences that joined a series - those the gate allows, through the
    provider's bulk deleter - before their rows name the series room: a run killed in between finds
    the row unchanged (and due) and does it again (404 = done). An occurrence whose room the gate
    holds keeps its row and room as they are and is told why (``held``: not a failure, not an
    attempt); a room Daily refuses to delete likewise (reported, not an attempt). An outage raises
    :class:`~airflow_provider_daily.errors.DailyBulkDeleteError` (the caller undoes the joins)."""
    leaving = {name: (one, o) for one in series for name, o in own_rooms_to_delete(one, config).items()}
    if not leaving:
        return
    allowed, why = gate.allowed(sorted(leaving), config, live)
    for name in sorted(set(leaving) - allowed):
        one, occurrence = leaving[name]
        _keep_own_room(occurrence, f"joins series {one.key!r}, but keeps its own room {name} for now: {why}")
        occurrence.held = True
    names = sorted(set(leaving) & allowed)
    if not names:
        return
    from airflow_provider_daily.bulk import BulkRoomDeleter
    from airflow_provider_daily.hooks.daily import DailyHook

    hook = DailyHook(daily_conn_id=config.daily_conn_id, deadline_seconds=config.chunk_deadline_seconds)
    results = BulkRoomDeleter(hook=hook, batch_size=config.batch_size).delete(names)
    deferred = getattr(results, "deferred", {})  # live (people in it) or presence unknown: not a failure
    for name in names:
        one, occurrence = leaving[name]
        if results.get(name, "not deleted") is None:
            log.info("Meeting %s joined series %r: its own room %s is deleted", occurrence.meeting_id, one.key, name)
        else:
            reason = f"joins series {one.key!r}, but its own room {name} could not be deleted: {results.get(name)}"
            _keep_own_room(occurrence, reason)
            occurrence.held = name in deferred


def _keep_own_room(occurrence: Occurrence, reason: str) -> None:
    occurrence.provisioned, occurrence.outcome, occurrence.pin_changed = None, None, False
    occurrence.fail(reason, counts=False)


def series_result(index: int, series: Sequence[Series]) -> ChunkResult:
    occurrences = [o for one in series for o in one.live]
    outcomes = Counter(o.outcome for o in occurrences if o.outcome)
    failures = [o.failure for o in occurrences if o.failure and not o.waiting and not o.held and not o.deferred]
    counts = Counts(**{k: outcomes.get(k, 0) for k in OUTCOMES if k != "failed"}, failed=len(failures))
    return ChunkResult(
        index=index,
        counts=counts,
        failures={f.meeting_id: f.reason for f in failures[:LISTED]},
        pin_changed=Listed.of([o.meeting_id for o in occurrences if o.pin_changed]),
        waiting=Listed.of([o.meeting_id for o in occurrences if o.waiting]),
        deferred=Listed.of([o.meeting_id for o in occurrences if o.deferred]),
    )


# -- the chunk ------------------------------------------------------------------------------------
def load_series(table: MeetingsTable, planned: RunPlan, bounds: Sequence[str], now: datetime) -> list[Series]:
    """The due series of the chunk's key range (due re-checked now), each planned."""
    config, selection = planned.config, planned.selection
    first, last = bounds[0], bounds[1]
    due = table.due_series_keys(selection, now=now, cap_ends_by=cap_ends_by(now, config), key_range=(first, last))
    groups: dict[str, list[tuple[MeetingRow, bool]]] = {}
    for row, selectable in table.fetch_series(first, last):
        groups.setdefault(row_key(row), []).append((row, selectable))
    return [plan_series(key, rows, config, now, selection.force) for key, rows in groups.items() if key in due]


def provision_series_chunk(
    *, index: int, bounds: Sequence[str], run: dict[str, Any], now: datetime, deletions: dict[str, Any] | None = None
) -> ChunkResult:
    """Provision the due series whose keys are in ``bounds`` (``[first, last, "series"]``): one
    room per series (batched), every occurrence written back in one transaction. Returns the
    :class:`ChunkResult`; an error that ended the calls early is raised after the write-back,
    by the caller (``steps.provision_chunk``), through :class:`ChunkInterrupted`."""
    planned = RunPlan.from_xcom(run)
    config = planned.config
    table = MeetingsTable.from_config(config)
    series = load_series(table, planned, bounds, now)
    error, calls = _ensure(index, series, config, JoinGate(deletions=deletions), table.live_room_count)
    occurrences = [o for one in series for o in one.live]
    table.write_results(
        provisioned=[o.provisioned for o in occurrences if o.provisioned],
        failed=[o.failure for o in occurrences if o.failure],
        now=now,
    )
    table.write_room_exp([update for one in series for update in exp_updates(one)])
    result = series_result(index, series)
    log.info(
        "Series chunk %d: %d series, %d occurrence(s): %s, waiting for the 365-day window=%d (API calls: %s)",
        index,
        len(series),
        len(occurrences),
        ", ".join(f"{k}={getattr(result.counts, k)}" for k in OUTCOMES),
        result.waiting.count,
        calls,
    )
    return _Done(result=result, error=error).raise_or_return()


@dataclass(frozen=True)
class _Done:
    result: ChunkResult
    error: Exception | None

    def raise_or_return(self) -> ChunkResult:
        if self.error is not None:
            raise ChunkInterrupted(result=self.result, cause=self.error) from self.error
        return self.result


def _ensure(
    index: int, series: list[Series], config: ProvisioningConfig, gate: JoinGate, live: Any
) -> tuple[Exception | None, dict[str, int]]:
    """Ensure every series room (one spec per series, batched), then record the occurrences."""
    specs = [one.spec for one in series if one.spec is not None]
    if not specs:
        return None, {}
    ensured = ensure_rooms(specs=specs, config=config, label=f"Series chunk {index}")
    error = ensured.error
    for one in series:
        if one.spec is not None:
            record_series(one, ensured.outcomes.get(one.spec.name), error, ensured.fallback, config)
    if error is None:
        try:
            delete_own_rooms(series, config, gate, live)
        except DailyError as exc:  # an outage: the joining rows stay as they were, for the next run
            error = exc
            _undo_joins(series, config, exc)
    return error, ensured.calls


def _undo_joins(series: list[Series], config: ProvisioningConfig, exc: Exception) -> None:
    for one in series:
        for occurrence in own_rooms_to_delete(one, config).values():
            occurrence.provisioned, occurrence.outcome, occurrence.pin_changed = None, None, False
            occurrence.fail(f"not provisioned: {type(exc).__name__}: {exc}", counts=False)
