"""The orphan sweep of reconcile: rooms of this deployment that no row owns.

The reconcile listing names the rooms no row owns: every room of this deployment (its name starts
with ``room_name_prefix`` followed by ``-`` - one meeting's room - or ``_`` - a series' room) that
no row's ``room_name`` names (the row was deleted, or now names another room; a room several rows
share stays owned while any of them names it) and that is not the room a provisionable row without
``room_name`` would get (a create whose write-back was lost). Orphans are reported by name, with
the prefix, and deleted after ``orphan_grace_minutes`` (through the gate on mass deletion,
:mod:`.deletions`) - ``delete_orphans: false`` only reports them. Rooms outside the prefix are
never touched.

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

Hand-overs (typed, :mod:`.handover` style): :class:`Orphans` (what :func:`find_orphans` found,
part of reconcile's report) and :class:`SweepResult` (what :func:`sweep_orphans` did - also when an
outage stopped it: then it travels inside :class:`~daily_dialin.interrupted.Interrupted`).

May import: the provider (lazily), ``daily_dialin.hook``, ``daily_dialin.interrupted`` and
``daily_dialin.provisioning`` (config, handover, table, deletions); Airflow's Variable in the ledger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import Field

from daily_dialin.interrupted import Interrupted
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.deletions import Candidate, DeletionPlan, decide
from daily_dialin.provisioning.handover import LISTED, DeletionResult, Handover

if TYPE_CHECKING:
    from daily_dialin.provisioning.table import MeetingsTable

__all__ = [
    "ORPHANS_PER_RUN",
    "MemoryLedger",
    "OrphanLedger",
    "Orphans",
    "SweepResult",
    "VariableLedger",
    "find_orphans",
    "is_ours",
    "sweep_orphans",
]

log = logging.getLogger(__name__)
ORPHANS_PER_RUN = 2000  # orphans one run deletes at most (the rest: the next run)


def is_ours(name: str, prefix: str) -> bool:
    """A room of this deployment: ``<prefix>-...`` (a meeting's) or ``<prefix>_...`` (a series')."""
    return name.startswith((f"{prefix}-", f"{prefix}_"))


class Orphans(Handover):
    """What :func:`find_orphans` found: the orphans under ``prefix`` (the first :data:`LISTED` by
    name), those past their grace period, and the plan of their deletion (for the gate)."""

    prefix: str
    orphans: int = Field(default=0, ge=0, description="rooms of the prefix no row owns")
    orphan_rooms: list[str] = Field(default_factory=list, max_length=LISTED, description="the first, by name")
    orphans_due: int = Field(default=0, ge=0, description="orphaned for the whole grace period")
    deletions: DeletionPlan


class SweepResult(DeletionResult):
    """What :func:`sweep_orphans` did with the plan's orphans (``failures``: room -> reason;
    ``held``: rejected or timed out in the approval DAG)."""

    kept: int = Field(default=0, ge=0, description="a row names them again (re-inserted while the approval waited)")
    waiting: int = Field(default=0, ge=0, description="over the budget: the approval DAG decides (not a failure)")
    interrupted: str | None = Field(
        default=None, description="why the sweep stopped early (an outage): the counts are what it did before"
    )


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


def find_orphans(table: MeetingsTable, listed: Sequence[str], *, now: datetime, ledger: OrphanLedger) -> Orphans:
    """The orphans among the ``listed`` room names, recorded in ``ledger``, and the plan
    (``deletions``) of those orphaned for ``orphan_grace_minutes`` (none with ``delete_orphans: false``)."""
    config = table.config
    ours = [name for name in listed if is_ours(name, config.room_name_prefix)]
    owned = table.owned_room_names() if ours else set()
    orphans = sorted(name for name in ours if name not in owned)
    due = _record(ledger, orphans, now=now, grace=timedelta(minutes=config.orphan_grace_minutes))
    if orphans:
        log.warning(
            "%d room(s) of prefix %r have no row (orphans, first %s); %d past the %d-minute grace period%s",
            len(orphans),
            config.room_name_prefix,
            orphans[:LISTED],
            len(due),
            config.orphan_grace_minutes,
            "" if config.delete_orphans else " (delete_orphans is off: reported only)",
        )
    rooms = [Candidate(room_name=name) for name in due[:ORPHANS_PER_RUN]] if config.delete_orphans else []
    return Orphans(
        prefix=config.room_name_prefix,
        orphans=len(orphans),
        orphan_rooms=orphans[:LISTED],
        orphans_due=len(due),
        deletions=DeletionPlan.build(reason="orphan", rooms=rooms, live=len(ours), config=config),
    )


def _record(ledger: OrphanLedger, orphans: list[str], *, now: datetime, grace: timedelta) -> list[str]:
    """Keep the orphans (only them) in the ledger, first seen now unless known; return those due:
    orphaned for the whole grace period and seen by an earlier run (never on first sight)."""
    known = ledger.load()
    first_seen = {name: known.get(name, now) for name in orphans}
    if first_seen or known:
        ledger.save(first_seen)
    return [name for name in orphans if name in known and now - first_seen[name] >= grace]


def sweep_orphans(
    *,
    deletions: Mapping[str, Any] | DeletionPlan,
    approval: Mapping[str, Any] | None = None,
    config_overrides: dict[str, Any] | None = None,
    ledger: OrphanLedger | None = None,
    force_live: bool = False,
    approving: bool = False,
) -> SweepResult:
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
    the deleted rooms leave the ledger first, then :class:`~daily_dialin.interrupted.Interrupted`
    is raised with what was done (``interrupted`` says why) and the outage as its cause."""
    plan = DeletionPlan.from_xcom(deletions)
    if not plan.count:
        return SweepResult()
    held, why = _gate(plan, approval, approving=approving)
    if held is not None:
        return held
    return _sweep(
        plan, why, ProvisioningConfig.load(config_overrides), ledger, force_live=force_live or plan.force_live
    )


