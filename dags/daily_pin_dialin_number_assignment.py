"""The Airflow DAG ``daily_pin_dialin_number_assignment``: put a purchased number on Daily's PIN
dial-in flow (manual, with a form).

Only wiring (the operator, Params form and docs are in :mod:`daily_dialin.dags.number_assignment`);
imports only the factory.
"""

from __future__ import annotations

from daily_dialin.dags import number_assignment_dag

dag = number_assignment_dag(dag_id="daily_pin_dialin_number_assignment")
