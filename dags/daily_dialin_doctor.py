"""The Airflow DAG ``daily_dialin_doctor``: the deployment checks of ``python -m daily_dialin doctor``,
triggered by hand (for deployments where no shell reaches Airflow).

Only wiring (the task, form and docs are in :mod:`daily_dialin.dags.doctor`); imports only the factory.
"""

from __future__ import annotations

from daily_dialin.dags.doctor import doctor_dag

dag = doctor_dag(dag_id="daily_dialin_doctor")
