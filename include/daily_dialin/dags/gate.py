"""The gate on mass deletion, as tasks: the plan's branch and the approval a person answers.

Used by the provisioning DAG (rooms of cancelled meetings) and the reconcile DAG (orphans)::

    deletions_plan  ->  approve_deletions (only when over the limit)  ->  <the delete task>

``deletions_plan`` is a branch: it pushes the :class:`~daily_dialin.provisioning.deletions.DeletionPlan`
under the XCom key ``deletions_plan`` and returns the delete task alone (the approval is skipped: no
run leaves a waiting Human-in-the-loop task behind) or the approval and the delete task. The delete
task runs with ``none_failed_min_one_success`` (after the approval, or right away when it was
skipped) and reads the plan and the approval's answer itself: what to do is
:func:`~daily_dialin.provisioning.deletions.decide`'s, not a trigger rule's.

:class:`DeletionApproval` is a ``HITLOperator`` with ``Approve`` and ``Reject``, ``Reject`` the
default: no answer within the plan's ``approval_timeout_minutes`` (a run-time setting, so the
Variable can change it) is a rejection. It does not fail on ``Reject`` itself - the delete task
reports the rejection and the run's ``verify`` fails - so the approval stays a plain answer.

Parse time imports only Airflow's standard provider; the plan's module is imported when a task runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator

PLAN_TASK = "deletions_plan"
APPROVE_TASK = "approve_deletions"
PLAN_KEY = "deletions_plan"  # as daily_dialin.provisioning.deletions.PLAN_KEY
DELETE_TRIGGER_RULE = "none_failed_min_one_success"


class DeletionApproval(HITLOperator):
    """Ask a person to approve the deletion the ``deletions_plan`` task planned (count, share of the
    live rooms, reason, first rooms); ``Reject`` when nobody answers in time."""

    def __init__(self, *, plan_task: str = PLAN_TASK, **kwargs: Any) -> None:
        kwargs.setdefault("task_id", APPROVE_TASK)
        super().__init__(
            subject="Approve a mass deletion of Daily rooms",
            options=["Approve", "Reject"],
            defaults=["Reject"],
            multiple=False,
            response_timeout=timedelta(days=1),  # replaced by the plan's setting when the task runs
            **kwargs,
        )
        self.plan_task = plan_task

    def execute(self, context: Any) -> Any:
        from daily_dialin.provisioning.deletions import DeletionPlan, approval_text

        plan = DeletionPlan.from_xcom(context["ti"].xcom_pull(task_ids=self.plan_task, key=PLAN_KEY))
        self.subject, self.body = approval_text(plan)
        self.response_timeout = timedelta(minutes=plan.timeout_minutes)
        return super().execute(context)


def branch(ti: Any, plan_json: dict[str, Any], *, delete_task: str) -> list[str]:
    """The branch's body: publish the plan for the approval and the delete task, choose the path."""
    from daily_dialin.provisioning.deletions import DeletionPlan, gate_branch

    ti.xcom_push(key=PLAN_KEY, value=plan_json)
    return gate_branch(DeletionPlan.from_xcom(plan_json), approve_task=APPROVE_TASK, delete_task=delete_task)


def gate_inputs(ti: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The delete task's inputs: the plan and the approval's answer (``None``: none was asked)."""
    plan = ti.xcom_pull(task_ids=PLAN_TASK, key=PLAN_KEY)
    answer = ti.xcom_pull(task_ids=APPROVE_TASK)
    return plan, answer
