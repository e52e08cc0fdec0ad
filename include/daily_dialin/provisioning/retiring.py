"""The rooms of cancelled meetings: planned for the gate on mass deletion, deleted when it allows.

``plan_cancelled``   the rooms of meetings cancelled after provisioning (and the own rooms of
                     one-offs joining a series) as a :class:`~.deletions.DeletionPlan` for the gate
                     (over the limit, a person approves in the approval DAG).
``retire_cancelled`` delete those rooms (``DELETE /batch/rooms`` through the provider's bulk
                     deleter) when the gate's verdict is ``auto``, and clear their PINs; over the
                     budget they live on and the approval DAG asks (:func:`retire_approved` there).

A deletion stopped part-way (an outage, a refused key) writes back what it deleted, then raises
:class:`~daily_dialin.interrupted.Interrupted` with its :class:`~.handover.RetireResult`.

May import: the provider (lazily: the bulk deleter), ``daily_dialin`` (hook, interrupted) and the
provisioning modules below the steps (config, deletions, handover, meetings, recording, table).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from daily_dialin.interrupted import Interrupted
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.handover import LISTED, RetireResult, RunPlan
from daily_dialin.provisioning.meetings import room_name_for
from daily_dialin.provisioning.recording import Failure
from daily_dialin.provisioning.table import MeetingsTable

__all__ = ["plan_cancelled", "retire", "retire_approved", "retire_cancelled"]

log = logging.getLogger(__name__)


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
        by_room.setdefault(str(entry.room_name), []).append(entry.meeting_id)
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
    """:func:`retire`, its :class:`RetireResult` as JSON (what the task returns)."""
    return retire(run=run, deletions=deletions, approval=approval, limit=limit).to_xcom()


def retire(
    *,
    run: dict[str, Any],
    deletions: dict[str, Any] | None = None,
    approval: dict[str, Any] | None = None,
    limit: int = 2000,
) -> RetireResult:
    """Delete the rooms of meetings cancelled after provisioning and clear their PINs.

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
    it: what was deleted is written back first, then :class:`~daily_dialin.interrupted.Interrupted`
    is raised with the result."""
    from daily_dialin.provisioning.deletions import DeletionPlan

    planned = RunPlan.from_xcom(run)
    config = planned.config
    if planned.dry_run or not config.delete_cancelled_rooms:
        return RetireResult()
    plan = DeletionPlan.from_xcom(deletions or plan_cancelled(run=run, limit=limit))
    if approval is not None and plan.verdict != "auto":
        plan = plan.model_copy(update={"verdict": "ask"})  # answered by the caller: decide() reads the answer
        return _approved(config=config, plan=plan, approval=approval, limit=limit, joins=False)
    return _retire(config, plan, limit=limit, force_live=planned.force_live_deletions or plan.force_live)


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
        raise Interrupted(result=result, cause=error, what="retire_cancelled") from error
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
    from daily_dialin.provisioning.deletions import DeletionPlan

    plan = DeletionPlan.from_xcom(deletions)
    return _approved(
        config=config,
        plan=plan,
        approval=approval,
        held_reason=held_reason,
        limit=limit,
        joins=joins,
        force_live=force_live,
    ).to_xcom()


def _approved(
    *,
    config: ProvisioningConfig,
    plan: Any,
    approval: dict[str, Any] | None,
    held_reason: str | None = None,
    limit: int = 2000,
    joins: bool = True,
    force_live: bool = False,
) -> RetireResult:
    from daily_dialin.provisioning.deletions import decide

    table = MeetingsTable.from_config(config)
    now = _cancelled_now(table, limit)
    candidates = {**now.rooms, **(_joining_now(table, config) if joins else {})}
    allowed = {name: candidates[name] for name in plan.names() if name in candidates}
    decision = decide(plan, approval)
    if not decision.delete:
        log.error("Rooms of cancelled meetings: %s", decision.why)
        return _held(table, allowed, held_reason or decision.why, detached=0)
    force_live = force_live or plan.force_live
    return _deleted(table, config, allowed, why=decision.why, detached=0, force_live=force_live)


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
    results, error = _bulk_delete(config, list(rooms), force_live=force_live)
    return _settled(table, rooms, results), error


def _bulk_delete(config: ProvisioningConfig, names: list[str], *, force_live: bool) -> tuple[Any, Exception | None]:
    """The deleter's answer per room (``None``: deleted), and the error that stopped it early."""
    from airflow_provider_daily.bulk import BulkRoomDeleter
    from airflow_provider_daily.errors import DailyBulkDeleteError
    from daily_dialin.hook import daily_hook

    hook = daily_hook(config, live_rooms=False)
    try:
        deleter = BulkRoomDeleter(hook=hook, batch_size=config.batch_size, force_live=force_live)
        return deleter.delete(names), None
    except DailyBulkDeleteError as exc:  # an outage or a refused key: keep what was settled
        return exc.results, exc


def _settled(table: MeetingsTable, rooms: dict[str, list[str]], results: Any) -> RetireResult:
    """Write back every room the deleter settled: deleted rooms' rows cleared, the others told why."""
    from airflow_provider_daily.presence import DEFERRED

    retired, reasons = _by_meeting(rooms, results)
    failures = {mid: reason for mid, reason in reasons.items() if not reason.startswith(DEFERRED)}
    table.clear_rooms(retired)
    table.write_failures([Failure(meeting_id=mid, reason=reason, counts=False) for mid, reason in reasons.items()])
    deferred = dict(getattr(results, "deferred", {}))
    return RetireResult(
        deleted=len(retired),
        failed=len(failures),
        pending=sum(len(ids) for name, ids in rooms.items() if name not in results),
        failures=dict(list(failures.items())[:LISTED]),
        deferred=len(deferred),
        deferred_rooms=dict(list(deferred.items())[:LISTED]),
    )


def _by_meeting(rooms: dict[str, list[str]], results: Any) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """``(meeting_id, room)`` of the rooms deleted, and each other settled meeting's reason."""
    retired = [(mid, name) for name, reason in results.items() if reason is None for mid in rooms[name]]
    reasons = {str(mid): reason for name, reason in results.items() if reason for mid in rooms[name]}
    return retired, reasons
