"""The reconcile DAG factory: ``reconcile_dag(dag_id=..., table=..., ...) -> DAG``.

Parse time imports only ``airflow.sdk`` and this package; the task imports
:mod:`daily_dialin.provisioning.reconcile` (and the provider's HTTP code) when it runs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from airflow.sdk import DAG, Asset, get_current_context, task

from daily_dialin.dags import gate
from daily_dialin.dags.layers import Layers
from daily_dialin.dags.options import TableRef, dag_options
from daily_dialin.dags.provisioning import describe
from daily_dialin.provisioning.params import RECONCILE_PARAMS

TAGS = ("daily", "dial-in", "provisioning")
DEFAULT_ARGS: Mapping[str, Any] = {"retries": 1}

DOC = """
### Reconcile the meetings table with Daily

On its schedule (and on demand): for every provisioned meeting that is not over, compare the table
with the room Daily has. A room deleted in Daily (or expired early) is created again, a PIN that
differs is written to the table (Daily's is the one that works), an `exp` that differs is fixed on
the room without touching its PIN. Every meeting whose PIN changed is listed in the log (ids only),
and the asset `{asset}` is updated so the invitations DAG re-sends their invites. The run fails
when a meeting could not be repaired, after the rest was written back.

Rooms of this deployment's prefix that no row names (orphans) are reported by name and deleted
after `orphan_grace_minutes` (`delete_orphans: false`: reported only): `deletions_plan` ->
`delete_orphans` -> `verify`. Deletions that would take the rooms deleted without approval within
`deletion_budget_window_hours` past `max_deletions_without_approval` (or that share of the live
rooms) are handed to the DAG `{approval_dag}` instead (`request_approval`), where a person
approves or rejects them; this run completes. A Reject is remembered until more rooms are to be
deleted, or a run is triggered with `redecide_deletions`.

Settings: {settings}.
"""


def reconcile_dag(
    *,
    dag_id: str,
    source: TableRef | None = None,
    settings: Mapping[str, Any] | None = None,
    schedule: Any = "@daily",
    pool: str | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """Build a reconcile DAG for one meetings table; the arguments mean what they mean for
    :func:`~daily_dialin.dags.provisioning.provisioning_dag` (give both the same ``source``).
    ``default_args`` go on top of ``{"retries": 1}``."""
    opts = dag_options(
        dag_id=dag_id,
        dag_kwargs=dag_kwargs,
        tags=TAGS,
        source=source,
        settings=settings,
        pool=pool,
        base_args=DEFAULT_ARGS,
    )
    asset = opts.asset()
    doc = DOC.format(asset=asset.name, settings=describe(opts.layers), approval_dag=gate.approval_dag_id(dag_id))
    # force_live_deletions (DAGs never share Param objects)
    with opts.dag(defaults={"doc_md": doc}, schedule=schedule, params=copy.deepcopy(RECONCILE_PARAMS)) as dag:
        _wire(layers=opts.layers, pool=opts.pool, asset=asset, dag_id=dag_id)
    gate.approval_dag_of(opts, reason="orphan")  # <dag_id>_deletions: registered with the DAG file like this one
    return dag


def _wire(*, layers: Layers, pool: str, asset: Asset, dag_id: str) -> None:
    """reconcile -> deletions_plan -> delete_orphans (and request_approval) -> verify (the gate: :mod:`.gate`)."""

    @task(pool=pool, outlets=[asset], multiple_outputs=False)
    def reconcile() -> dict:
        from daily_dialin.interrupted import keep_partial
        from daily_dialin.provisioning.config import ProvisioningConfig
        from daily_dialin.provisioning.reconcile import VariableLedger, reconcile

        overrides = layers.overrides()
        ledger = VariableLedger.for_config(ProvisioningConfig.load(overrides))
        ti = get_current_context()["ti"]  # an outage: verify still gets what was repaired
        return keep_partial(
            lambda: reconcile(config_overrides=overrides, ledger=ledger),
            push=lambda key, value: ti.xcom_push(key=key, value=value),
        )

    @task.branch(task_id=gate.PLAN_TASK)
    def deletions_plan(report: dict) -> list[str]:
        from daily_dialin.provisioning.config import ProvisioningConfig

        context = get_current_context()
        force_live = bool(context["params"].get("force_live_deletions"))  # travels with the plan to the approval
        return gate.branch(
            context["ti"],
            {**report["deletions"], "force_live": force_live},
            config=ProvisioningConfig.load(layers.overrides()),
            delete_task="delete_orphans",
            approval_dag=gate.approval_dag_id(dag_id),
            redecide=bool(context["params"].get("redecide_deletions")),
        )

    @task(pool=pool, multiple_outputs=False, trigger_rule=gate.DELETE_TRIGGER_RULE)
    def delete_orphans() -> dict:
        from daily_dialin.interrupted import keep_partial
        from daily_dialin.provisioning.config import ProvisioningConfig
        from daily_dialin.provisioning.reconcile import VariableLedger, sweep_orphans

        context = get_current_context()
        deletions, approval = gate.gate_inputs(context["ti"])
        overrides = layers.overrides()
        ledger = VariableLedger.for_config(ProvisioningConfig.load(overrides))
        force_live = bool(context["params"].get("force_live_deletions"))  # only a person sets it
        return keep_partial(  # an outage: verify still gets what was deleted
            lambda: sweep_orphans(
                deletions=deletions, approval=approval, config_overrides=overrides, ledger=ledger, force_live=force_live
            ),
            push=lambda key, value: context["ti"].xcom_push(key=key, value=value),
        )

    # all_done: a failed step's partial result (or None: it handed over nothing) still reaches verify
    @task(retries=0, trigger_rule="all_done")
    def verify(report: dict | None, swept: dict | None) -> None:
        from daily_dialin.provisioning.reconcile import verify

        verify(report, swept)

    report = reconcile()
    gated = deletions_plan(report)
    swept = delete_orphans()
    gated >> [swept, gate.request_task(dag_id)]  # no approval in this DAG: it is <dag_id>_deletions'
    verify(report, swept)
