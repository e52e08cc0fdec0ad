"""The steps of a provisioning run, as plain functions the DAG's tasks call, top to bottom.

``plan``            resolve the run's window, select the due meetings, report the rows no run can
                    select (bad ids, unreadable times, unknown statuses), the unknown requested
                    ids and the meetings given up on; cut the due ids into chunks, then the due
                    recurring series (:mod:`.series`) into chunks of their own kind: whole
                    series by key range (``[first, last, "series"]``), so one task per run writes
                    a series' room. What goes to XCom is O(1) per chunk: the :class:`RunPlan`
                    once, a list of chunk numbers, and each chunk's range under its own key
                    (``chunk_key``).
``provision_chunk`` per chunk: rows -> one :class:`Item` per meeting (row, spec, outcome) ->
                    batch create/reuse -> write every outcome back in one transaction -> a
                    :class:`ChunkResult` (counts, ids and reasons: PINs stay in the table). A
                    chunk that ends early raises :class:`ChunkInterrupted` with what it did.
``plan_cancelled``  the rooms of meetings cancelled after provisioning, as a deletion plan for
                    the gate on mass deletion (:mod:`.deletions`: over the limit, a person approves).
``retire_cancelled`` delete those rooms (``DELETE /batch/rooms`` through the provider's bulk
                    deleter) when the gate's verdict is ``auto``, and clear their PINs; over the
                    budget they live on and the approval DAG asks (``retire_approved`` there).
``summarize``       add everything up - also when ``plan`` or chunk tasks failed -, name the
                    meetings about to start without a room and those that started without one
                    (after every chunk wrote back), and log it.
``verify``          fail the run if any meeting is left without a room, after all was written.

At the DAG boundary every function takes and returns JSON dicts (``model.to_xcom()``); inside,
the hand-overs are the models of :mod:`.handover`.

May import: the provider (``airflow_provider_daily``), ``daily_dialin`` (errors, rows, reporting,
provisioning), the standard library. The provider's hook and bulk creator are imported where a
step needs them, so ``plan`` and ``summarize`` never load the HTTP client.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_daily.models import RoomCreate, dial_string
from airflow_provider_daily.presence import DEFERRED
from daily_dialin.errors import BadMeetingRow, ProvisioningFailed
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.creating import ChunkInterrupted, ensure_rooms
from daily_dialin.provisioning.handover import (
    LISTED,
    OUTCOMES,
    AlertScope,
    ChunkResult,
    Counts,
    Listed,
    PlanReport,
    Problem,
    RetireResult,
    RunPlan,
    Summary,
)
from daily_dialin.provisioning.meetings import WaitingForDailyWindow, room_name_for
from daily_dialin.provisioning.series import SERIES_CHUNK, cap_ends_by, provision_series_chunk
from daily_dialin.provisioning.table import Failure, MeetingsTable, Provisioned, Seen
from daily_dialin.provisioning.window import RunWindow, Selection, resolve_window
from daily_dialin.reporting import format_table
from daily_dialin.rows import MeetingRow, as_row

__all__ = [
    "LISTED",
    "OUTCOMES",
    "ChunkInterrupted",
    "RetireInterrupted",
    "chunk_key",
    "chunk_numbers",
    "chunk_task",
    "plan",
    "plan_cancelled",
    "provision_chunk",
    "publish_plan",
    "retire_cancelled",
    "summarize",
    "verify",
]

log = logging.getLogger(__name__)

DRY_RUN_LISTED = 1000  # rows a dry run's report lists


def _utcnow() -> datetime:
    return datetime.now(UTC)


def chunk_key(index: int) -> str:
    """The XCom key under which ``plan`` leaves chunk ``index``'s id range."""
    return f"chunk_{index}"


# -- plan ---------------------------------------------------------------------------------------
def plan(
    *,
    params: dict[str, Any],
    run_type: str | None,
    logical_date: datetime | None,
    config_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Select the run's due meetings. Returns ``run`` (the :class:`RunPlan`, for every later
    task) and ``bounds`` (each chunk's first and last id, published one key per chunk by
    :func:`publish_plan`)."""
    now = now or _utcnow()
    config = ProvisioningConfig.load(config_overrides)
    window = resolve_window(
        params=params,
        run_type=run_type,
        logical_date=logical_date,
        now=now,
        horizon_days=config.horizon_days,
        lead_days=config.lead_days,
    )
    table = MeetingsTable.from_config(config)
    table.check_columns()
    scope = _alert_scope(table, config, now)  # before selecting: all it names were there to be selected
    ids = table.select_due_ids(window.selection)
    series = table.due_series(window.selection, now=now, cap_ends_by=cap_ends_by(now, config))
    problems = table.problem_rows(now)
    report = _plan_report(table, window.selection, ids, problems)
    log.info("Window: %s -> %d meeting(s) due, %d recurring series due", window.describe(), len(ids), len(series))
    _log_report(report, config)
    if window.dry_run:
        log.info("Dry run: nothing is created or written.\n%s", _dry_run_report(table, ids, window.selection, now))
        bounds: list[list[str]] = []
    else:
        # rows no run can select get their reason now (not an attempt: the row must change first)
        # (a time that is no real instant also stores the problem digest: the watcher's cheap poll
        # cannot tell month 13 from a time and would see the row as new work on every poll)
        table.write_failures(
            [
                Failure(meeting_id=p["meeting_id"], reason=p["reason"], counts=False, reported=p["problem"] == "time")
                for p in problems
            ]
        )
        bounds = [[part[0], part[-1]] for part in _cut(ids, config.chunk_size)]
        bounds += [[first, last, SERIES_CHUNK] for first, last in _cut_series(series, config.chunk_size)]
    selected = len(ids) + sum(size for _, size in series)
    run = _run_plan(config, window, selected=selected, chunk_count=len(bounds), report=report)
    force_live = bool(params.get("force_live_deletions"))  # only a person sets it, on a manual run
    run = run.model_copy(update={"series": len(series), "force_live_deletions": force_live, "alert_scope": scope})
    return {"run": run.to_xcom(), "bounds": bounds}


def _alert_scope(table: MeetingsTable, config: ProvisioningConfig, now: datetime) -> AlertScope:
    """What this run's alerts may name (:meth:`.table.MeetingsTable._seen` says why)."""
    within = timedelta(minutes=config.alert_within_minutes)
    count, ids = table.alert_candidates(now=now, within=within, limit=LISTED)
    return AlertScope(planned_at=now, reach=now + within, count=count, ids=[str(i) for i in ids])


