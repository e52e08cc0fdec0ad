"""The number-assignment DAG factory: ``number_assignment_dag(dag_id=...) -> DAG``.

Parse time imports ``airflow.sdk``, the Params form and the provider's operator module (which
loads its hook, and the HTTP provider under it, only when the task runs).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from airflow.sdk import DAG

from daily_dialin.dags.defaults import START_DATE, dag_defaults
from daily_dialin.number_assignment import NUMBER_ASSIGNMENT_PARAMS

TAGS = ("daily", "dial-in", "phone-numbers")
DEFAULT_ARGS: Mapping[str, Any] = {"retries": 1}

DOC = """
### Put a purchased number on Daily's PIN dial-in flow

Manual only. Trigger with the form: the purchased number (E.164), an optional name prefix and
IVR greeting, and whether to move the number off the pinless flow. Idempotent: a number already
on the PIN flow is left alone (or its prefix/greeting updated).
"""


def number_assignment_dag(
    *,
    dag_id: str,
    daily_conn_id: str | None = None,
    start_date: datetime = START_DATE,
    tags: Sequence[str] = TAGS,
    default_args: Mapping[str, Any] | None = None,
    doc_md: str | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """Build the manual DAG that puts a number on the PIN flow of ``daily_conn_id``'s domain
    (default ``daily_default``). ``default_args`` go on top of ``{"retries": 1}``."""
    from airflow_provider_daily.operators.daily import DEFAULT_CONN_ID, DailyAssignPinDialinNumberOperator

    options = {"schedule": None, "catchup": False, **dag_kwargs}
    with DAG(
        dag_id=dag_id,
        start_date=start_date,
        params=copy.deepcopy(NUMBER_ASSIGNMENT_PARAMS),
        render_template_as_native_obj=True,
        default_args=dag_defaults(default_args, DEFAULT_ARGS),
        tags=list(tags),
        doc_md=doc_md or DOC,
        **options,
    ) as dag:
        # [START howto_operator_daily_assign_pin_dialin_number]
        DailyAssignPinDialinNumberOperator(
            task_id="assign_pin_dialin_number",
            daily_conn_id=daily_conn_id or DEFAULT_CONN_ID,
            phone_number="{{ params.phone_number }}",
            name_prefix="{{ params.name_prefix or '' }}",
            ivr_greeting="{{ params.ivr_greeting or '' }}",
            move="{{ params.move }}",
        )
        # [END howto_operator_daily_assign_pin_dialin_number]
    return dag
