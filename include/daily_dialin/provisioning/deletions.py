"""The gate on mass deletion: which rooms a run may delete on its own, and which wait for a person.

Both ways a run deletes rooms go through here: ``retire_cancelled`` (rooms of cancelled meetings,
in ``daily_dialin_provisioning``) and the orphan sweep (rooms no row owns, in
``daily_dialin_reconcile``). Each is split in two tasks with the gate between them::

    deletions_plan  ->  approve_deletions (only when over the limit)  ->  delete

* ``deletions_plan`` builds a :class:`DeletionPlan` - every room it would delete, why
  (``cancelled`` or ``orphan``), how many rooms are live - and branches: at or under the limit
  straight to the delete task (``approve_deletions`` is skipped, so no run leaves a waiting
  Human-in-the-loop task behind); over it, to ``approve_deletions`` first.
* ``approve_deletions`` (:class:`DeletionApproval`, a ``HITLOperator`` with ``Approve`` /
  ``Reject``) shows the count, the share of live rooms, the reason and the first names, and waits
  ``approval_timeout_minutes``. No answer in time is ``Reject`` (its default).
* the delete task reads the plan and the answer (:func:`decide`). Rejected or timed out: nothing is
  deleted, every room of the plan is reported as not deleted, and the run fails through its
  ``verify`` task - never green and silent. Approved (or under the limit): only rooms that are in
  the plan *and* still deletable now are deleted - what a person approved is an upper bound, and a
  row re-scheduled (or re-inserted) while the approval waited keeps its room.

**The limit** (:func:`approval_limit`): ``min(max_deletions_without_approval,
max(3, floor(max_deletion_share_without_approval * live)))`` - 25 rooms or 10 % of the live rooms,
whichever is smaller, but the share alone never gates 3 rooms or fewer. A fixed count alone is
too lax on a small deployment (25 of 30 rooms is a disaster) and a share alone too lax on a big one
(10 % of 10,000 rooms is 1,000 rooms deleted without a look); the floor keeps a deployment with a
handful of rooms from asking a person about every cancellation. A user's count below 3 wins
(``0``: every deletion waits). Deleting is the one thing these DAGs do that cannot be undone (a
re-created room gets a new PIN: every invitation sent is wrong), hence a person for the big ones.

"Live rooms": for the orphan sweep, this deployment's rooms in Daily's listing (it lists them
anyway); for cancelled meetings, the rooms the table believes live (distinct ``room_name`` of
provisioned rows: one SQL count, no listing).

Only room names and meeting ids travel (through XCom, into the approval's text): never a PIN.

May import: pydantic, :mod:`.config`, :mod:`.handover`, :mod:`.ledger`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.handover import LISTED, Handover
from daily_dialin.provisioning.ledger import Decisions, DeletionLedger, Rejected

__all__ = [
    "APPROVE",
    "DELETION_FLOOR",
    "PLAN_KEY",
    "REJECT",
    "Candidate",
    "Decision",
    "DeletionPlan",
    "approval_limit",
    "approval_text",
    "decide",
    "gate_branch",
    "judge",
    "rejection",
    "settle",
]

log = logging.getLogger(__name__)

DELETION_FLOOR = 3  # the share alone never gates this many rooms or fewer
APPROVE = "Approve"
REJECT = "Reject"
PLAN_KEY = "deletions_plan"  # the XCom key the plan travels under (the branch returns task ids)
SHOWN = 20  # names the approval text lists

Reason = Literal["cancelled", "orphan"]
Verdict = Literal["auto", "ask", "pending", "rejected"]


def approval_limit(*, live: int, max_count: int, max_share: float) -> int:
    """How many rooms one run may delete without approval (see the module docstring)."""
    by_share = max(DELETION_FLOOR, math.floor(max_share * max(live, 0) + 1e-9))
    return max(0, min(max_count, by_share))


class Candidate(Handover):
    """One room a run would delete: its name and the rows it is deleted for (none: an orphan)."""

    room_name: str
    meeting_ids: list[str] = Field(default_factory=list)
    joined: bool = Field(default=False, description="the own room of a one-off that joined a series")


class DeletionPlan(Handover):
    """What a run would delete, and whether a person must approve it first."""

    reason: Reason
    prefix: str
    rooms: list[Candidate] = Field(default_factory=list)
    live: int = Field(default=0, ge=0, description="live rooms the share is taken of")
    limit: int = Field(default=0, ge=0, description="rooms this run may delete without approval")
    timeout_minutes: int = Field(default=24 * 60, ge=1)
    window_hours: int = Field(default=24, ge=1, description="the rolling window of the deletion budget")
    window_total: int | None = Field(
        default=0, description="rooms deleted without approval within the window (None: unknown, so ask)"
    )
    deferred: list[str] = Field(
        default_factory=list, max_length=LISTED, description="live rooms held back (people in them), not in rooms"
    )
    force_live: bool = Field(
        default=False,
        description="a person's force_live_deletions: rooms with people in them are deleted too (ejecting them)",
    )
    verdict: Verdict = Field(default="auto", description="auto: delete now; ask/pending: a person decides; rejected")
    why_held: str | None = Field(default=None, description="what the rows of held rooms are told")

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any] | DeletionPlan) -> DeletionPlan:
        """Also a plan stored by an earlier version (the ledger keeps the pending one): its
        ``noted`` list, never filled, is dropped."""
        if isinstance(data, Mapping) and "noted" in data:
            data = {key: value for key, value in data.items() if key != "noted"}
        return cls.model_validate(data)

    @classmethod
    def build(
        cls,
        *,
        reason: Reason,
        rooms: Sequence[Candidate],
        live: int,
        config: ProvisioningConfig,
    ) -> DeletionPlan:
        limit = approval_limit(
            live=max(live, len(rooms)),
            max_count=config.max_deletions_without_approval,
            max_share=config.max_deletion_share_without_approval,
        )
        plan = cls(
            reason=reason,
            prefix=config.room_name_prefix,
            rooms=list(rooms),
            live=max(live, len(rooms)),
            limit=limit,
            timeout_minutes=config.approval_timeout_minutes,
            window_hours=config.deletion_budget_window_hours,
        )
        return plan.model_copy(update={"verdict": "ask" if plan.gated else "auto"})

    @property
    def count(self) -> int:
        return len(self.rooms)

    @property
    def gated(self) -> bool:
        """A person must approve: the rooms deleted without approval within the window plus these
        would pass the limit (or the window's total is unknown: the budget ledger was restarted)."""
        if not self.count:
            return False
        return self.window_total is None or self.window_total + self.count > self.limit

    @property
    def digest(self) -> str:
        from daily_dialin.provisioning.ledger import names_digest

        return names_digest(self.names())

    @property
    def share(self) -> float:
        return self.count / self.live if self.live else 0.0

    def names(self) -> list[str]:
        return [room.room_name for room in self.rooms]

    def first(self, n: int = SHOWN) -> list[str]:
        """The first ``n`` rooms for people: ``name`` or ``name (meeting ids)``."""
        shown = []
        for room in self.rooms[:n]:
            ids = ", ".join(room.meeting_ids[:3]) + (" ..." if len(room.meeting_ids) > 3 else "")
            shown.append(f"{room.room_name} ({ids})" if ids else room.room_name)
        return shown


def approval_text(plan: DeletionPlan) -> tuple[str, str]:
    """The approval's subject and body (Markdown): count, share of live rooms, reason, first rooms."""
    orphans = f"orphans (no row names them, prefix {plan.prefix!r})"
    what = "cancelled meetings" if plan.reason == "cancelled" else orphans
    joined = sum(1 for room in plan.rooms if room.joined)
    if joined:
        what += f" ({joined} of them: the own rooms of one-off meetings that joined a series; their PINs change)"
    subject = f"Delete {plan.count} Daily rooms ({plan.share:.0%} of {plan.live} live)?"
    lines = [
        f"This run would delete **{plan.count}** Daily rooms: **{plan.share:.1%}** of the {plan.live} live rooms "
        f"of prefix `{plan.prefix}`.",
        "",
        f"**The budget:** {_window_text(plan)}; at most {plan.limit} rooms are deleted without approval "
        f"within {plan.window_hours} hours.",
        "",
        f"**Reason:** {what}.",
        "",
        *_deferred_text(plan),
        "A deleted room cannot be restored: a room created again gets a new PIN, and every invitation sent "
        "for it is wrong. **Reject** (or no answer within "
        f"{plan.timeout_minutes} minutes) deletes nothing and fails this approval's run; a Reject is "
        "remembered: nobody is asked about these rooms again until more rooms are to be deleted, or a run "
        "is triggered with `redecide_deletions`.",
        "",
        f"First {min(plan.count, SHOWN)} of {plan.count}:",
        "",
        *(f"* `{line}`" for line in plan.first()),
    ]
    return subject, "\n".join(lines)


def _window_text(plan: DeletionPlan) -> str:
    if plan.window_total is None:
        return (
            f"unknown: the budget ledger was unreadable and restarted, so every deletion asks for "
            f"{plan.window_hours} hours"
        )
    return (
        f"**{plan.window_total}** room(s) deleted without approval in the last {plan.window_hours} hours; "
        f"with these, **{plan.window_total + plan.count}**"
    )


def _deferred_text(plan: DeletionPlan) -> list[str]:
    if plan.force_live:  # a person asked for it on the run: say so where the next person decides
        return ["**Forced:** rooms with people in them are deleted too - everyone in them is cut off.", ""]
    if not plan.deferred:
        return ["**Live rooms held back:** none.", ""]
    shown = ", ".join(f"`{name}`" for name in plan.deferred[:SHOWN])
    return [f"**Live rooms held back** (people in them; not part of this deletion): {shown}", ""]


class Decision(Handover):
    """What the delete task may do with a plan."""

    delete: bool
    why: str


def _answered(answer: Mapping[str, Any] | None) -> tuple[list[Any], Any]:
    """The approval's answer: the options chosen, and who chose them (``None``: nobody - a timeout)."""
    chosen = list((answer or {}).get("chosen_options") or [])
    user = (answer or {}).get("responded_by_user") or {}
    who = (user.get("name") or user.get("id")) if isinstance(user, Mapping) else None
    return chosen, who


def decide(plan: DeletionPlan, answer: Mapping[str, Any] | None) -> Decision:
    """The delete task's verdict from the plan and the approval's answer (its XCom; ``None``: none).

    Under the limit: delete (no approval was asked). Over it: delete only if a person chose
    ``Approve``; ``Reject``, the timeout's default (``Reject`` with no user) or no answer at all
    delete nothing."""
    if plan.verdict == "auto":
        return Decision(delete=True, why=f"automatic: {plan.count} room(s), limit {plan.limit}")
    chosen, who = _answered(answer)
    if chosen == [APPROVE]:
        return Decision(delete=True, why=f"approved by {who or 'a user'}")
    if answer is None:
        why = "no approval was given (the approval task did not answer)"
    elif not who:
        why = f"not approved within {plan.timeout_minutes} minutes (timed out)"
    else:
        why = f"rejected by {who}"
    return Decision(delete=False, why=f"mass deletion of {plan.count} rooms {why}: nothing deleted")


def gate_branch(plan: DeletionPlan, *, approve_task: str, delete_task: str) -> list[str]:
    """The branch's choice: the delete task alone, or the approval first."""
    return [approve_task, delete_task] if plan.verdict == "ask" and plan.count else [delete_task]


# -- the budget and the remembered decisions (the ledger: :mod:`.ledger`) ------------------------
def judge(plan: DeletionPlan, decisions: Decisions, *, now: datetime, approval_dag: str | None = None) -> DeletionPlan:
    """The plan's verdict, given the window's total (already on the plan) and the decisions on record.

    * nothing to delete, or within the budget: ``auto``;
    * every room in a set a person rejected: ``rejected`` (nobody asked again; the set growing by
      one room asks again about all of them, even within the budget: a rejected room is never
      deleted without a person);
    * over the budget while another approval waits (not stale): ``pending`` - one waiting approval
      at a time, its rooms and the new ones wait;
    * over the budget: ``ask`` - the plan goes to the approval DAG."""
    rejected = decisions.rejected
    names = set(plan.names())
    touched = names & set(rejected.rooms) if rejected is not None else set()
    if touched and rejected is not None and names <= set(rejected.rooms):
        by = rejected.by or "a person"
        why = f"deletion rejected by {by} at {rejected.at:%Y-%m-%d %H:%M} UTC; run with redecide_deletions to ask again"
        return plan.model_copy(update={"verdict": "rejected", "why_held": why})
    if not plan.gated and not touched:  # a rejected room is never deleted without a person
        return plan.model_copy(update={"verdict": "auto", "why_held": None})
    return _waiting(plan, decisions.pending, now=now, approval_dag=approval_dag)


def _waiting(plan: DeletionPlan, pending: Any, *, now: datetime, approval_dag: str | None) -> DeletionPlan:
    """Over the budget: ``pending`` while another approval waits (not stale), else ``ask``."""
    where = f" (DAG {approval_dag})" if approval_dag else ""
    if pending is not None and pending.stale_at > now:
        why = f"waiting for a person's approval{where}, asked at {pending.requested_at:%Y-%m-%d %H:%M} UTC"
        return plan.model_copy(update={"verdict": "pending", "why_held": why})
    total = "unknown" if plan.window_total is None else str(plan.window_total + plan.count)
    why = (
        f"waiting for a person's approval{where}: {plan.count} room(s) to delete, {total} without approval "
        f"in {plan.window_hours} h, limit {plan.limit}"
    )
    return plan.model_copy(update={"verdict": "ask", "why_held": why})


def settle(
    plan: DeletionPlan,
    ledger: DeletionLedger,
    *,
    now: datetime,
    redecide: bool = False,
    approval_dag: str | None = None,
) -> DeletionPlan:
    """Judge a run's plan against the ledger and record what follows: an automatic deletion is
    spent from the budget (counted now: a room that then fails to go errs the safe way), a plan
    over the budget becomes the pending one (the approval DAG asks), ``redecide`` forgets a Reject."""
    if redecide:
        ledger.forget_rejection(plan.reason)
    if not plan.count:  # nothing to delete (most runs): the ledger is not read
        return plan.model_copy(update={"verdict": "auto", "why_held": None})
    window = ledger.window(now)
    plan = plan.model_copy(update={"window_total": window.total, "window_hours": window.hours})
    plan = judge(plan, ledger.decisions(plan.reason), now=now, approval_dag=approval_dag)
    if plan.verdict == "auto":
        ledger.spend(plan.reason, plan.count, now)
    elif plan.verdict == "ask":
        ledger.request(
            plan.reason, plan=plan.to_xcom(), digest=plan.digest, now=now, timeout_minutes=plan.timeout_minutes
        )
        log.warning(
            "Deletions waiting for a person: %d room(s) (%s) handed to %s (window total %s of limit %d)",
            plan.count,
            plan.reason,
            approval_dag or "the approval DAG",
            "unknown" if plan.window_total is None else plan.window_total + plan.count,
            plan.limit,
        )
    elif plan.verdict in ("pending", "rejected"):
        log.warning("Deletions held: %d room(s) (%s): %s", plan.count, plan.reason, plan.why_held)
    return plan


def rejection(plan: DeletionPlan, answer: Mapping[str, Any] | None, *, now: datetime) -> Rejected | None:
    """What a person's Reject leaves in the ledger (``None``: approved, or nobody answered - a timeout
    is not a decision: a later run asks again)."""
    chosen, who = _answered(answer)
    if chosen != [REJECT] or not who:
        return None
    return Rejected(digest=plan.digest, rooms=plan.names(), at=now, by=str(who))
