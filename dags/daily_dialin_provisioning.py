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

Meetings are cut into chunks (one mapped task each, in the `daily_api` pool), each chunk makes
its rooms with `POST /batch/rooms`. The run fails when any meeting failed, after every result
(and each failure's reason, in `last_error`) is written back. Emits the meetings asset.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

from airflow_provider_daily.provisioning import run as steps
from airflow_provider_daily.provisioning.params import PROVISIONING_PARAMS

MEETINGS_ASSET = Asset("daily_dialin_meetings")
POOL = os.environ.get("DAILY_API_POOL", "daily_api")


@dag(
    dag_id="daily_dialin_provisioning",
    schedule=os.environ.get("DAILY_PROVISIONING_SCHEDULE", "@daily"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params=PROVISIONING_PARAMS,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
    tags=["daily", "dial-in", "provisioning"],
    doc_md=__doc__,
)
def daily_dialin_provisioning():
    @task
    def plan() -> list[dict]:
        context = get_current_context()
        run, params = context["dag_run"], dict(context["params"])
        result = steps.plan(
            params=params,
            run_type=getattr(run.run_type, "value", run.run_type),
            logical_date=run.logical_date,
            config_overrides={"lead_days": params.get("lead_days"), "horizon_days": params.get("horizon_days")},
        )
        context["ti"].xcom_push(key="plan", value=steps.plan_summary(result))
        return steps.chunk_kwargs(result)

    @task(pool=POOL, retries=3, max_active_tis_per_dagrun=4)
    def provision_chunk(meeting_ids: list[str], config: dict, force: bool) -> dict:
        return steps.provision_chunk(meeting_ids=meeting_ids, config=config, force=force)

    @task(trigger_rule="all_done", outlets=[MEETINGS_ASSET])
    def summarize(chunk_results) -> dict:
        plan_result = get_current_context()["ti"].xcom_pull(task_ids="plan", key="plan")
        return steps.summarize(plan_result=plan_result, chunk_results=chunk_results)

    @task(retries=0)
    def verify(summary: dict) -> None:
        steps.verify(summary)

    chunks = provision_chunk.expand_kwargs(plan())
    verify(summarize(chunks))


daily_dialin_provisioning()
