"""The approval DAG's steps (``<dag_id>_deletions``, wired in :mod:`daily_dialin.dags.gate`).

``pending_plan``   the plan the provisioning or reconcile run handed over (the ledger's pending
                   one); none: the run is skipped. Logs the count (a notifier's signal, with the
                   ``deletions-waiting`` asset the task emits).
``delete_approved`` what the person decided (:func:`.deletions.decide`): approved, the rooms of the
                   plan that are still to delete now are deleted (cancelled meetings' and one-offs'
                   own rooms: :func:`.retiring.retire_approved`; orphans: :func:`.reconcile.sweep_orphans`);
                   rejected or timed out, nothing. Always settles the ledger: the pending plan is
                   cleared, and a person's Reject is remembered (nobody is asked about the same rooms
                   again until the set grows, or ``redecide_deletions``); a timeout is not remembered
                   (nobody decided: a later run asks again).
``verify``         fails the approval's run on a Reject, a timeout or rooms Daily refused.

May import: ``daily_dialin.provisioning`` (config, deletions, ledger, retiring, reconcile), ``daily_dialin.errors``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.deletions import DeletionPlan, rejection
from daily_dialin.provisioning.ledger import DeletionLedger, Store

__all__ = ["delete_approved", "pending_plan", "verify"]

log = logging.getLogger(__name__)


def pending_plan(
    *, reason: str, config_overrides: dict[str, Any] | None = None, store: Store | None = None
) -> dict[str, Any]:
    """The pending plan (JSON); raises ``AirflowSkipException`` when none waits."""
    from airflow.sdk.exceptions import AirflowSkipException

    config = ProvisioningConfig.load(config_overrides)
    pending = DeletionLedger.for_config(config, store).decisions(reason).pending
    if pending is None:
        raise AirflowSkipException(f"no {reason} deletion waits for approval")
    plan = DeletionPlan.from_xcom(pending.plan)
    log.warning(
        "Approval needed: %d Daily room(s) to delete (%s, prefix %r), %s deleted without approval in the last %d "
        "hour(s) (limit %d); %d live room(s) held back. Answer the task approve_deletions within %d minutes.",
        plan.count,
        plan.reason,
        plan.prefix,
        "unknown" if plan.window_total is None else plan.window_total,
        plan.window_hours,
        plan.limit,
        len(plan.deferred),
        plan.timeout_minutes,
    )
    return pending.plan


def delete_approved(
    *,
    reason: str,
    deletions: dict[str, Any] | None,
    approval: dict[str, Any] | None,
    config_overrides: dict[str, Any] | None = None,
    store: Store | None = None,
    orphan_ledger: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Carry out the person's answer on the plan and settle the ledger (see the module docstring)."""
    now = now or datetime.now(UTC)
    config = ProvisioningConfig.load(config_overrides)
    ledger = DeletionLedger.for_config(config, store)
    if not deletions:
        return {"deleted": 0, "held": 0, "failed": 0, "approval": "nothing was waiting for approval"}
    plan = DeletionPlan.from_xcom(deletions)
    rejected = rejection(plan, approval, now=now)
    held = None
    if rejected is not None:
        held = (
            f"deletion rejected by {rejected.by} at {now:%Y-%m-%d %H:%M} UTC; run with redecide_deletions to ask again"
        )
    # settled first: a provisioning run judging from now on sees the Reject (or nothing pending),
    # so its rows' reasons agree with the ones written here
    ledger.settle(reason, rejected=rejected)
    if reason == "cancelled":
        from daily_dialin.provisioning.retiring import retire_approved

        return retire_approved(config=config, deletions=deletions, approval=approval, held_reason=held)
    return _orphans(config, deletions, approval, config_overrides, orphan_ledger)


def _orphans(
    config: ProvisioningConfig,
    deletions: dict[str, Any],
    approval: dict[str, Any] | None,
    config_overrides: dict[str, Any] | None,
    orphan_ledger: Any,
) -> dict[str, Any]:
    from daily_dialin.interrupted import Interrupted
    from daily_dialin.provisioning.reconcile import VariableLedger, sweep_orphans

    ledger = orphan_ledger if orphan_ledger is not None else VariableLedger.for_config(config)
    try:
        return sweep_orphans(
            deletions=deletions, approval=approval, config_overrides=config_overrides, ledger=ledger, approving=True
        ).to_xcom()
    except Interrupted as interrupted:  # what was deleted has left the ledger; the outage decides the retry
        raise interrupted.cause from interrupted


def verify(result: dict[str, Any]) -> None:
    """Fail the approval's run when rooms were not deleted: rejected, timed out, or refused by Daily."""
    from daily_dialin.errors import ProvisioningFailed

    found = []
    if result.get("held"):
        found.append(f"{result['held']} room(s) kept: {result.get('approval')}")
    if result.get("failed"):
        found.append(f"{result['failed']} room(s) could not be deleted: {sorted(result.get('failures') or {})[:20]}")
    if found:
        raise ProvisioningFailed("; ".join(found))