def _gate(plan: DeletionPlan, approval: Mapping[str, Any] | None, *, approving: bool) -> tuple[SweepResult | None, str]:
    """``(the result when nothing may be deleted, else None; the gate's verdict)``."""
    if not approving and plan.verdict != "auto":
        log.warning("Orphaned rooms of prefix %r: %d kept: %s", plan.prefix, plan.count, plan.why_held)
        return SweepResult(waiting=plan.count, approval=plan.why_held), plan.why_held or ""
    decision = decide(plan, approval)
    if not decision.delete:
        log.error("Orphaned rooms of prefix %r: %s", plan.prefix, decision.why)
        return SweepResult(held=plan.count, approval=decision.why), decision.why
    return None, decision.why


def _sweep(
    plan: DeletionPlan, why: str, config: ProvisioningConfig, ledger: OrphanLedger | None, *, force_live: bool
) -> SweepResult:
    """Delete the plan's orphans no row names by now; forget the deleted ones in the ledger."""
    from daily_dialin.provisioning.table import MeetingsTable

    owned = MeetingsTable.from_config(config).owned_room_names()
    names = [name for name in plan.names() if is_ours(name, config.room_name_prefix) and name not in owned]
    results, error = _delete(config, names, force_live=force_live)
    deleted, deferred, refused = _settled(results)
    _forget(ledger, deleted)
    log.info(
        "Orphaned rooms of prefix %r: %d deleted (%s), %d kept (a row names them again), %d deferred "
        "(people in them: a later run deletes them once empty), %d refused: %s",
        plan.prefix,
        len(deleted),
        why,
        plan.count - len(names),
        len(deferred),
        len(refused),
        sorted(refused)[:LISTED],
    )
    result = SweepResult(
        deleted=len(deleted),
        failed=len(refused),
        failures=dict(sorted(refused.items())[:LISTED]),
        kept=plan.count - len(names),
        approval=why,
        deferred=len(deferred),
        deferred_rooms=dict(sorted(deferred.items())[:LISTED]),
        interrupted=None if error is None else f"{type(error).__name__}: {error}",
    )
    if error is not None:
        raise Interrupted(result=result, cause=error, what="orphan sweep")
    return result


def _settled(results: Mapping[str, str | None]) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """The deleter's answer as ``(deleted, deferred: live rooms kept, refused by Daily)``."""
    deleted = [name for name, reason in results.items() if reason is None]
    deferred = dict(getattr(results, "deferred", {}))
    refused = {name: reason for name, reason in results.items() if reason and name not in deferred}
    return deleted, deferred, refused


def _delete(
    config: ProvisioningConfig, names: list[str], *, force_live: bool = False
) -> tuple[dict[str, str | None], Exception | None]:
    if not names:
        return {}, None
    from airflow_provider_daily.bulk import BulkRoomDeleter
    from airflow_provider_daily.errors import DailyBulkDeleteError
    from daily_dialin.hook import daily_hook

    hook = daily_hook(config, live_rooms=False)
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
