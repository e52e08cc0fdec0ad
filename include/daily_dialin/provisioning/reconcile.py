"""Reconcile the meetings table with Daily: what the table says must be what Daily has.

For every provisioned meeting that is not over, compare its row with the room Daily lists:

* **room missing** (deleted in Daily, expired early): create it again through the one path that
  creates rooms (:func:`.creating.ensure_rooms`, idempotent: a room that exists by then is reused).
  It gets a new PIN - reported, so invitations can be re-sent;
* **other PIN** than the table's: Daily's PIN is the one that works - write it to the table,
  report it;
* **other ``exp``** than the table's: update the room's ``exp`` only (never ``dialin``, so the
  PIN is not at risk), then check that the PIN did not change.

One listing of the domain's rooms (100 per call) instead of one GET per meeting; creates and
updates go through the paced hook. Only ids and counts are returned: PINs stay in the table.
What goes back into a row is built by the one builder, :func:`.recording.provisioned_for`.

Rows are read as :class:`daily_dialin.rows.MeetingRow` (exact ids, the stored PIN, the meeting and
its fingerprint by the rules provisioning uses; the series a row is in by its one rule).

**Idempotency.** A run that stops part-way (an outage outlasting the deadline) writes back every
room it re-created before it fails (:class:`~daily_dialin.interrupted.Interrupted` carries the
report so far); the next run lists again and finds those rooms in place - nothing is made twice.

**The orphan sweep** (:mod:`.orphans`, re-exported here): the same listing names the rooms no row
owns; they are reported, and deleted after ``orphan_grace_minutes`` through the gate on mass
deletion. Why a ledger of when each was first seen, and why two deployments on one domain need
distinct prefixes: see that module.

Hand-overs (typed, :mod:`.handover` style): :class:`ReconcileReport` (``reconcile`` -> the gate and
``verify``), :class:`~.orphans.SweepResult` (``delete_orphans`` -> ``verify``).

May import: the provider, ``daily_dialin.errors``, ``daily_dialin.hook``, ``daily_dialin.interrupted``,
``daily_dialin.rows`` and ``daily_dialin.provisioning`` (config, creating, handover, recording,
series, table, deletions, orphans).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from airflow_provider_daily.errors import DailyApiError
from airflow_provider_daily.models import Room
from daily_dialin.hook import daily_hook
from daily_dialin.interrupted import Interrupted
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.handover import LISTED
from daily_dialin.provisioning.orphans import (
    ORPHANS_PER_RUN,
    MemoryLedger,
    OrphanLedger,
    Orphans,
    SweepResult,
    VariableLedger,
    find_orphans,
    is_ours,
    sweep_orphans,
)
from daily_dialin.provisioning.recording import Failure, provisioned_for
from daily_dialin.provisioning.table import MeetingsTable
from daily_dialin.rows import MeetingRow

if TYPE_CHECKING:
    from airflow_provider_daily.hooks.daily import DailyHook
    from airflow_provider_daily.models import RoomCreate

__all__ = [
    "LISTED",
    "ORPHANS_PER_RUN",
    "MemoryLedger",
    "OrphanLedger",
    "Orphans",
    "ReconcileReport",
    "SweepResult",
    "VariableLedger",
    "find_orphans",
    "is_ours",
    "reconcile",
    "sweep_orphans",
    "verify",
]

log = logging.getLogger(__name__)


class ReconcileReport(Orphans):
    """What a reconcile run found and repaired (ids and counts only), and the orphans it found."""

    checked: int = Field(default=0, ge=0, description="provisioned meetings not over, compared with Daily")
    recreated: int = Field(default=0, ge=0, description="rooms created again (a series' room counts once)")
    pin_changed: list[str] = Field(default_factory=list, max_length=LISTED, description="the first, by id")
    pin_changed_count: int = Field(default=0, ge=0, description="meetings with another PIN: re-send invitations")
    exp_fixed: int = Field(default=0, ge=0)
    failures: dict[str, str] = Field(default_factory=dict, description="the first LISTED: meeting id -> reason")
    failed: int = Field(default=0, ge=0)
    interrupted: str | None = Field(default=None, description="why the run stopped early (an outage)")


@dataclass
class _Repairs:
    """What one run repairs: rows whose room is written back (``fixed``: by meeting id, with the
    room as Daily has it now), failures, rooms re-created, ``exp`` fixes, the error that stopped it."""

    fixed: dict[str, tuple[MeetingRow, Room]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    recreated: int = 0
    exp_fixed: int = 0
    error: Exception | None = None

    def fail(self, rows: list[MeetingRow], reason: str) -> None:
        self.failures.extend(
            Failure(meeting_id=row.meeting_id, reason=f"reconcile: {reason}", counts=False) for row in rows
        )

    def report(self, *, checked: int, orphans: Orphans) -> ReconcileReport:
        pin_changed = sorted(self.fixed)
        return ReconcileReport(
            **dict(orphans),
            checked=checked,
            recreated=self.recreated,
            pin_changed=pin_changed[:LISTED],
            pin_changed_count=len(pin_changed),
            exp_fixed=self.exp_fixed,
            failures={f.meeting_id: f.reason for f in self.failures[:LISTED]},
            failed=len(self.failures),
            interrupted=None if self.error is None else f"{type(self.error).__name__}: {self.error}",
        )


def reconcile(
    *,
    config_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
    ledger: OrphanLedger | None = None,
) -> ReconcileReport:
    """Compare every live provisioned meeting with Daily, repair what differs, report PIN changes;
    find the orphans (``orphans``, ``orphan_rooms``) and plan the deletion of those past their grace
    period (``deletions``: a :class:`~.deletions.DeletionPlan`, for the gate and :func:`sweep_orphans`).
    ``ledger``: when each orphan was first seen (default: in memory, i.e. never past the grace).

    An outage while re-creating rooms: what was done is written back, then
    :class:`~daily_dialin.interrupted.Interrupted` is raised with the report so far."""
    now = now or datetime.now(UTC)
    config = ProvisioningConfig.load(config_overrides)
    table = MeetingsTable.from_config(config)
    table.check_columns()
    rows = table.provisioned_rows(now)
    hook = daily_hook(config)
    listing = list(hook.iter_rooms())  # first: a room some row names by the time the table is read is owned
    repairs = _repair(rows, {room.name: room for room in listing}, hook=hook, table=table, config=config, now=now)
    fallback = hook.settings.default_dialin_number if rows else None
    provisioned = [
        provisioned_for(row, room, room_name=room.name, exp=_exp(row, room), fallback=fallback, config=config)
        for row, room in repairs.fixed.values()
    ]
    table.write_results(provisioned=provisioned, failed=repairs.failures, now=now)
    orphans = find_orphans(table, [room.name for room in listing], now=now, ledger=ledger or MemoryLedger())
    report = repairs.report(checked=len(rows), orphans=orphans)
    log.info(
        "Reconciled %d meeting(s) with Daily: %d room(s) re-created, %d exp fixed, %d PIN(s) changed "
        "(re-send their invitations: %s), %d failed",
        report.checked,
        report.recreated,
        report.exp_fixed,
        report.pin_changed_count,
        report.pin_changed,
        report.failed,
    )
    if repairs.error is not None:
        raise Interrupted(result=report, cause=repairs.error, what="reconcile")
    return report


def _exp(row: MeetingRow, room: Room) -> int:
    """The room's ``exp`` as Daily has it (the row's when Daily's answer has none)."""
    return int(room.config.exp or row.get("room_exp") or 0)


