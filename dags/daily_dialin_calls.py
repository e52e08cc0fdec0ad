"""The Airflow DAG ``daily_dialin_calls``: the calls factory with the shipped defaults.

Only wiring (tasks and docs are in :mod:`daily_dialin.dags.calls`); imports only the factory. Runs
when the receiver (``POST /daily/webhooks`` on the API server) has stored Daily events not folded
in yet, and hourly as a backstop; its settings come from the Variable ``daily_calls``.
"""

from __future__ import annotations

from daily_dialin.dags.calls import calls_dag

dag = calls_dag(dag_id="daily_dialin_calls")
