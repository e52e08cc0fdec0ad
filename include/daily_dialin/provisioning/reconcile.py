"""Reconcile the meetings table with Daily: what the table says must be what Daily has.

For every provisioned meeting that is not over, compare its row with the room Daily lists:

* **room missing** (deleted in Daily, expired early): create it again through the same
  idempotent bulk path. It gets a new PIN - reported, so invitations can be re-sent;
* **other PIN** than the table's: Daily's PIN is the one that works - write it to the table,
  report it;
* **other ``exp``** than the table's: update the room's ``exp`` only (never ``dialin``, so the
  PIN is not at risk), then check that the PIN did not change.

One listing of the domain's rooms (100 per call) instead of one GET per meeting; creates and
updates go through the paced hook. Only ids and counts are returned: PINs stay in the table.

Rows are read as :class:`daily_dialin.rows.MeetingRow` (exact ids, the stored PIN, the meeting and
its fingerprint by the rules provisioning uses).

**The orphan sweep.** The same listing names the rooms no row owns: every room of this deployment
(its name starts with ``room_name_prefix`` followed by ``-`` - one meeting's room - or ``_`` - a
series' room) that no row's ``room_name`` names (the row was deleted, or now names another room;
a room several rows share stays owned while any of them names it) and that is not the room a
provisionable row without ``room_name`` would get (a create whose write-back was lost). Orphans
are reported by name, with the prefix, and deleted after ``orphan_grace_minutes`` (through the
gate on mass deletion, :mod:`.deletions`) - ``delete_orphans: false`` only reports them. Rooms
outside the prefix are never touched.

*Orphaned since when?* A room's ``created_at`` says nothing about when its row went (a room made a
month ago loses its row now), and ``nbf``/``exp`` are the meeting's times. So the sweep keeps a
small ledger of when each orphan was first seen (:class:`OrphanLedger`; in the DAG an Airflow
Variable, ``daily_dialin_orphans__<daily_conn_id>__<prefix>``: survives restarts, readable in the UI,
holds only the names orphaned right now). A room is deleted only once it has been an orphan for the
whole grace period, on two runs at least, so a row deleted and inserted again (a nightly reload of
the table) never loses its room. Losing the ledger only delays deletions: it errs the safe way.
Reconcile runs one at a time (``max_active_runs=1``), so one run writes the ledger at once.

**Two deployments on one Daily domain need distinct prefixes**, and neither may be the other's
followed by ``-`` or ``_`` (``mtg`` and ``mtg-eu`` clash: ``mtg-eu-1`` is a valid room of both):
each deployment deletes the rooms under its prefix that its own table does not name.

May import: the provider, ``daily_dialin.errors``, ``daily_dialin.rows`` and
``daily_dialin.provisioning`` (config, table, deletions); Airflow's Variable in the ledger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_daily.errors import DailyApiError
from airflow_provider_daily.models import Room, dial_string
from daily_dialin.errors import BadMeetingRow
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.deletions import Candidate, DeletionPlan, decide
from daily_dialin.provisioning.table import Failure, MeetingsTable, Provisioned
from daily_dialin.rows import MeetingRow, as_row

if TYPE_CHECKING:
    from airflow_provider_daily.hooks.daily import DailyHook

log = logging.getLogger(__name__)
LISTED = 50
ORPHANS_PER_RUN = 2000  # orphans one run deletes at most (the rest: the next run)


def reconcile(
    *,
    config_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
    ledger: OrphanLedger | None = None,
) -> dict[str, Any]:
    """Compare every live provisioned meeting with Daily, repair what differs, report PIN changes;
    find the orphans (``orphans``, ``orphan_rooms``) and plan the deletion of those past their grace
    period (``deletions``: a :class:`~.deletions.DeletionPlan`, for the gate and :func:`sweep_orphans`).
    ``ledger``: when each orphan was first seen (default: in memory, i.e. never past the grace)."""
    from airflow_provider_daily.hooks.daily import DailyHook

    now = now or datetime.now(UTC)
    config = ProvisioningConfig.load(config_overrides)
    table = MeetingsTable.from_config(config)
    table.check_columns()
    rows = [as_row(row, config) for row in table.provisioned_rows(now)]
    hook = DailyHook(
        daily_conn_id=config.daily_conn_id,
        deadline_seconds=config.chunk_deadline_seconds,
        live_exp_margin_seconds=config.live_exp_margin_minutes * 60,
    )
    listing = list(hook.iter_rooms())  # first: a room some row names by the time the table is read is owned
    live = {room.name: room for room in listing}
    fallback = hook.settings.default_dialin_number if rows else None

    missing, fixed, exp_fixes = _compare(rows, live)
    failures: list[Failure] = []
    recreated = _recreate(missing, hook=hook, table=table, config=config, now=now, fixed=fixed, failures=failures)
    _fix_exp(exp_fixes, hook=hook, fixed=fixed, failures=failures)

    provisioned = [_provisioned(row, room, fallback=fallback, config=config) for row, room in fixed.values()]
    table.write_results(provisioned=provisioned, failed=failures, now=now)
    pin_changed = sorted(fixed)
    report = {
        "checked": len(rows),
        "recreated": recreated,
        "pin_changed": pin_changed[:LISTED],
        "pin_changed_count": len(pin_changed),
        "exp_fixed": len(exp_fixes),
        "failures": {f.meeting_id: f.reason for f in failures[:LISTED]},
        "failed": len(failures),
        **find_orphans(table, [room.name for room in listing], now=now, ledger=ledger or MemoryLedger()),
    }
    log.info(
        "Reconciled %d meeting(s) with Daily: %d room(s) re-created, %d exp fixed, %d PIN(s) changed "
        "(re-send their invitations: %s), %d failed",
        report["checked"],
        report["recreated"],
        report["exp_fixed"],
        report["pin_changed_count"],
        pin_changed[:LISTED],
        report["failed"],
    )
    return report


Fixed = dict[str, tuple[MeetingRow, Room]]


def _compare(
    rows: list[MeetingRow], live: dict[str, Room]
) -> tuple[list[MeetingRow], Fixed, list[tuple[MeetingRow, Room]]]:
    """Split the rows: room missing; other PIN (Daily's is written back); other ``exp`` (fixed in Daily)."""
    missing: list[MeetingRow] = []
    fixed: Fixed = {}
    exp_fixes: list[tuple[MeetingRow, Room]] = []
    for row in rows:
        room = live.get(row.get("room_name"))
        if room is None:
            missing.append(row)
        elif room.pin != (row.pin or ""):
            fixed[row.meeting_id] = (row, room)
        elif row.get("room_exp") is not None and int(room.config.exp or 0) != int(row.get("room_exp")):
            exp_fixes.append((row, room))
    return missing, fixed, exp_fixes


def _recreate(
    missing: list[MeetingRow],
    *,
    hook: DailyHook,
    table: MeetingsTable,
    config: ProvisioningConfig,
    now: datetime,
    fixed: Fixed,
    failures: list[Failure],
) -> int:
    """Create the missing rooms again (same idempotent bulk path); return how many came back.

    A series' room is one room for all its occurrences: its spec comes from the whole series (the
    same rule the series chunks use), so it is re-created once, and every occurrence that named it
    gets the new room - never one meeting room per occurrence."""
    from airflow_provider_daily.bulk import BulkRoomCreator

    specs = _series_specs([row for row in missing if row.in_series], table=table, config=config, now=now)
    for row in missing:
        if row.in_series:
            continue
        try:
            specs[row.meeting_id] = (row.meeting().room_spec(config, now=now.timestamp()), [row])
        except BadMeetingRow as exc:
            failures.append(Failure(meeting_id=row.meeting_id, reason=f"reconcile: {exc.reason}", counts=False))
    for key, (spec, rows) in list(specs.items()):
        if spec is None:
            del specs[key]
            failures.extend(
                Failure(meeting_id=row.meeting_id, reason="reconcile: its series has no room to make now", counts=False)
                for row in rows
            )
    if not specs:
        return 0
    outcomes = BulkRoomCreator(hook=hook, batch_size=config.batch_size).ensure_rooms([s for s, _ in specs.values()])
    recreated = 0
    for spec, rows in specs.values():
        outcome = outcomes[spec.name]
        if outcome.ok and outcome.room is not None and outcome.room.pin:
            fixed.update({row.meeting_id: (row, outcome.room) for row in rows})
            recreated += 1
        else:
            failures.extend(
                Failure(meeting_id=row.meeting_id, reason=f"reconcile: {outcome.error}", counts=False) for row in rows
            )
    return recreated


def _series_specs(
    missing: list[MeetingRow], *, table: MeetingsTable, config: ProvisioningConfig, now: datetime
) -> dict[str, tuple[Any, list[MeetingRow]]]:
    """``series key -> (the series room's spec or None, the missing rows naming it)``."""
    from daily_dialin.provisioning.series import plan_series, row_key

    by_key: dict[str, list[MeetingRow]] = {}
    for row in missing:
        by_key.setdefault(row_key(row), []).append(row)
    specs: dict[str, tuple[Any, list[MeetingRow]]] = {}
    for key, rows in by_key.items():
        planned = plan_series(key, table.fetch_series(key, key), config, now, True)
        specs[f"series:{key}"] = (planned.spec, rows)
    return specs


def _fix_exp(
    exp_fixes: list[tuple[MeetingRow, Room]], *, hook: DailyHook, fixed: Fixed, failures: list[Failure]
) -> None:
    """Update only ``exp`` (never ``dialin``, so the PIN is not at risk); a PIN that changed anyway is fixed.

    An ``exp`` moved earlier to less than the margin from now is kept while the room is live
    (:meth:`DailyHook.live_exp`): such a room is logged and left for the next run (its row still
    differs), not failed."""
    for row, room in exp_fixes:
        exp, deferred = hook.live_exp(room.name, wanted=int(row.get("room_exp")), current=room.config.exp)
        if deferred is not None:
            log.warning("Meeting %s: reconcile keeps room %s's exp: %s", row.meeting_id, room.name, deferred)
            if exp == room.config.exp:
                continue
        try:
            updated = hook.update_room(room.name, properties={"exp": int(exp)})
        except DailyApiError as exc:
            failures.append(Failure(meeting_id=row.meeting_id, reason=f"reconcile: exp not fixed: {exc}", counts=False))
            continue
        if updated.pin != room.pin:
            fixed[row.meeting_id] = (row, updated)


def _provisioned(row: MeetingRow, room: Room, *, fallback: str | None, config: ProvisioningConfig) -> Provisioned:
    """What goes back into the row: Daily's room as it is now."""
    number = room.dialin_number(fallback=fallback)
    return Provisioned(
        meeting_id=row.meeting_id,
        room_name=room.name,
        room_url=room.url,
        pin=room.pin or "",
        number=number,
        dial_string=dial_string(number, room.pin or ""),
        room_exp=int(room.config.exp or row.get("room_exp") or 0),
        fingerprint=row.fingerprint(config),
    )


def verify(report: dict[str, Any], swept: dict[str, Any] | None = None) -> None:
    """Fail the reconcile run when a meeting could not be repaired (its reason is in last_error), or
    when orphans were due but not deleted (not approved, or Daily refused them)."""
    from daily_dialin.errors import ProvisioningFailed

    found = []
    if report["failed"]:
        ids = ", ".join(repr(i) for i in report["failures"])
        found.append(f"{report['failed']} meeting(s) could not be reconciled with Daily: {ids}")
    if swept and swept.get("held"):
        found.append(f"{swept['held']} orphaned room(s) of prefix {report.get('prefix')!r} kept: {swept['approval']}")
    if swept and swept.get("failed"):
        found.append(f"{swept['failed']} orphaned room(s) could not be deleted: {sorted(swept['failures'])[:20]}")
    if found:
        raise ProvisioningFailed("; ".join(found))


# -- orphans ------------------------------------------------------------------------------------
def is_ours(name: str, prefix: str) -> bool:
    """A room of this deployment: ``<prefix>-...`` (a meeting's) or ``<prefix>_...`` (a series')."""
    return name.startswith((f"{prefix}-", f"{prefix}_"))


class OrphanLedger(Protocol):
    """When each orphan was first seen (only rooms orphaned now are kept)."""

    def load(self) -> dict[str, datetime]: ...

    def save(self, first_seen: Mapping[str, datetime]) -> None: ...


@dataclass
class MemoryLedger:
    """A ledger in memory (tests; a run without a ledger never deletes an orphan: none is past its grace)."""

    first_seen: dict[str, datetime] = field(default_factory=dict)

    def load(self) -> dict[str, datetime]:
        return dict(self.first_seen)

    def save(self, first_seen: Mapping[str, datetime]) -> None:
        self.first_seen = dict(first_seen)


@dataclass(frozen=True)
class VariableLedger:
    """The ledger in an Airflow Variable (JSON ``{"first_seen": {room: ISO time}}``); only inside a task.
    An unreadable value is treated as empty (the grace starts again: deletions wait, never hurry)."""

    key: str

    @classmethod
    def for_config(cls, config: ProvisioningConfig) -> VariableLedger:
        return cls(key=f"daily_dialin_orphans__{config.daily_conn_id}__{config.room_name_prefix}")

    def load(self) -> dict[str, datetime]:
        from airflow.sdk import Variable

        raw = Variable.get(self.key, default=None)
        try:
            seen = json.loads(raw)["first_seen"] if raw else {}
            return {str(name): datetime.fromisoformat(when) for name, when in seen.items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("Variable %s is not an orphan ledger; starting the grace period again", self.key)
            return {}

    def save(self, first_seen: Mapping[str, datetime]) -> None:
        from airflow.sdk import Variable

        value = {"first_seen": {name: when.isoformat() for name, when in sorted(first_seen.items())}}
        Variable.set(self.key, json.dumps(value), description="Daily rooms without a row, first seen (reconcile)")


def find_orphans(table: MeetingsTable, listed: Sequence[str], *, now: datetime, ledger: OrphanLedger) -> dict[str, Any]:
    """The orphans among the ``listed`` room names, recorded in ``ledger``; the report's keys and
    the plan (``deletions``) of those orphaned for ``orphan_grace_minutes`` (none with
    ``delete_orphans: false``)."""
    config = table.config
    prefix = config.room_name_prefix
    ours = [name for name in listed if is_ours(name, prefix)]
    owned = table.owned_room_names() if ours else set()
    orphans = sorted(name for name in ours if name not in owned)
    known = ledger.load()
    first_seen = {name: known.get(name, now) for name in orphans}
    if first_seen or known:
        ledger.save(first_seen)
    grace = timedelta(minutes=config.orphan_grace_minutes)
    # due: orphaned for the whole grace period, seen by an earlier run (never on first sight)
    due = [name for name in orphans if name in known and now - first_seen[name] >= grace]
    if orphans:
        log.warning(
            "%d room(s) of prefix %r have no row (orphans, first %s); %d past the %d-minute grace period%s",
            len(orphans),
            prefix,
            orphans[:LISTED],
            len(due),
            config.orphan_grace_minutes,
            "" if config.delete_orphans else " (delete_orphans is off: reported only)",
        )
    rooms = [Candidate(room_name=name) for name in due[:ORPHANS_PER_RUN]] if config.delete_orphans else []
    plan = DeletionPlan.build(reason="orphan", rooms=rooms, live=len(ours), config=config)
    return {
        "prefix": prefix,
        "orphans": len(orphans),
        "orphan_rooms": orphans[:LISTED],
        "orphans_due": len(due),
        "deletions": plan.to_xcom(),
    }


def sweep_orphans(
    *,
    deletions: Mapping[str, Any],
    approval: Mapping[str, Any] | None = None,
    config_overrides: dict[str, Any] | None = None,
    ledger: OrphanLedger | None = None,
    force_live: bool = False,
    approving: bool = False,
) -> dict[str, Any]:
    """Delete the orphans of the plan once the gate allows it (:func:`.deletions.decide`).

    In the reconcile run (``approving`` false) only a plan whose verdict is ``auto`` is deleted;
    over the budget, or rejected, its orphans are kept and reported as ``waiting`` (the approval
    DAG decides; not a failure). In the approval DAG (``approving``), the person's ``approval``
    decides; a Reject or a timeout keeps them all (``held``: its run fails).

    Live rooms: an orphan with people in it (or whose presence is unknown) is kept unless
    ``force_live`` (a person's run parameter) and reported under ``deferred``; it stays in the
    ledger, so the next run tries again, until it is empty.

    Safety: the table is read again first, and a room some row names by now (re-inserted while the
    approval waited) is kept; only names under the prefix are sent; what a person approved is an
    upper bound. Idempotent: a room already gone counts as deleted. An outage stops the deleter:
    the deleted rooms leave the ledger first, then the error is raised."""
    plan = DeletionPlan.from_xcom(deletions)
    result: dict[str, Any] = {"deleted": 0, "held": 0, "failed": 0, "failures": {}, "kept": 0, "approval": None}
    result.update(deferred=0, deferred_rooms={})  # live orphans kept: "deferred: live (N participants, ...)"
    result["waiting"] = 0
    if not plan.count:
        return result
    if not approving and plan.verdict != "auto":
        log.warning("Orphaned rooms of prefix %r: %d kept: %s", plan.prefix, plan.count, plan.why_held)
        return {**result, "waiting": plan.count, "approval": plan.why_held}
    decision = decide(plan, approval)
    result["approval"] = decision.why
    if not decision.delete:
        log.error("Orphaned rooms of prefix %r: %s", plan.prefix, decision.why)
        return {**result, "held": plan.count}
    config = ProvisioningConfig.load(config_overrides)
    owned = MeetingsTable.from_config(config).owned_room_names()
    names = [name for name in plan.names() if is_ours(name, config.room_name_prefix) and name not in owned]
    results, error = _delete(config, names, force_live=force_live or plan.force_live)
    deleted = [name for name, reason in results.items() if reason is None]
    deferred = dict(getattr(results, "deferred", {}))
    refused = {name: reason for name, reason in results.items() if reason and name not in deferred}
    result["deferred"], result["deferred_rooms"] = len(deferred), dict(sorted(deferred.items())[:LISTED])
    _forget(ledger, deleted)
    log.info(
        "Orphaned rooms of prefix %r: %d deleted (%s), %d kept (a row names them again), %d deferred "
        "(people in them: a later run deletes them once empty), %d refused: %s",
        plan.prefix,
        len(deleted),
        decision.why,
        plan.count - len(names),
        len(deferred),
        len(refused),
        sorted(refused)[:LISTED],
    )
    if error is not None:
        raise error
    failures = dict(sorted(refused.items())[:LISTED])
    return {
        **result,
        "deleted": len(deleted),
        "failed": len(refused),
        "failures": failures,
        "kept": plan.count - len(names),
    }


def _delete(
    config: ProvisioningConfig, names: list[str], *, force_live: bool = False
) -> tuple[dict[str, str | None], Exception | None]:
    if not names:
        return {}, None
    from airflow_provider_daily.bulk import BulkRoomDeleter
    from airflow_provider_daily.errors import DailyBulkDeleteError
    from airflow_provider_daily.hooks.daily import DailyHook

    hook = DailyHook(daily_conn_id=config.daily_conn_id, deadline_seconds=config.chunk_deadline_seconds)
    try:
        return BulkRoomDeleter(hook=hook, batch_size=config.batch_size, force_live=force_live).delete(names), None
    except DailyBulkDeleteError as exc:
        return exc.results, exc


def _forget(ledger: OrphanLedger | None, names: Iterable[str]) -> None:
    if ledger is None:
        return
    seen = ledger.load()
    gone = [name for name in names if name in seen]
    if gone:
        for name in gone:
            seen.pop(name)
        ledger.save(seen)