def _repair(
    rows: list[MeetingRow],
    live: Mapping[str, Room],
    *,
    hook: DailyHook,
    table: MeetingsTable,
    config: ProvisioningConfig,
    now: datetime,
) -> _Repairs:
    """Split the rows - room missing; other PIN (Daily's is written back); other ``exp`` (fixed in
    Daily) - and repair them."""
    repairs = _Repairs()
    missing: list[MeetingRow] = []
    exp_fixes: list[tuple[MeetingRow, Room]] = []
    for row in rows:
        room = live.get(row.get("room_name"))
        if room is None:
            missing.append(row)
        elif room.pin != (row.pin or ""):
            repairs.fixed[row.meeting_id] = (row, room)
        elif row.get("room_exp") is not None and int(room.config.exp or 0) != int(row.get("room_exp")):
            exp_fixes.append((row, room))
    repairs.exp_fixed = len(exp_fixes)
    _recreate(missing, table=table, config=config, now=now, repairs=repairs)
    _fix_exp(exp_fixes, hook=hook, repairs=repairs)
    return repairs


def _recreate(
    missing: list[MeetingRow], *, table: MeetingsTable, config: ProvisioningConfig, now: datetime, repairs: _Repairs
) -> None:
    """Create the missing rooms again through the one creating path (:func:`.creating.ensure_rooms`:
    idempotent, a room that exists by now is reused); count how many came back.

    A series' room is one room for all its occurrences: its spec comes from the whole series (the
    same rule the series chunks use), so it is re-created once, and every occurrence that named it
    gets the new room - never one meeting room per occurrence."""
    from daily_dialin.provisioning.creating import ensure_rooms

    specs = _missing_specs(missing, table=table, config=config, now=now, repairs=repairs)
    if not specs:
        return
    ensured = ensure_rooms(specs=[spec for spec, _ in specs.values()], config=config, label="reconcile")
    repairs.error = ensured.error
    for spec, rows in specs.values():
        outcome = ensured.outcomes.get(spec.name)
        room = getattr(outcome, "room", None) if outcome is not None and outcome.ok else None
        if room is not None and room.pin:
            repairs.fixed.update({row.meeting_id: (row, room) for row in rows})
            repairs.recreated += 1
        else:
            repairs.fail(rows, str(outcome.error) if outcome is not None else f"not done: {ensured.error}")


