"""
### Daily dial-in provisioning

Reads scheduled meetings from the meetings table (connection `daily_meetings_db`), creates a Daily
room with PIN dial-in for each due meeting through `daily_default`, and writes the room URL, PIN,
number and `tel:` dial string back.

* **Scheduled** (daily): every meeting not yet provisioned that starts within `horizon_days`.
* **Manual** (Trigger with the form): a window of UTC dates and/or meeting ids; dry run; force.
* **Backfill / logical date D**: meetings starting on D + `lead_days` (default 30). To provision
  14-16 December: `airflow backfill create --dag-id daily_dialin_provisioning
  --from-date 2026-11-14 --to-date 2026-11-16`.

`plan` -> `chunks_of` -> `provision_chunk` (mapped, one per chunk, pool `daily_api`) and `retire_cancelled`
(rooms of cancelled meetings) -> `summarize` (true totals even when tasks failed; emits the
meetings asset) -> `verify` (fails the run if any meeting is left without a room, after every
result and each failure's reason, in `last_error`, is written back).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

from daily_dialin.provisioning.params import PROVISIONING_PARAMS

MEETINGS_ASSET = Asset("daily_dialin_meetings")
POOL = os.environ.get("DAILY_API_POOL", "daily_api")


@dag(
    dag_id="daily_dialin_provisioning",
    schedule=os.environ.get("DAILY_PROVISIONING_SCHEDULE", "@daily") or None,  # empty: manual runs only
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # a run that cannot progress (e.g. its pool was deleted) fails instead of blocking later runs
    dagrun_timeout=timedelta(minutes=float(os.environ.get("DAILY_PROVISIONING_TIMEOUT_MINUTES", "240"))),
    params=PROVISIONING_PARAMS,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
    tags=["daily", "dial-in", "provisioning"],
    doc_md=__doc__,
)
def daily_dialin_provisioning():
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
            config_overrides={"lead_days": params.get("lead_days"), "horizon_days": params.get("horizon_days")},
        )
        return steps.publish_plan(result, push=lambda key, value: context["ti"].xcom_push(key=key, value=value))

    @task(retries=1, retry_delay=timedelta(seconds=5))
    def chunks_of(run: dict) -> list[int]:
        from daily_dialin.provisioning import steps

        return steps.chunk_numbers(run)

    @task(pool=POOL, retries=2, multiple_outputs=False)
    def provision_chunk(index: int, run: dict) -> dict:
        from daily_dialin.provisioning import steps

        return steps.chunk_task(ti=get_current_context()["ti"], index=index, run=run)

    @task(pool=POOL, multiple_outputs=False)
    def retire_cancelled(run: dict) -> dict:
        from daily_dialin.provisioning import steps

        return steps.retire_cancelled(run=run)

    @task(trigger_rule="all_done", outlets=[MEETINGS_ASSET], multiple_outputs=False)
    def summarize(run, chunk_results, retired) -> dict:
        from daily_dialin.provisioning import steps

        return steps.summarize(run=run, chunk_results=chunk_results, retired=retired)

    @task(retries=0)
    def verify(summary: dict) -> None:
        from daily_dialin.provisioning import steps

        steps.verify(summary)

    run = plan()
    chunks = provision_chunk.partial(run=run).expand(index=chunks_of(run))
    retired = retire_cancelled(run)
    verify(summarize(run, chunks, retired))


daily_dialin_provisioning()