def _cut_series(series: Sequence[tuple[str, int]], size: int) -> list[tuple[str, str]]:
    """Key ranges of whole series (never one series in two chunks: one task writes its room),
    each of at most ``size`` rows unless one series alone is larger."""
    ranges: list[tuple[str, str]] = []
    first, rows, last = None, 0, None
    for key, count in series:
        if first is not None and rows + count > size:
            ranges.append((first, last))
            first, rows = None, 0
        first = key if first is None else first
        rows, last = rows + count, key
    if first is not None:
        ranges.append((first, last))
    return ranges


def _run_plan(
    config: ProvisioningConfig, window: RunWindow, *, selected: int, chunk_count: int, report: PlanReport
) -> RunPlan:
    return RunPlan(
        config=config,
        selection=window.selection,
        mode=window.mode,
        window=window.describe(),
        dry_run=window.dry_run,
        selected=selected,
        chunk_count=chunk_count,
        report=report,
    )


def _plan_report(
    table: MeetingsTable, selection: Selection, ids: Sequence[str], problems: Sequence[dict[str, Any]]
) -> PlanReport:
    """Unknown requested ids, rows no run can select (their kind as the table classified them),
    meetings given up on (not those this run retries itself, with force)."""
    unknown = sorted(set(selection.meeting_ids) - table.existing_ids(selection.meeting_ids))
    due = set(ids)
    given_up = [mid for mid in table.given_up(selection) if mid not in due]
    return PlanReport(
        unknown=Listed.of(unknown),
        problems=[
            Problem(kind=p["problem"], meeting_id=_shown(p["meeting_id"]), reason=p["reason"])
            for p in problems[:LISTED]
        ],
        problem_counts=dict(Counter(p["problem"] for p in problems)),
        given_up=Listed.of(given_up),
    )


def _log_report(report: PlanReport, config: ProvisioningConfig) -> None:
    if report.unknown.count:
        log.warning("%d requested meeting id(s) are not in the table: %s", report.unknown.count, report.unknown.ids)
    for problem in report.problems:
        log.warning("Row %s cannot be provisioned: %s", problem.meeting_id, problem.reason)
    if report.given_up.count:
        log.warning(
            "%d meeting(s) given up after %d failures (fix the row and reset attempts, or run with force): %s",
            report.given_up.count,
            config.max_attempts,
            report.given_up.ids,
        )


def _shown(meeting_id: Any) -> str | None:
    """An id as XCom can carry it: text as it is, anything else (a BLOB, a number) as its repr."""
    return meeting_id if meeting_id is None or isinstance(meeting_id, str) else repr(meeting_id)


def publish_plan(result: dict[str, Any], push: Callable[[str, Any], None]) -> dict[str, Any]:
    """Push each chunk's bounds under :func:`chunk_key` and return what the plan task returns.

    A chunk reads only its own key: resolving a mapped argument pulls the whole upstream list and
    renders every string in it, so the mapped list holds only ints and the per-chunk hand-over
    stays O(1) however many meetings a run has."""
    for index, bounds in enumerate(result["bounds"]):
        push(chunk_key(index), bounds)
    return result["run"]


def chunk_numbers(run: dict[str, Any]) -> list[int]:
    """What the mapped chunk task expands over: ints only (nothing for Jinja to render)."""
    return list(range(RunPlan.from_xcom(run).chunk_count))


