"""Parse-time baseline of the scale benchmark: a one-task DAG that imports nothing but Airflow's SDK."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(dag_id="bench_trivial", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def bench_trivial():
    @task
    def noop() -> None:
        return None

    noop()


bench_trivial()
