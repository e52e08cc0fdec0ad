"""
### Put a purchased number on Daily's PIN dial-in flow

Manual only. Trigger with the form: the purchased number (E.164), an optional name prefix and
IVR greeting, and whether to move the number off the pinless flow. Idempotent: a number already
on the PIN flow is left alone (or its prefix/greeting updated).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag

from airflow_provider_daily.operators.daily import DailyAssignPinDialinNumberOperator
from daily_dialin.number_assignment import NUMBER_ASSIGNMENT_PARAMS


@dag(
    dag_id="daily_pin_dialin_number_assignment",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params=NUMBER_ASSIGNMENT_PARAMS,
    render_template_as_native_obj=True,
    default_args={"retries": 1},
    tags=["daily", "dial-in", "phone-numbers"],
    doc_md=__doc__,
)
def daily_pin_dialin_number_assignment():
    DailyAssignPinDialinNumberOperator(
        task_id="assign_pin_dialin_number",
        phone_number="{{ params.phone_number }}",
        name_prefix="{{ params.name_prefix or '' }}",
        ivr_greeting="{{ params.ivr_greeting or '' }}",
        move="{{ params.move }}",
    )


daily_pin_dialin_number_assignment()
