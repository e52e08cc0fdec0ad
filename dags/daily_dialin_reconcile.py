"""
### Reconcile the meetings table with Daily

Daily, once a day (and on demand): for every provisioned meeting that is not over, compare the
table with the room Daily has. A room deleted in Daily (or expired early) is created again, a
PIN that differs is written to the table (Daily's is the one that works), an `exp` that differs
is fixed on the room without touching its PIN. Every meeting whose PIN changed is listed in the
log (ids only), and the meetings asset is updated so the invitations DAG re-sends their invites.
The run fails when a meeting could not be repaired, after the rest was written back.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, dag, task

MEETINGS_ASSET = Asset("daily_dialin_meetings")
POOL = os.environ.get("DAILY_API_POOL", "daily_api")


@dag(
    dag_id="daily_dialin_reconcile",
    schedule=os.environ.get("DAILY_RECONCILE_SCHEDULE", "@daily"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1},
    tags=["daily", "dial-in", "provisioning"],
    doc_md=__doc__,
)
def daily_dialin_reconcile():
    @task(pool=POOL, outlets=[MEETINGS_ASSET], multiple_outputs=False)
    def reconcile() -> dict:
        from daily_dialin.provisioning.reconcile import reconcile

        return reconcile()

    @task(retries=0)
    def verify(report: dict) -> None:
        from daily_dialin.provisioning.reconcile import verify

        verify(report)

    verify(reconcile())


daily_dialin_reconcile()
