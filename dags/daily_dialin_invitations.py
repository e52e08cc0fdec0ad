"""
### Daily dial-in invitations

Runs whenever `daily_dialin_provisioning` updates the `daily_dialin_meetings` asset. For each
meeting provisioned or changed since the last run it writes RFC 5545 calendar files to the
storage base of the Variable `daily_invitations` (default `<AIRFLOW_HOME>/daily_invitations`):

* `attendees/<room>.ics`: title, start/end in the meeting's zone, the room URL, every dial-in
  number (the meeting's own and Daily's global ones) with the PIN and one-tap `tel:+N,,PIN`;
* `hosts/<room>.ics` (setting `host_links`): the same with a host link carrying a meeting owner
  token that expires with the room. Give it to the host only.

Moved meetings get their files rewritten with a higher `SEQUENCE`, cancelled ones a
`METHOD:CANCEL` file; unchanged meetings are left alone (`force` rewrites them, same bytes).
`manifest.json` in the same base remembers what was published. PINs and tokens never reach logs
or XCom.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

from daily_dialin.invitations.params import INVITATION_PARAMS, MEETINGS_ASSET_NAME


@dag(
    dag_id="daily_dialin_invitations",
    schedule=[Asset(MEETINGS_ASSET_NAME)],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params=INVITATION_PARAMS,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
    tags=["daily", "dial-in", "invitations"],
    doc_md=__doc__,
)
def daily_dialin_invitations():
    @task(multiple_outputs=False)
    def plan() -> dict:
        from daily_dialin.invitations import run as steps

        return steps.plan(params=dict(get_current_context()["params"]))

    @task(multiple_outputs=False)
    def write(plan_result: dict) -> dict:
        from daily_dialin.invitations import run as steps

        return steps.write(plan_result=plan_result)

    write(plan())


daily_dialin_invitations()