def _cut(ids: Sequence[str], size: int) -> list[Sequence[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _dry_run_report(table: MeetingsTable, ids: Sequence[str], selection: Selection, now: datetime) -> str:
    config = table.config
    listed = ids[:DRY_RUN_LISTED]
    rows = table.fetch(listed)
    lines: list[tuple[Any, ...]] = [("meeting", "starts (UTC)", "room", "would", "title / problem")]
    for meeting_id in listed:
        row = as_row(rows.get(meeting_id) or {"meeting_id": meeting_id}, config)
        would = "update" if row.is_provisioned else "create"
        try:
            meeting = row.meeting()
            spec = meeting.room_spec(config, now=now.timestamp())
            lines.append((meeting_id, f"{meeting.starts_at:%Y-%m-%d %H:%M}", spec.name, would, meeting.title))
        except WaitingForDailyWindow as exc:
            lines.append((meeting_id, "-", "-", "wait", exc.reason))
        except BadMeetingRow as exc:
            lines.append((meeting_id, "-", "-", "fail", exc.reason))
    text = format_table(lines)
    if len(ids) > DRY_RUN_LISTED:
        text += f"\n... and {len(ids) - DRY_RUN_LISTED} more"
    return text + _already_done(table, selection, set(ids))


def _already_done(table: MeetingsTable, selection: Selection, due: set[str]) -> str:
    done = [as_row(r, table.config) for r in table.provisioned_in(selection)]
    already = [r for r in done if r.meeting_id not in due]
    if not already:
        return ""
    listed = [("meeting", "starts (UTC)", "room", "provisioned at")]
    listed += [
        (r.meeting_id, r.get("starts_at"), r.get("room_name"), r.get("provisioned_at"))
        for r in already[:DRY_RUN_LISTED]
    ]
    return f"\nAlready provisioned in this window ({len(already)}), nothing to do:\n{format_table(listed)}"


# -- one chunk ----------------------------------------------------------------------------------
@dataclass
class Item:
    """One meeting's way through a chunk: its row, the room it needs, and what became of it."""

    row: MeetingRow
    built: bool = False  # its spec was built (or its row failed trying)
    spec: RoomCreate | None = None
    provisioned: Provisioned | None = None
    outcome: str | None = None
    failure: Failure | None = None
    pin_changed: bool = False
    waiting: bool = False  # beyond Daily's 365 days: its reason is recorded, not as a failure
    deferred: bool = False  # its room is live: the change waits until it is empty (not a failure)

    @property
    def meeting_id(self) -> str:
        return self.row.meeting_id

    def fail(self, reason: str, *, counts: bool) -> None:
        self.failure = Failure(meeting_id=self.meeting_id, reason=reason, counts=counts)


@dataclass(frozen=True)
class _Sent:
    """What the chunk's calls to Daily came to: the API calls made, and the error that ended them."""

    calls: dict[str, int]
    error: Exception | None = None


def provision_chunk(
    *,
    index: int,
    bounds: Sequence[str],
    run: dict[str, Any],
    now: datetime | None = None,
    deletions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Provision one chunk, write every outcome back in one transaction, return its
    :class:`ChunkResult` (as JSON). ``deletions``: the gate's judged plan, for the series chunk's
    joins (``None``: judged in the chunk by the per-run limit; ``{}``: every join waits).

    Idempotency: the room name is the key (injective in the meeting id), so whatever happened
    before - a lost response, a killed task, an overlapping run - a repeat finds the room by its
    name and reuses it with its PIN. An error that ends the chunk early still writes back every
    room made and the reason on the rest, without counting it as an attempt of theirs, then
    raises :class:`ChunkInterrupted` with the result so far and the error.
    """
    now = now or _utcnow()
    if len(bounds) == 3 and bounds[2] == SERIES_CHUNK:  # a chunk of recurring series
        return provision_series_chunk(index=index, bounds=bounds, run=run, now=now, deletions=deletions).to_xcom()
    planned = RunPlan.from_xcom(run)
    config = planned.config
    table = MeetingsTable.from_config(config)
    items = [Item(row=as_row(row, config)) for row in table.fetch_range(planned.selection, *bounds)]
    _fail_shared_names(items, config)
    sent = _send(index, items, config, now)
    table.write_results(
        provisioned=[i.provisioned for i in items if i.provisioned],
        failed=[i.failure for i in items if i.failure],
        now=now,
    )
    result = _chunk_result(index, items)
    log.info(
        "Chunk %d: %d meeting(s): %s (API calls: %s)",
        index,
        len(items),
        ", ".join(f"{k}={getattr(result.counts, k)}" for k in OUTCOMES),
        sent.calls,
    )
    if sent.error is not None:
        raise ChunkInterrupted(result=result, cause=sent.error) from sent.error
    return result.to_xcom()


def chunk_task(*, ti: Any, index: int, run: dict[str, Any]) -> dict[str, Any]:
    """The mapped task's body: read this chunk's bounds (its own XCom key) and provision it. A
    chunk that ended early still hands ``summarize`` what it did, as this try's return value,
    and the task fails with the error that ended it."""
    bounds = ti.xcom_pull(task_ids="plan", key=chunk_key(index))
    # the gate's judged plan: a one-off joining a series leaves its own room only when it allows
    # (none handed over - the branch failed -: {} holds every join)
    deletions = ti.xcom_pull(task_ids="deletions_plan", key="deletions_plan") or {}
    try:
        return provision_chunk(index=index, bounds=bounds, run=run, deletions=deletions)
    except ChunkInterrupted as interrupted:
        ti.xcom_push(key="return_value", value=interrupted.result.to_xcom())
        cause = interrupted.cause
    raise cause


def _send(index: int, items: list[Item], config: ProvisioningConfig, now: datetime) -> _Sent:
    """Ensure the rooms of the chunk's items, and record each item's outcome on it.

    Specs are built as the creator asks for them (building batch k+1 overlaps batch k's call);
    whatever an interruption left unread is built afterwards, so every row still gets its reason."""
    specs = _lazy_specs(items, config, now)
    first = next(specs, None)
    if first is None:
        return _Sent(calls={})
    ensured = ensure_rooms(specs=itertools.chain([first], specs), config=config, label=f"Chunk {index}")
    for item in items:  # the rows the interruption left unread
        _build_spec(item, config, now)
    for item in items:
        if item.spec is not None:
            _record(item, ensured.outcomes.get(item.spec.name), ensured.error, ensured.fallback, config)
    return _Sent(calls=ensured.calls, error=ensured.error)


def _fail_shared_names(items: list[Item], config: ProvisioningConfig) -> None:
    """Two rows on one room name (one id twice in a table without a key; in theory a hash
    collision) both fail, before anything is sent: never two meetings on one room."""
    by_name: dict[str, list[Item]] = {}
    for item in items:
        if item.meeting_id.strip():  # a blank id fails on its own, in _build_spec
            by_name.setdefault(room_name_for(item.meeting_id, config.room_name_prefix), []).append(item)
    for name, sharing in by_name.items():
        if len(sharing) > 1:
            ids = ", ".join(repr(i.meeting_id) for i in sharing)
            for item in sharing:
                item.fail(f"meetings {ids} map to one room name {name}: rename one of them", counts=True)


def _build_spec(item: Item, config: ProvisioningConfig, now: datetime) -> RoomCreate | None:
    """Row -> room spec, once per item; a bad row fails alone (and has no spec)."""
    if item.built:
        return item.spec
    item.built = True
    if item.failure is not None:
        return None
    try:
        item.spec = item.row.meeting().room_spec(config, now=now.timestamp())
    except WaitingForDailyWindow as exc:
        # too early, not wrong: whichever run selected it (meeting ids name no horizon), it waits -
        # no attempt counted, never given up on, provisioned by the run that finds it within reach
        item.waiting = True
        item.fail(exc.reason, counts=False)
    except BadMeetingRow as exc:
        item.fail(exc.reason, counts=True)
    except Exception as exc:  # never let one row take its chunk down, whatever it holds
        item.fail(f"unreadable row ({type(exc).__name__}: {exc})", counts=True)
    return item.spec


def _lazy_specs(items: list[Item], config: ProvisioningConfig, now: datetime) -> Iterator[RoomCreate]:
    """The items' specs, each built when the consumer asks for it."""
    for item in items:
        spec = _build_spec(item, config, now)
        if spec is not None:
            yield spec


def _record(
    item: Item, outcome: Any, error: Exception | None, fallback: str | None, config: ProvisioningConfig
) -> None:
    spec = item.spec
    assert spec is not None
    room = outcome.room if outcome is not None else None
    if outcome is not None and outcome.ok and room is not None and room.pin:
        number = room.dialin_number(fallback=fallback)
        item.pin_changed = _pin_changed(item.row, room.pin)
        item.outcome = outcome.outcome or "created"
        item.provisioned = Provisioned(
            meeting_id=item.meeting_id,
            room_name=spec.name,
            room_url=room.url,
            pin=room.pin,
            number=number,
            dial_string=dial_string(number, room.pin),
            room_exp=int(spec.properties.exp or 0),
            fingerprint=item.row.fingerprint(config),
        )
    elif outcome is not None and outcome.error:
        # a live room whose exp was kept (creating.defer_live): the meeting is running in it, so the
        # run is not failed for it - the row says why and a later run moves exp once it is empty
        item.deferred = bool(getattr(outcome, "deferred", None))
        item.fail(outcome.error, counts=outcome.counts)
    else:
        # not reached: the chunk ended early. Not this meeting's fault: not an attempt.
        reason = f"not provisioned: {type(error).__name__}: {error}" if error else "not provisioned: no room returned"
        item.fail(reason, counts=False)


def _pin_changed(row: MeetingRow, pin: str) -> bool:
    """Whether the row's invitation must be re-sent: it held another PIN, or it held a room that was
    deleted when the meeting was cancelled (``clear_rooms`` keeps ``room_name``, clears the PIN and
    ``provisioned_at``) and is scheduled again - the new room has a new PIN."""
    if row.pin is not None:
        return row.pin != pin
    return bool(row.get("room_name")) and not row.is_provisioned


def _chunk_result(index: int, items: Sequence[Item]) -> ChunkResult:
    outcomes = Counter(i.outcome for i in items if i.outcome)
    failures = [i.failure for i in items if i.failure and not i.waiting and not i.deferred]
    counts = Counts(**{k: outcomes.get(k, 0) for k in OUTCOMES if k != "failed"}, failed=len(failures))
    return ChunkResult(
        index=index,
        counts=counts,
        failures={f.meeting_id: f.reason for f in failures[:LISTED]},
        pin_changed=Listed.of([i.meeting_id for i in items if i.pin_changed]),
        waiting=Listed.of([i.meeting_id for i in items if i.waiting]),
        deferred=Listed.of([i.meeting_id for i in items if i.deferred]),
    )


# -- cancelled meetings -----------------------------------------------------------------------
class RetireInterrupted(Exception):
    """``retire_cancelled`` ended early (an outage outlasting the retries, a refused key): every room
    deleted before was written back; ``result`` is what was done, ``cause`` the error the task fails with."""

    def __init__(self, *, result: RetireResult, cause: Exception) -> None:
        super().__init__(f"retire_cancelled interrupted: {type(cause).__name__}: {cause}")
        self.result = result
        self.cause = cause


@dataclass(frozen=True)
class _Cancelled:
    """The cancelled meetings with rooms, as the table has them now: rooms to delete (every row
    naming them is cancelled) and rows to detach (their room is kept: a row that is not cancelled,
    another occurrence of a series, still names it)."""

    rooms: dict[str, list[str]]
    detach: list[tuple[str, str]]


def _cancelled_now(table: MeetingsTable, limit: int) -> _Cancelled:
    by_room: dict[str, list[str]] = {}
    for entry in table.cancelled_with_rooms(limit=limit):
        by_room.setdefault(str(entry["room_name"]), []).append(entry["meeting_id"])
    kept = table.room_names_kept(by_room) if by_room else set()
    detach = [(mid, name) for name in sorted(kept) for mid in by_room[name]]
    return _Cancelled(rooms={n: ids for n, ids in by_room.items() if n not in kept}, detach=detach)


def _joining_now(table: MeetingsTable, config: ProvisioningConfig) -> dict[str, list[str]]:
    """The own rooms of provisioned one-off meetings that now have a (valid) ``series_id``: joining
    the series deletes them (room name -> the meeting). Only rows whose room is their own meeting
    room and believed live (``provisioned_at`` set; a row cleared after the deletion is not)."""
    if not table.has_series:
        return {}
    import sqlalchemy as sa

    from daily_dialin.provisioning.meetings import series_key

    c, own = table.c, f"{config.room_name_prefix}-"
    query = sa.select(c.meeting_id, c.room_name, c.series_id).where(
        c.series_id.is_not(None),
        c.provisioned_at.is_not(None),
        sa.func.substr(c.room_name, 1, len(own)) == own,
        table._status_in(config.provisionable_statuses),
    )
    joining: dict[str, list[str]] = {}
    for meeting_id, room_name, series_id in table._records(query):
        try:
            valid = series_key(series_id) is not None
        except ValueError:
            valid = False
        if valid and isinstance(meeting_id, str) and room_name == room_name_for(meeting_id, config.room_name_prefix):
            joining[str(room_name)] = [meeting_id]
    return joining


def plan_cancelled(*, run: dict[str, Any], limit: int = 2000) -> dict[str, Any]:
    """The :class:`~.deletions.DeletionPlan` (JSON) of the rooms this run would delete: those of
    cancelled meetings, and the own rooms of one-offs joining a series (``joined``: the series
    chunk deletes them, through the same gate). Reads only; the gate's verdict against the ledger
    is :func:`.deletions.settle`'s (the DAG's ``deletions_plan`` task)."""
    from daily_dialin.provisioning.deletions import Candidate, DeletionPlan

    planned = RunPlan.from_xcom(run)
    config = planned.config
    if planned.dry_run:
        return DeletionPlan.build(reason="cancelled", rooms=[], live=0, config=config).to_xcom()
    table = MeetingsTable.from_config(config)
    rooms: list[Candidate] = []
    if config.delete_cancelled_rooms:
        now = _cancelled_now(table, limit)
        rooms = [
            Candidate(room_name=name, meeting_ids=[str(i) for i in ids]) for name, ids in sorted(now.rooms.items())
        ]
    joining = _joining_now(table, config)
    rooms += [Candidate(room_name=name, meeting_ids=ids, joined=True) for name, ids in sorted(joining.items())]
    plan = DeletionPlan.build(
        reason="cancelled", rooms=rooms, live=table.live_room_count() if rooms else 0, config=config
    )
    # the flag travels with the plan, so the approval DAG deletes what the person's run asked for
    plan = plan.model_copy(update={"force_live": planned.force_live_deletions})
    log.info(
        "Rooms to delete: %d (%d of one-offs joining a series; %.1f%% of %d live; limit without approval %d)",
        plan.count,
        len(joining),
        plan.share * 100,
        plan.live,
        plan.limit,
    )
    return plan.to_xcom()


def retire_cancelled(
    *,
    run: dict[str, Any],
    deletions: dict[str, Any] | None = None,
    approval: dict[str, Any] | None = None,
    limit: int = 2000,
) -> dict[str, Any]:
    """Delete the rooms of meetings cancelled after provisioning and clear their PINs; returns a
    :class:`RetireResult` (as JSON).

    ``deletions`` is the plan ``deletions_plan`` judged (``None``: made now, without a ledger: only
    the per-run limit applies). Only a plan whose verdict is ``auto`` deletes here; over the budget
    (``ask``, ``pending``) or rejected, nothing is deleted, each meeting gets the reason in
    ``last_error`` (not an attempt, not a failure: the room lives on, the run completes) and the
    approval DAG decides (:func:`retire_approved`). ``approval`` is kept for callers that answer
    a plan themselves (tests).

    Safety: only rooms in the plan *and* still to delete now are deleted (a meeting scheduled again
    while the approval waited keeps its room); a room another row that is not cancelled still names
    (a series) is never deleted - the cancelled row only lets go of it (PIN cleared, room kept).
    Idempotency: a room already gone counts as deleted (404 = done), and the row is cleared only
    for the room it named (``clear_rooms`` matches the name), so a repeat changes nothing.

    Deletes go through :class:`~airflow_provider_daily.bulk.BulkRoomDeleter` (``DELETE
    /batch/rooms``, split on refusal, paced single deletes last). An outage or a refused key stops
    it: what was deleted is written back first, then :class:`RetireInterrupted` is raised."""
    from daily_dialin.provisioning.deletions import DeletionPlan

    planned = RunPlan.from_xcom(run)
    config = planned.config
    if planned.dry_run or not config.delete_cancelled_rooms:
        return RetireResult().to_xcom()
    plan = DeletionPlan.from_xcom(deletions or plan_cancelled(run=run, limit=limit))
    if approval is not None and plan.verdict != "auto":
        plan = plan.model_copy(update={"verdict": "ask"})  # answered by the caller: decide() reads the answer
        return retire_approved(config=config, deletions=plan.to_xcom(), approval=approval, limit=limit, joins=False)
    return _retire(config, plan, limit=limit, force_live=planned.force_live_deletions or plan.force_live).to_xcom()


def _retire(config: ProvisioningConfig, plan: Any, *, limit: int, force_live: bool = False) -> RetireResult:
    """The provisioning run's deletion: the ``auto`` plan's cancelled rooms (joins: the series chunk)."""
    from daily_dialin.provisioning.deletions import decide

    table = MeetingsTable.from_config(config)
    now = _cancelled_now(table, limit)
    table.clear_rooms(now.detach)  # no room is deleted for these: no gate needed
    allowed = {name: now.rooms[name] for name in plan.names() if name in now.rooms}
    if plan.verdict != "auto":
        why = plan.why_held or f"waiting for a person's approval: {plan.count} room(s), limit {plan.limit}"
        log.warning("Cancelled meetings: %d room(s) kept: %s", len(allowed), why)
        return _held(table, allowed, why, detached=len(now.detach))
    decision = decide(plan, None)
    return _deleted(table, config, allowed, why=decision.why, detached=len(now.detach), force_live=force_live)


def _deleted(
    table: MeetingsTable,
    config: ProvisioningConfig,
    allowed: dict[str, list[str]],
    *,
    why: str,
    detached: int,
    force_live: bool = False,
) -> RetireResult:
    result, error = _delete_cancelled(table, config, allowed, force_live=force_live)
    result = result.model_copy(update={"approval": why, "detached": detached})
    log.info(
        "Cancelled meetings: %d room(s) deleted (%s), %d failed, %d left; %d row(s) let go of a room still in use",
        result.deleted,
        why,
        result.failed,
        result.pending,
        result.detached,
    )
    if error is not None:
        raise RetireInterrupted(result=result, cause=error) from error
    return result


def retire_approved(
    *,
    config: ProvisioningConfig,
    deletions: dict[str, Any],
    approval: dict[str, Any] | None,
    held_reason: str | None = None,
    limit: int = 2000,
    joins: bool = True,
    force_live: bool = False,
) -> dict[str, Any]:
    """The approval DAG's deletion of a plan a person answered (:func:`.deletions.decide`):
    approved, the rooms of the plan still to delete now - cancelled meetings' and (``joins``) the
    own rooms of one-offs still joining a series, whose rows are cleared so the next run puts them
    in the series room (reported in ``pin_changed``); rejected or timed out, nothing, and each
    meeting is told why (``held_reason``, else the verdict). Returns a :class:`RetireResult` (JSON)."""
    from daily_dialin.provisioning.deletions import DeletionPlan, decide

    plan = DeletionPlan.from_xcom(deletions)
    table = MeetingsTable.from_config(config)
    now = _cancelled_now(table, limit)
    candidates = {**now.rooms, **(_joining_now(table, config) if joins else {})}
    allowed = {name: candidates[name] for name in plan.names() if name in candidates}
    decision = decide(plan, approval)
    if not decision.delete:
        log.error("Rooms of cancelled meetings: %s", decision.why)
        return _held(table, allowed, held_reason or decision.why, detached=0).to_xcom()
    force_live = force_live or plan.force_live
    return _deleted(table, config, allowed, why=decision.why, detached=0, force_live=force_live).to_xcom()


def _held(table: MeetingsTable, rooms: dict[str, list[str]], why: str, *, detached: int) -> RetireResult:
    """Rooms a person has not (or not yet) allowed to delete: nothing deleted; each meeting is told
    why (not an attempt, and not a failure of the run: its room lives on)."""
    reason = f"room not deleted: {why}"
    held = [Failure(meeting_id=mid, reason=reason, counts=False) for ids in rooms.values() for mid in ids]
    table.write_failures(held)
    return RetireResult(
        held=len(held),
        failures={str(f.meeting_id): reason for f in held[:LISTED]},
        approval=why,
        detached=detached,
    )


def _delete_cancelled(
    table: MeetingsTable, config: ProvisioningConfig, rooms: dict[str, list[str]], *, force_live: bool = False
) -> tuple[RetireResult, Exception | None]:
    """Delete ``rooms`` in bulk and write back every room settled, also when the deleter stops early.

    A room with people in it (or whose presence is unknown) is not deleted unless ``force_live``: its
    rows keep the room and say why in ``last_error`` (not an attempt, not a failure of the run);
    they are still cancelled with a room, so the next run tries again, until it is empty."""
    if not rooms:
        return RetireResult(), None
    from airflow_provider_daily.bulk import BulkRoomDeleter
    from airflow_provider_daily.errors import DailyBulkDeleteError
    from airflow_provider_daily.hooks.daily import DailyHook

    hook = DailyHook(daily_conn_id=config.daily_conn_id, deadline_seconds=config.chunk_deadline_seconds)
    error: Exception | None = None
    try:
        deleter = BulkRoomDeleter(hook=hook, batch_size=config.batch_size, force_live=force_live)
        results = deleter.delete(list(rooms))
    except DailyBulkDeleteError as exc:  # an outage or a refused key: keep what was settled
        results, error = exc.results, exc
    deferred = dict(getattr(results, "deferred", {}))
    retired = [(mid, name) for name, reason in results.items() if reason is None for mid in rooms[name]]
    reasons = {str(mid): reason for name, reason in results.items() if reason for mid in rooms[name]}
    failures = {mid: reason for mid, reason in reasons.items() if not reason.startswith(DEFERRED)}
    table.clear_rooms(retired)
    table.write_failures([Failure(meeting_id=mid, reason=reason, counts=False) for mid, reason in reasons.items()])
    pending = sum(len(ids) for name, ids in rooms.items() if name not in results)
    result = RetireResult(
        deleted=len(retired),
        failed=len(failures),
        pending=pending,
        failures=dict(list(failures.items())[:LISTED]),
        deferred=len(deferred),
        deferred_rooms=dict(list(deferred.items())[:LISTED]),
    )
    return result, error


# -- summary and verdict ------------------------------------------------------------------------
def summarize(
    *,
    run: dict[str, Any] | None,
    chunk_results: Sequence[dict[str, Any] | None] | None,
    retired: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The run's true totals, as a :class:`Summary` (JSON): from every chunk's result (a failed
    chunk hands over what it did), the plan's report of unreadable rows, unknown ids and meetings
    given up on, the rooms of cancelled meetings, and - read after every chunk wrote back - the
    meetings about to start without a room and those that started without one. A failed
    ``plan`` is reported as such, never a crash."""
    if run is None:
        log.error("Daily dial-in provisioning: the plan task failed, nothing was provisioned; see its log")
        return Summary(plan_failed=True).to_xcom()
    planned = RunPlan.from_xcom(run)
    results = _received(chunk_results)
    summary = _totals(planned, results, RetireResult.from_xcom(retired) if retired else RetireResult())
    # the deletion task always hands over a result (also when interrupted): none means it failed
    # before it could, or never ran - its rooms may still be live, so the verdict must say so
    lost = retired is None and not planned.dry_run
    summary = summary.model_copy(update={**_freshness(planned, now or _utcnow()), "retire_lost": lost})
    log.info("Daily dial-in provisioning (%s)\n%s", planned.window, _summary_text(summary))
    return summary.to_xcom()


def _received(chunk_results: Sequence[dict[str, Any] | None] | None) -> list[ChunkResult]:
    """The results the chunk tasks handed over. Indexed, not iterated: Airflow's lazy XCom
    sequence stops iterating at the first mapped task that pushed nothing, which would hide the
    chunks after it."""
    if chunk_results is None:
        return []
    found = (chunk_results[i] for i in range(len(chunk_results)))
    return [ChunkResult.from_xcom(result) for result in found if result]


def _totals(planned: RunPlan, results: Sequence[ChunkResult], retired: RetireResult) -> Summary:
    counts, failures, changed, changed_count, waiting, waiting_count = Counts(), {}, [], 0, [], 0
    deferred, deferred_count = [], 0
    for result in results:
        deferred.extend(result.deferred.ids)
        deferred_count += result.deferred.count
        counts += result.counts
        failures.update(result.failures)
        changed.extend(result.pin_changed.ids)
        changed_count += result.pin_changed.count
        waiting.extend(result.waiting.ids)
        waiting_count += result.waiting.count
    report = planned.report
    for problem in report.problems:
        if problem.unreadable:
            failures.setdefault(str(problem.meeting_id), problem.reason)
    return Summary(
        mode=planned.mode,
        window=planned.window,
        dry_run=planned.dry_run,
        selected=planned.selected,
        counts=counts,
        failures=dict(list(failures.items())[:LISTED]),
        lost_chunks=max(planned.chunk_count - len(results), 0),
        unreadable=report.unreadable_count,
        unknown_status=report.unknown_status_count,
        unknown=report.unknown,
        given_up=report.given_up,
        pin_changed=Listed.of(changed, count=changed_count),
        waiting=Listed.of(waiting, count=waiting_count),
        deferred=Listed.of(deferred, count=deferred_count),
        retired=retired,
        alert_within_minutes=planned.config.alert_within_minutes,
    )


def _freshness(planned: RunPlan, now: datetime) -> dict[str, Any]:
    """Meetings starting within ``alert_within_minutes`` that still have no room, and meetings
    that started without ever having had one (marked in the table, so reported once) - read
    after this run's chunks wrote back. A dry run writes nothing and checks nothing."""
    if planned.dry_run:
        return {}
    config, scope = planned.config, planned.alert_scope
    # only meetings this run could have provisioned: those its plan saw (a plan made before the
    # scope existed - a run in flight during an upgrade - names every meeting, as it did)
    seen = None if scope is None else Seen(ids=tuple(scope.ids), complete=scope.complete, reach=scope.reach)
    try:
        table = MeetingsTable.from_config(config)
        within = timedelta(minutes=config.alert_within_minutes)
        soon = table.not_ready_soon(now=now, within=within, limit=LISTED, seen=seen)
        missed = table.mark_missed(now=now, limit=LISTED, seen=seen)
    except Exception as exc:  # the table is unreachable: say so, and let verify fail the run
        log.error("Could not check for meetings about to start without a room: %s: %s", type(exc).__name__, exc)
        return {"freshness_error": f"{type(exc).__name__}: {exc}"}
    return {"not_ready_soon": Listed.of(soon[1], count=soon[0]), "missed": Listed.of(missed[1], count=missed[0])}


def _summary_text(summary: Summary) -> str:
    counts = summary.counts
    rows: list[tuple[str, Any]] = [
        ("provisioned (new room)", counts.created),
        ("reused (room existed)", counts.reused),
        ("updated (settings fixed)", counts.updated),
        ("skipped", counts.skipped),
        ("failed", counts.failed),
    ]
    extra = (
        ("rows no run can select", summary.unreadable),
        ("rows with an unknown status", summary.unknown_status),
        ("requested ids not in the table", summary.unknown.count),
        ("given up (attempts used up)", summary.given_up.count),
        ("PIN changed: re-send invitations", summary.pin_changed.count),
        ("waiting: beyond Daily's 365 days", summary.waiting.count),
        ("deferred: live rooms (people in them; changed once empty)", summary.deferred.count),
        ("cancelled: rooms deleted", summary.retired.deleted),
        ("cancelled: rooms not deleted", summary.retired.failed + summary.retired.pending),
        ("cancelled: rooms waiting for a person's decision (the approval DAG)", summary.retired.held),
        ("cancelled: rooms deferred (people in them)", summary.retired.deferred),
        ("chunk tasks lost (no result)", summary.lost_chunks),
        (f"starting within {summary.alert_within_minutes} min without a room", summary.not_ready_soon.count),
        ("started without ever having had a room", summary.missed.count),
    )
    rows += [(label, value) for label, value in extra if value]
    text = format_table([("outcome", "meetings"), *rows])
    if summary.failures:
        text += "\n" + format_table([("meeting", "reason"), *sorted(summary.failures.items())])
    return text + "".join(_listed_text(summary))


def _listed_text(summary: Summary) -> Iterator[str]:
    for label, listed in (
        ("Not in the table", summary.unknown),
        ("Given up on", summary.given_up),
        ("New PIN (re-send the invitation)", summary.pin_changed),
        ("Waiting: beyond Daily's 365 days (a later run provisions them)", summary.waiting),
        ("Deferred: live rooms (people in them; a later run changes them once empty)", summary.deferred),
        (f"Starting within {summary.alert_within_minutes} min without a room", summary.not_ready_soon),
        ("Started without ever having had a room", summary.missed),
    ):
        if listed.ids:
            yield f"\n{label}: " + ", ".join(repr(i) for i in listed.ids)
    if summary.retired.deferred_rooms:  # kept for the people in them; a later run deletes them once empty
        yield "\nRooms of cancelled meetings kept: " + "; ".join(
            f"{room}: {why}" for room, why in sorted(summary.retired.deferred_rooms.items())
        )
    if summary.freshness_error:
        yield f"\nCould not check for meetings about to start without a room: {summary.freshness_error}"


def verify(summary: dict[str, Any]) -> None:
    """Fail the run when any meeting is left without a room - after everything was written."""
    checked = Summary.from_xcom(summary)
    if checked.plan_failed:
        raise ProvisioningFailed("the plan task failed: nothing was provisioned (see the plan task's log)")
    found = [f"{count} {label}" for label, count in _verdict_counts(checked) if count]
    found += _freshness_findings(checked)
    if checked.retire_lost:
        found.append("the deletion of cancelled meetings' rooms did not finish (see the retire_cancelled task)")
    if found:
        ids = ", ".join(repr(i) for i in [*checked.failures, *checked.given_up.ids][:20])
        raise ProvisioningFailed("; ".join(found) + (f" - see last_error of: {ids}" if ids else ""))


def _verdict_counts(summary: Summary) -> list[tuple[str, int]]:
    return [
        ("meeting(s) failed", summary.counts.failed),
        ("row(s) no run can select", summary.unreadable),
        ("meeting(s) given up on", summary.given_up.count),
        ("chunk task(s) lost", summary.lost_chunks),
        ("cancelled room(s) not deleted", summary.retired.failed),
    ]


def _freshness_findings(summary: Summary) -> list[str]:
    """Meetings about to start, or started, without a room: named by id (they may have no last_error)."""
    found = []
    for listed, label in (
        (summary.not_ready_soon, f"meeting(s) starting within {summary.alert_within_minutes} minutes without a room"),
        (summary.missed, "meeting(s) started without ever having had a room"),
    ):
        if listed.count:
            found.append(f"{listed.count} {label} ({', '.join(repr(i) for i in listed.ids[:20])})")
    if summary.freshness_error:
        found.append(f"the check for meetings about to start without a room failed ({summary.freshness_error})")
    return found
