"""The provisioning DAG factory: ``provisioning_dag(dag_id=..., table=..., ...) -> DAG``.

The task wiring of ``daily_dialin_provisioning`` lives here; a DAG file calls the factory (the
shipped one in ``dags/``, or a user's own for a second table). Parse time imports only
``airflow.sdk``, this package and the Params form: each task imports its step module
(:mod:`daily_dialin.provisioning.steps`, and through it the provider's HTTP code) when it runs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Asset, get_current_context, task

from daily_dialin.dags import gate
from daily_dialin.dags.defaults import RUN_TIMEOUT
from daily_dialin.dags.layers import Layers
from daily_dialin.dags.options import DagOptions, TableRef, dag_options
from daily_dialin.provisioning.params import PROVISIONING_PARAMS

TAGS = ("daily", "dial-in", "provisioning")

DOC = """
### Daily dial-in provisioning

Reads scheduled meetings from the meetings table, creates a Daily room with PIN dial-in for each
due meeting, and writes the room URL, PIN, number and `tel:` dial string back.

* **Scheduled**: every meeting not yet provisioned that starts within `horizon_days`.
* **Manual** (Trigger with the form): a window of UTC dates and/or meeting ids; dry run; force.
* **Backfill / logical date D**: meetings starting on D + `lead_days` (default 30). To provision
  14-16 December: `airflow backfill create --dag-id {dag_id}
  --from-date 2026-11-14 --to-date 2026-11-16`.

