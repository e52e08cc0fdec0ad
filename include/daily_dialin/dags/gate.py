"""The gate on mass deletion, as tasks, and the approval DAG a person answers in.

Used by the provisioning DAG (rooms of cancelled meetings, and own rooms of one-offs joining a
series) and the reconcile DAG (orphans)::

    <the DAG>:           deletions_plan -> delete task (only what needs no person)
                                        -> request_approval (only over the budget; emits an asset)
    <the DAG>_deletions: pending_deletions -> approve_deletions -> delete_approved -> verify

**A pending decision never stalls provisioning.** The provisioning DAG runs one run at a time
(``max_active_runs=1``): an approval waiting inside a run would hold every run behind it - the
watcher's and the daily safety run - for up to ``approval_timeout_minutes``, and a meeting
inserted to start in 20 minutes would get no room. So the person's decision lives in a DAG of its
own, built by the same factory: ``<dag_id>_deletions``. Why a DAG and not a deferred task in the
run: a run is done only when all its tasks are, so anything waiting in the run waits for the
person; why an asset and not ``TriggerDagRunOperator``: the plan travels through the ledger (an
Airflow Variable the approval DAG reads when it starts, see :mod:`daily_dialin.provisioning.ledger`),
the event only wakes the approval DAG, and an asset event is also the signal a notifier can listen
to. The approval DAG runs one at a time (``max_active_runs=1``), and a plan is handed over only
when none is pending: one waiting approval per table.

``deletions_plan`` (a branch) judges the run's plan against the ledger
(:func:`~daily_dialin.provisioning.deletions.settle`: the rolling budget, the pending approval,
the remembered Rejects), pushes it under the XCom key ``deletions_plan`` and returns the delete
task (and, for provisioning, ``chunks_of``), plus ``request_approval`` when a person must decide.
The delete task deletes only when the verdict is ``auto``; otherwise it tells the rows why their
rooms live on and the run completes.

In the approval DAG, ``pending_deletions`` reads the pending plan (none: it is skipped and so is
the approval), emits ``daily-dialin://<dag_id>/deletions-waiting`` and logs the count;
:class:`DeletionApproval` is a ``HITLOperator`` with ``Approve`` and ``Reject``, ``Reject`` the
default: no answer within the plan's ``approval_timeout_minutes`` is a rejection (not remembered:
nobody decided, a later run asks again). ``delete_approved`` (``all_done``: it always settles the
ledger) deletes what was approved and still to delete now, remembers a person's Reject, and
``verify`` fails the approval's run on a Reject or timeout.

Parse time imports only Airflow's standard provider and ``airflow.sdk``; the plan's modules are
imported when a task runs.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator

log = logging.getLogger(__name__)

PLAN_TASK = "deletions_plan"
APPROVE_TASK = "approve_deletions"
REQUEST_TASK = "request_approval"
PENDING_TASK = "pending_deletions"
APPROVAL_SUFFIX = "_deletions"
PLAN_KEY = "deletions_plan"  # as daily_dialin.provisioning.deletions.PLAN_KEY
DELETE_TRIGGER_RULE = "none_failed_min_one_success"  # the delete task: after the branch, not after the approval


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


def branch(
    ti: Any,
    plan_json: dict[str, Any],
    *,
    config: Any,
    delete_task: str,
    approval_dag: str,
    redecide: bool = False,
    also: tuple[str, ...] = (),
) -> list[str]:
    """The branch's body: judge the plan against the ledger (:func:`~daily_dialin.provisioning.deletions.settle`),
    publish it for the delete task, choose the path: the delete task (and ``also``) always, the
    request to the approval DAG when a person must decide."""
    from datetime import UTC, datetime

    from daily_dialin.provisioning.deletions import DeletionPlan, settle
    from daily_dialin.provisioning.ledger import DeletionLedger

    plan = settle(
        DeletionPlan.from_xcom(plan_json),
        DeletionLedger.for_config(config),
        now=datetime.now(UTC),
        redecide=bool(redecide),
        approval_dag=approval_dag,
    )
    ti.xcom_push(key=PLAN_KEY, value=plan.to_xcom())
    return [*also, delete_task, *([REQUEST_TASK] if plan.verdict == "ask" else [])]


def plan_of(ti: Any) -> dict[str, Any] | None:
    """The delete task's input: the judged plan (``None``: the branch did not run)."""
    return ti.xcom_pull(task_ids=PLAN_TASK, key=PLAN_KEY)


def gate_inputs(ti: Any, plan_task: str = PLAN_TASK) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The approval DAG's delete task's inputs: the plan and the approval's answer (``None``: none was given)."""
    plan = ti.xcom_pull(task_ids=plan_task, key=PLAN_KEY)
    answer = ti.xcom_pull(task_ids=APPROVE_TASK)
    return plan, answer


