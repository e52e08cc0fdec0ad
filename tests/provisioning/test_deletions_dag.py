"""The gate's below-the-limit path in real DAG runs (``dag.test()``): the approval task is skipped,
the delete task runs at once - in ``daily_dialin_provisioning`` (cancelled meetings) and in
``daily_dialin_reconcile`` (orphans, with the ledger in its Airflow Variable). The path over the
limit needs a scheduler (Human-in-the-loop): ``tests/cluster/test_deletion_gate.py``."""

from __future__ import annotations

import pytest

from tests.provisioning.test_guarantees import live_rooms, update_row
from tests.support.daily import provisioning_conf
from tests.support.engine import insert_rows, meeting, settings_env


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances() if ti.map_index < 1}


def test_a_few_cancellations_are_deleted_without_asking(provisioning_dag, sqlite_meetings_db, daily_conn):
    insert_rows(sqlite_meetings_db, [meeting("DG1"), meeting("DG2")])
    first = provisioning_dag.test(run_conf=provisioning_conf())
    assert first.state == "success"
    assert states(first)["approve_deletions"] == "skipped"
    update_row(sqlite_meetings_db, "DG1", status="cancelled")
    second = provisioning_dag.test(run_conf=provisioning_conf())
    assert second.state == "success"
    found = states(second)
    assert found["deletions_plan"] == "success" and found["approve_deletions"] == "skipped"
    assert found["retire_cancelled"] == "success"
    assert set(live_rooms(daily_conn)) == {"mtg-DG2"}


@pytest.fixture(scope="module")
def reconcile_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.daily import REPO

    bag = DagBag(dag_folder=str(REPO / "dags" / "daily_dialin_reconcile.py"))
    assert not bag.import_errors
    return bag.dags["daily_dialin_reconcile"]


def test_reconcile_records_orphans_in_its_variable_and_sweeps_after_the_grace(
    reconcile_dag, sqlite_meetings_db, daily_conn, monkeypatch
):
    from airflow.models import Variable

    from airflow_provider_daily.hooks.daily import DailyHook
    from tests.hooks.helpers import dialin_spec

    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(orphan_grace_minutes=0))
    DailyHook().create_rooms_batch([dialin_spec("mtg-orphan-1"), dialin_spec("elsewhere-1")])
    key = "daily_dialin_orphans__daily_default__mtg"
    Variable.delete(key)
    first = reconcile_dag.test()
    assert first.state == "success"
    assert states(first)["approve_deletions"] == "skipped"
    assert "mtg-orphan-1" in Variable.get(key), "first seen, recorded; never deleted on first sight"
    assert "mtg-orphan-1" in live_rooms(daily_conn)
    second = reconcile_dag.test()
    assert second.state == "success" and states(second)["delete_orphans"] == "success"
    assert set(live_rooms(daily_conn)) == {"elsewhere-1"}
    assert "mtg-orphan-1" not in Variable.get(key)
