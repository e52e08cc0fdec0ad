"""The reconcile DAG factory: ``reconcile_dag(dag_id=..., table=..., ...) -> DAG``.

Parse time imports only ``airflow.sdk`` and this package; the task imports
:mod:`daily_dialin.provisioning.reconcile` (and the provider's HTTP code) when it runs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, get_current_context, task

from daily_dialin.dags import gate
from daily_dialin.dags.defaults import START_DATE, dag_defaults, meetings_asset_name, pool_name
from daily_dialin.dags.layers import Layers, given, provisioning_layers
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
    daily_conn_id: str | None = None,
    meetings_conn_id: str | None = None,
    table: str | None = None,
    columns: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    schedule: Any = "@daily",
    pool: str | None = None,
    asset_name: str | None = None,
    start_date: datetime = START_DATE,
    tags: Sequence[str] = TAGS,
    default_args: Mapping[str, Any] | None = None,
    doc_md: str | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """Build a reconcile DAG for one meetings table; the arguments mean what they mean for
    :func:`~daily_dialin.dags.provisioning.provisioning_dag` (give both the same identity).
    ``default_args`` go on top of ``{"retries": 1}``."""
    identity = given(daily_conn_id=daily_conn_id, meetings_conn_id=meetings_conn_id, table=table, columns=columns)
    layers = provisioning_layers(identity=identity, settings=settings)
    asset = Asset(asset_name or meetings_asset_name(meetings_conn_id=meetings_conn_id, table=table))
    options = {"catchup": False, "max_active_runs": 1, **dag_kwargs}
    with DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=start_date,
        default_args=dag_defaults(default_args, DEFAULT_ARGS),
        tags=list(tags),
        params=copy.deepcopy(RECONCILE_PARAMS),  # force_live_deletions (DAGs never share Param objects)
        doc_md=doc_md
        or DOC.format(asset=asset.name, settings=describe(layers), approval_dag=gate.approval_dag_id(dag_id)),
        **options,
    ) as dag:
        _wire(layers=layers, pool=pool or pool_name(), asset=asset, dag_id=dag_id)
    # the approval DAG (<dag_id>_deletions): registered with the DAG file like this one
    gate.approval_dag(
        parent_dag_id=dag_id,
        reason="orphan",
        layers=layers,
        pool=pool or pool_name(),
        start_date=start_date,
        tags=tags,
        default_args=dag_defaults(default_args, DEFAULT_ARGS),
    )
    return dag


def _wire(*, layers: Layers, pool: str, asset: Asset, dag_id: str) -> None:
    """reconcile -> deletions_plan -> delete_orphans (and request_approval) -> verify (the gate: :mod:`.gate`)."""

    @task(pool=pool, outlets=[asset], multiple_outputs=False)
    def reconcile() -> dict:
        from daily_dialin.provisioning.config import ProvisioningConfig
        from daily_dialin.provisioning.reconcile import VariableLedger, reconcile

        overrides = layers.overrides()
        ledger = VariableLedger.for_config(ProvisioningConfig.load(overrides))
        return reconcile(config_overrides=overrides, ledger=ledger)

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
        from daily_dialin.provisioning.config import ProvisioningConfig
        from daily_dialin.provisioning.reconcile import VariableLedger, sweep_orphans

        context = get_current_context()
        deletions, approval = gate.gate_inputs(context["ti"])
        overrides = layers.overrides()
        ledger = VariableLedger.for_config(ProvisioningConfig.load(overrides))
        force_live = bool(context["params"].get("force_live_deletions"))  # only a person sets it
        return sweep_orphans(
            deletions=deletions, approval=approval, config_overrides=overrides, ledger=ledger, force_live=force_live
        )

    @task(retries=0)
    def verify(report: dict, swept: dict) -> None:
        from daily_dialin.provisioning.reconcile import verify

        verify(report, swept)

    report = reconcile()
    gated = deletions_plan(report)
    swept = delete_orphans()
    gated >> [swept, gate.request_task(dag_id)]  # no approval in this DAG: it is <dag_id>_deletions'
    verify(report, swept)