`plan` -> `deletions_plan` -> `chunks_of` -> `provision_chunk` (mapped, one per chunk, pool `{pool}`)
and `retire_cancelled` (rooms of cancelled meetings) -> `summarize` (true totals even when tasks
failed; emits the asset `{asset}`) -> `verify` (fails the run if any meeting is left without a room,
after every result and each failure's reason, in `last_error`, is written back).

**The gate on deletions** (`deletions_plan`): rooms deleted without approval are counted over
`deletion_budget_window_hours`; deletions that would take that count past
`max_deletions_without_approval` (or that share of the live rooms) are not made by this DAG: they
are handed to the DAG `{approval_dag}` (`request_approval` emits `{requested}`), where a person
approves or rejects them, and this run completes - a waiting decision never stalls provisioning.
Their rooms live on, and their rows say why in `last_error`. A Reject is remembered (nobody is asked
about the same rooms again) until more rooms are to be deleted, or a run is triggered with
`redecide_deletions`. The own rooms of one-off meetings joining a series go through the same gate.

Settings: {settings}.
"""


def describe(layers: Layers) -> str:
    """The factory's arguments for the DAG's docs (connection ids and table names: no secrets)."""
    fixed = {**layers.settings, **layers.identity}
    shown = ", ".join(f"`{key}={value!r}`" for key, value in sorted(fixed.items()))
    return (shown or "the defaults") + " (the Variable `daily_provisioning` overrides all but the table's identity)"


def provisioning_dag(
    *,
    dag_id: str,
    source: TableRef | None = None,
    settings: Mapping[str, Any] | None = None,
    schedule: Any = "@daily",
    watch: bool = False,
    watch_poll_seconds: float = 10,
    pool: str | None = None,
    run_timeout: timedelta | None = RUN_TIMEOUT,
    **dag_kwargs: Any,
) -> DAG:
    """Build a provisioning DAG for one meetings table.

    :param dag_id: the DAG's id (each table its own).
    :param source: the table (:class:`~daily_dialin.dags.options.TableRef`: Daily connection,
        meetings connection, table, column map, asset name). ``None``: the Variable
        ``daily_provisioning`` or the defaults decide. The keywords of before (``daily_conn_id=``,
        ``meetings_conn_id=``, ``table=``, ``columns=``, ``asset_name=``) still work.
    :param settings: any other :class:`~daily_dialin.provisioning.config.ProvisioningConfig` field
        (e.g. ``provisionable_statuses``, ``room_name_prefix``, ``chunk_size``); the Variable
        overrides them per key (see :mod:`daily_dialin.dags.layers`).
    :param schedule: any Airflow schedule (cron, preset, timetable, assets; ``None``: manual only).
        With ``watch``, a cron string or preset: the daily safety run (``None``: the watch alone).
    :param watch: also run when the meetings table has work (a row added, moved or cancelled): the
        table is polled by :class:`~daily_dialin.freshness.trigger.MeetingsTableTrigger` in the
        triggerer every ``watch_poll_seconds`` (:mod:`daily_dialin.freshness.schedule`), and a run
        starts on the watch or the clock, whichever comes first.
    :param pool: the pool of the tasks that call Daily; default ``$DAILY_API_POOL`` or ``daily_api``.
    :param run_timeout: ``dagrun_timeout``: a run that cannot progress (e.g. its pool was deleted)
        fails instead of blocking the runs behind it.
    :param dag_kwargs: anything else ``DAG`` takes (``start_date``, ``tags``, ``catchup``,
        ``max_active_runs``, ``doc_md``, ...); ``default_args`` go on top of
        :data:`~daily_dialin.dags.defaults.DEFAULT_ARGS` (:func:`~daily_dialin.dags.options.dag_options`).
    """
    opts = dag_options(dag_id=dag_id, dag_kwargs=dag_kwargs, tags=TAGS, source=source, settings=settings, pool=pool)
    layers, asset = opts.layers, opts.asset()
    requested, _ = gate.assets(dag_id)
    doc = DOC.format(
        dag_id=dag_id,
        pool=opts.pool,
        asset=asset.name,
        settings=describe(layers),
        approval_dag=gate.approval_dag_id(dag_id),
        requested=requested.uri,
    )
    if watch:
        schedule = _watched(opts, schedule=schedule, settings=settings, poll_seconds=watch_poll_seconds)
    with opts.dag(
        defaults={"doc_md": doc},
        schedule=schedule,
        dagrun_timeout=run_timeout,
        params=copy.deepcopy(PROVISIONING_PARAMS),  # DAGs never share Param objects
    ) as dag:
        _wire(layers=layers, pool=opts.pool, asset=asset, dag_id=dag_id)
    gate.approval_dag_of(opts, reason="cancelled")  # <dag_id>_deletions: registered with the DAG file like this one
    return dag


def _watched(opts: DagOptions, *, schedule: Any, settings: Mapping[str, Any] | None, poll_seconds: float) -> Any:
    """The schedule with the meetings-table watcher (:mod:`daily_dialin.freshness.schedule`)."""
    from daily_dialin.freshness.schedule import provisioning_schedule, watch_asset_name

    ref = opts.source
    return provisioning_schedule(
        safety_schedule=schedule,
        watch=True,
        poll_seconds=poll_seconds,
        identity=ref.identity(),
        settings=settings,
        asset_name=watch_asset_name(meetings_conn_id=ref.meetings_conn_id, table=ref.table),
        emitted_assets=[ref.asset],
    )


def _wire(*, layers: Layers, pool: str, asset: Asset, dag_id: str) -> None:
    """The tasks: plan -> deletions_plan -> chunks_of -> provision_chunk[] and retire_cancelled
    (and request_approval) -> summarize -> verify."""

    # multiple_outputs=False throughout: a "-> dict" annotation alone makes Airflow push every key
    # as an XCom of its own, several writes per task where one is read
    @task(multiple_outputs=False)
    def plan() -> dict:
        from daily_dialin.provisioning import steps

        context = get_current_context()
        run, params = context["dag_run"], dict(context["params"])
        result = steps.plan(
            params=params,
            run_type=getattr(run.run_type, "value", run.run_type),
            logical_date=run.logical_date,
            config_overrides=layers.overrides(
                {"lead_days": params.get("lead_days"), "horizon_days": params.get("horizon_days")}
            ),
        )
        return steps.publish_plan(result, push=lambda key, value: context["ti"].xcom_push(key=key, value=value))

    # all_done: a failed deletions_plan never stops provisioning (the chunks then hold every join)
    @task(retries=1, retry_delay=timedelta(seconds=5), trigger_rule="all_done")
    def chunks_of(run: dict) -> list[int]:
        from daily_dialin.provisioning import steps

        return steps.chunk_numbers(run)

    @task(pool=pool, retries=2, multiple_outputs=False)
    def provision_chunk(index: int, run: dict) -> dict:
        from daily_dialin.interrupted import keep_partial
        from daily_dialin.provisioning import steps

        ti = get_current_context()["ti"]
        inputs = steps.chunk_inputs(ti, index)  # its bounds, and the gate's judged plan
        return keep_partial(lambda: steps.run_chunk(index=index, run=run, **inputs), push=_pusher(ti))

    # the gate on mass deletion (daily_dialin.dags.gate): deletions_plan -> retire_cancelled,
    # and -> request_approval (the approval DAG) when a person must decide
    @task.branch(task_id=gate.PLAN_TASK)
    def deletions_plan(run: dict) -> list[str]:
        from daily_dialin.provisioning import steps
        from daily_dialin.provisioning.handover import RunPlan

        context = get_current_context()
        plan_json = steps.plan_cancelled(run=run)
        return gate.branch(
            context["ti"],
            plan_json,
            config=RunPlan.from_xcom(run).config,
            delete_task="retire_cancelled",
            approval_dag=gate.approval_dag_id(dag_id),
            redecide=bool(context["params"].get("redecide_deletions")),
            also=("chunks_of",),
        )

    @task(pool=pool, multiple_outputs=False, trigger_rule=gate.DELETE_TRIGGER_RULE)
    def retire_cancelled(run: dict) -> dict:
        from daily_dialin.interrupted import keep_partial
        from daily_dialin.provisioning import steps

        ti = get_current_context()["ti"]
        deletions = gate.plan_of(ti) or None
        # interrupted, summarize still gets what was deleted
        return keep_partial(lambda: steps.retire(run=run, deletions=deletions), push=_pusher(ti))

    @task(trigger_rule="all_done", outlets=[asset], multiple_outputs=False)
    def summarize(run, chunk_results, retired) -> dict:
        from daily_dialin.provisioning import steps

        return steps.summarize(run=run, chunk_results=chunk_results, retired=retired)

    @task(retries=0)
    def verify(summary: dict) -> None:
        from daily_dialin.provisioning import steps

        steps.verify(summary)

    run = plan()
    gated = deletions_plan(run)
    numbers = chunks_of(run)
    gated >> numbers  # the chunks read the judged plan (may a one-off leave its room for a series?)
    chunks = provision_chunk.partial(run=run).expand(index=numbers)
    retired = retire_cancelled(run)
    gated >> [retired, gate.request_task(dag_id)]
    verify(summarize(run, chunks, retired))


def _pusher(ti: Any) -> Any:
    """``push(key, value)`` for :func:`~daily_dialin.interrupted.keep_partial`: an XCom of the task."""
    return lambda key, value: ti.xcom_push(key=key, value=value)