def _missing_specs(
    missing: list[MeetingRow], *, table: MeetingsTable, config: ProvisioningConfig, now: datetime, repairs: _Repairs
) -> dict[str, tuple[RoomCreate, list[MeetingRow]]]:
    """``group -> (its room's spec, the missing rows naming it)``, planned as provisioning plans a
    group (:mod:`.groups`): a one-off meeting's own room, or a series' room from all its rows (the
    row model's one series rule); a group with no room to make now fails."""
    from daily_dialin.provisioning.groups import ONE_OFF
    from daily_dialin.provisioning.series import plan_series

    one_offs, series = _groups(missing, repairs)
    specs: dict[str, tuple[RoomCreate, list[MeetingRow]]] = {}
    for key, rows in series.items():
        spec = plan_series(key, table.fetch_series(key, key), config, now, True).spec
        if spec is None:
            repairs.fail(rows, "its series has no room to make now")
        else:
            specs[f"series:{key}"] = (spec, rows)
    for group in ONE_OFF.groups(one_offs, config):
        spec, member = group.plan(config, now), group.members[0]
        if spec is None:
            repairs.fail([member.row], member.failure.reason if member.failure else "no room to make now")
        else:
            specs[group.key] = (spec, [member.row])
    return specs


def _groups(rows: list[MeetingRow], repairs: _Repairs) -> tuple[list[MeetingRow], dict[str, list[MeetingRow]]]:
    """The one-off meetings, and the series' rows by series key (a ``series_id`` naming no series fails)."""
    one_offs: list[MeetingRow] = []
    series: dict[str, list[MeetingRow]] = {}
    for row in rows:
        if row.series_problem is not None:
            repairs.fail([row], row.series_problem)
        elif row.series_key is None:
            one_offs.append(row)
        else:
            series.setdefault(row.series_key, []).append(row)
    return one_offs, series


def _fix_exp(exp_fixes: list[tuple[MeetingRow, Room]], *, hook: DailyHook, repairs: _Repairs) -> None:
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
            repairs.fail([row], f"exp not fixed: {exc}")
            continue
        if updated.pin != room.pin:
            repairs.fixed[row.meeting_id] = (row, updated)


def verify(report: ReconcileReport | Mapping[str, Any] | None, swept: SweepResult | Mapping[str, Any] | None) -> None:
    """Fail the reconcile run when a meeting could not be repaired (its reason is in last_error),
    when orphans were due but not deleted (not approved, or Daily refused them), or when a step
    stopped early or handed over nothing (``None``: its task failed) - after the rest was done."""
    from daily_dialin.errors import ProvisioningFailed

    found = _report_problems(report)
    prefix = report.get("prefix") if isinstance(report, Mapping) else getattr(report, "prefix", None)
    found += _sweep_problems(swept, prefix)
    if found:
        raise ProvisioningFailed("; ".join(found))


def _report_problems(report: ReconcileReport | Mapping[str, Any] | None) -> list[str]:
    if report is None:
        return ["reconcile handed over nothing (its task failed before it had a report)"]
    report = ReconcileReport.from_xcom(report)
    found = []
    if report.failed:
        ids = ", ".join(repr(i) for i in report.failures)
        found.append(f"{report.failed} meeting(s) could not be reconciled with Daily: {ids}")
    if report.interrupted:
        found.append(f"reconcile stopped early: {report.interrupted}")
    return found


def _sweep_problems(swept: SweepResult | Mapping[str, Any] | None, prefix: str | None) -> list[str]:
    if swept is None:
        return ["the orphan sweep handed over nothing (its task failed before it had a result)"]
    swept = SweepResult.from_xcom(swept)
    found = []
    if swept.held:
        found.append(f"{swept.held} orphaned room(s) of prefix {prefix!r} kept: {swept.approval}")
    if swept.failed:
        found.append(f"{swept.failed} orphaned room(s) could not be deleted: {sorted(swept.failures)[:20]}")
    if swept.interrupted:
        found.append(f"the orphan sweep stopped early after {swept.deleted} deletion(s): {swept.interrupted}")
    return found
