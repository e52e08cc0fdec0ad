"""The number-assignment DAG factory: ``number_assignment_dag(dag_id=...) -> DAG``.

Parse time imports ``airflow.sdk``, the Params form and the provider's operator module (which
loads its hook, and the HTTP provider under it, only when the task runs).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from airflow.sdk import DAG

from daily_dialin.dags.options import TableRef, dag_options
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
    *, dag_id: str, source: TableRef | None = None, daily_conn_id: str | None = None, **dag_kwargs: Any
) -> DAG:
    """Build the manual DAG that puts a number on the PIN flow of ``daily_conn_id``'s domain
    (default ``daily_default``; or ``source=TableRef(daily_conn_id=...)``, as the other factories).
    ``dag_kwargs`` go to ``DAG`` (:func:`~daily_dialin.dags.options.dag_options`); ``default_args``
    on top of ``{"retries": 1}``."""
    from airflow_provider_daily.operators.daily import DEFAULT_CONN_ID, DailyAssignPinDialinNumberOperator

    kwargs = {**dag_kwargs, "daily_conn_id": daily_conn_id}
    opts = dag_options(
        dag_id=dag_id, dag_kwargs=kwargs, tags=TAGS, source=source, base_args=DEFAULT_ARGS, keywords=("daily_conn_id",)
    )
    with opts.dag(
        defaults={"schedule": None, "doc_md": DOC},
        params=copy.deepcopy(NUMBER_ASSIGNMENT_PARAMS),
        render_template_as_native_obj=True,
    ) as dag:
        # [START howto_operator_daily_assign_pin_dialin_number]
        DailyAssignPinDialinNumberOperator(
            task_id="assign_pin_dialin_number",
            daily_conn_id=opts.source.daily_conn_id or DEFAULT_CONN_ID,
            phone_number="{{ params.phone_number }}",
            name_prefix="{{ params.name_prefix or '' }}",
            ivr_greeting="{{ params.ivr_greeting or '' }}",
            move="{{ params.move }}",
        )
        # [END howto_operator_daily_assign_pin_dialin_number]
    return dag
