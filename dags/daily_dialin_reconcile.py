"""The Airflow DAG ``daily_dialin_reconcile``: the reconcile factory with the shipped defaults.

Only wiring (tasks and docs are in :mod:`daily_dialin.dags.reconcile`); imports only the factory,
which also builds, from this file, the approval DAG ``daily_dialin_reconcile_deletions``.
Environment knobs, read when the file is parsed: ``DAILY_RECONCILE_SCHEDULE`` (default ``@daily``)
and ``DAILY_API_POOL`` (default ``daily_api``).
"""

from __future__ import annotations

import os

from daily_dialin.dags import reconcile_dag

dag = reconcile_dag(
    dag_id="daily_dialin_reconcile",
    schedule=os.environ.get("DAILY_RECONCILE_SCHEDULE", "@daily"),
)
