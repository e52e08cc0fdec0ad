"""``daily_dialin_doctor`` with ``dag.test()``: green on a healthy deployment (the metadata-DB
checks skipped in a task), failed, naming the check, when one fails."""

from __future__ import annotations

import pytest

from tests.support.daily import REPO


@pytest.fixture(scope="module")
def doctor_dag(airflow_db):
    """The shipped DAG's factory without task retries (dag.test() would sit out their delay)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "daily_dialin_doctor.py"))
    assert not bag.import_errors
    dag = bag.dags["daily_dialin_doctor"]
    for task in dag.tasks:
        task.retries = 0
    return dag


def _conf(**overrides):
    from daily_dialin.dags.doctor import PARAMS

    return {**{name: param.value for name, param in PARAMS.items()}, **overrides}


def _task_state(run, task_id="doctor"):
    return next(ti.state for ti in run.get_task_instances() if ti.task_id == task_id)


def test_healthy_run_succeeds(deployment, doctor_dag):
    run = doctor_dag.test(run_conf=_conf())
    assert _task_state(run) == "success"


def test_a_failed_check_fails_the_run(deployment, doctor_dag):
    run = doctor_dag.test(run_conf=_conf(table="no_such_table"))
    assert _task_state(run) == "failed"