# -- the approval DAG -------------------------------------------------------------------------------
def approval_dag_id(dag_id: str) -> str:
    """The approval DAG of a provisioning or reconcile DAG."""
    return f"{dag_id}{APPROVAL_SUFFIX}"


def assets(dag_id: str) -> tuple[Any, Any]:
    """``(requested, waiting)``: the asset a DAG's ``request_approval`` emits (its approval DAG is
    scheduled on it) and the one the approval DAG emits when its approval starts waiting."""
    from airflow.sdk import Asset

    return Asset(f"daily-dialin://{dag_id}/deletions-requested"), Asset(f"daily-dialin://{dag_id}/deletions-waiting")


def request_task(dag_id: str) -> Any:
    """``request_approval``: hands the plan (already the pending one in the ledger) to the approval DAG."""
    from airflow.sdk import task

    requested, _ = assets(dag_id)

    @task(task_id=REQUEST_TASK, outlets=[requested], retries=2)
    def request_approval() -> str:
        target = approval_dag_id(dag_id)
        log.warning("A deletion over the budget waits for a person: DAG %s, task %s", target, APPROVE_TASK)
        return target

    return request_approval()


APPROVAL_DOC = """
### Approve deletions for `{parent}`

Runs when `{parent}` hands over a deletion over the budget (its `request_approval` task emits
`{requested}`); `{parent}` never waits for it: its next runs keep provisioning. One approval waits
at a time (the plan is the pending one in the ledger Variable `{ledger}__decisions_{reason}`).

`pending_deletions` (emits `{waiting}` and logs the count: a signal for notifiers) ->
`approve_deletions` (a person chooses **Approve** or **Reject**; no answer within
`approval_timeout_minutes` is a Reject) -> `delete_approved` (deletes only rooms still to delete
now; a person's Reject is remembered: nobody is asked about the same rooms again until the set
grows or a run is triggered with `redecide_deletions`) -> `verify` (fails on a Reject or timeout).
"""


def approval_dag_of(opts: Any, *, reason: str) -> Any:
    """The approval DAG (``<parent>_deletions``) of the DAG a factory builds with ``opts`` (its
    :class:`~daily_dialin.dags.options.DagOptions`: the same layers, pool, start date, tags, task defaults)."""
    return approval_dag(
        parent_dag_id=opts.dag_id,
        reason=reason,
        layers=opts.layers,
        pool=opts.pool,
        start_date=opts.start_date,
        tags=opts.tags,
        default_args=dict(opts.default_args),
    )


def approval_dag(
    *,
    parent_dag_id: str,
    reason: str,
    layers: Any,
    pool: str,
    start_date: Any,
    tags: Any,
    default_args: Any,
) -> Any:
    """The approval DAG of ``parent_dag_id`` (``<parent>_deletions``), for ``reason``'s deletions."""
    from airflow.sdk import DAG

    requested, waiting = assets(parent_dag_id)
    base = "daily_dialin_deletions__<daily_conn_id>__<room_name_prefix>"
    with DAG(
        dag_id=approval_dag_id(parent_dag_id),
        schedule=[requested],
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,  # it only acts when asked; paused, no approval would ever show
        default_args=default_args,
        tags=list(tags),
        doc_md=APPROVAL_DOC.format(
            parent=parent_dag_id, requested=requested.uri, waiting=waiting.uri, ledger=base, reason=reason
        ),
    ) as dag:
        _wire_approval(layers=layers, pool=pool, reason=reason, waiting=waiting)
    return dag


def _wire_approval(*, layers: Any, pool: str, reason: str, waiting: Any) -> None:
    from airflow.sdk import get_current_context, task

    @task(task_id=PENDING_TASK, outlets=[waiting], multiple_outputs=False)
    def pending_deletions() -> dict:
        from daily_dialin.provisioning.approvals import pending_plan

        ti = get_current_context()["ti"]
        plan = pending_plan(reason=reason, config_overrides=layers.overrides())
        ti.xcom_push(key=PLAN_KEY, value=plan)
        return {"rooms": len(plan["rooms"])}

    @task(task_id="delete_approved", pool=pool, trigger_rule="all_done", multiple_outputs=False, retries=1)
    def delete_approved() -> dict:
        from daily_dialin.provisioning.approvals import delete_approved

        plan, answer = gate_inputs(get_current_context()["ti"], plan_task=PENDING_TASK)
        return delete_approved(reason=reason, deletions=plan, approval=answer, config_overrides=layers.overrides())

    @task(retries=0)
    def verify(result: dict) -> None:
        from daily_dialin.provisioning.approvals import verify

        verify(result)

    pending = pending_deletions()
    done = delete_approved()
    pending >> DeletionApproval(plan_task=PENDING_TASK) >> done
    pending >> done
    verify(done)
