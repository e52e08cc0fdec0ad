"""The gate in real DAG runs (``dag.test()``): under the budget the delete task runs at once and
``request_approval`` is skipped - in ``daily_dialin_provisioning`` (cancelled meetings) and in
``daily_dialin_reconcile`` (orphans, with the ledger in its Airflow Variable). Over the budget the
run deletes nothing, hands the plan to the approval DAG through the ledger Variable and the
asset ``request_approval`` emits, and completes: the next run provisions a new meeting at once. The
approval DAG with nothing pending is skipped through; a person's answer needs a scheduler
(Human-in-the-loop): ``tests/cluster/test_deletion_gate.py``."""

from __future__ import annotations

import json

import pytest

from tests.provisioning.test_guarantees import live_rooms, update_row
from tests.support.daily import provisioning_conf
from tests.support.engine import insert_rows, meeting, settings_env, table_rows

LEDGER = "daily_dialin_deletions__daily_default__mtg"
KEYS = [f"{LEDGER}__{kind}_{reason}" for kind in ("budget", "decisions") for reason in ("cancelled", "orphan")]


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances() if ti.map_index < 1}


@pytest.fixture(autouse=True)
def fresh_ledgers(airflow_db):
    """The ledgers live in the session's metadata DB: each test starts (and leaves) them empty."""
    from airflow.models import Variable

    for key in KEYS:
        Variable.delete(key)
    yield
    for key in KEYS:
        Variable.delete(key)


def test_a_few_cancellations_are_deleted_without_asking(provisioning_dag, sqlite_meetings_db, daily_conn):
    from airflow.models import Variable

    insert_rows(sqlite_meetings_db, [meeting("DG1"), meeting("DG2")])
    first = provisioning_dag.test(run_conf=provisioning_conf())
    assert first.state == "success"
    assert states(first)["request_approval"] == "skipped"
    update_row(sqlite_meetings_db, "DG1", status="cancelled")
    second = provisioning_dag.test(run_conf=provisioning_conf())
    assert second.state == "success"
    found = states(second)
    assert found["deletions_plan"] == "success" and found["request_approval"] == "skipped"
    assert found["retire_cancelled"] == "success" and found["chunks_of"] == "success"
    assert set(live_rooms(daily_conn)) == {"mtg-DG2"}
    entries = json.loads(Variable.get(f"{LEDGER}__budget_cancelled"))["entries"]
    assert [count for _, count in entries] == [1], "the automatic deletion is spent from the window's budget"


def test_over_the_budget_the_run_hands_over_and_completes_and_provisioning_goes_on(
    provisioning_dag, sqlite_meetings_db, daily_conn, monkeypatch
):
    """The issue's stall: a run over the limit used to wait in approve_deletions (up to a day), and
    with max_active_runs=1 every run behind it - a meeting inserted to start soon got no room."""
    from airflow.models import Variable

    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(max_deletions_without_approval=2))
    ids = [f"DH{i}" for i in range(3)]
    insert_rows(sqlite_meetings_db, [meeting(i) for i in ids])
    assert provisioning_dag.test(run_conf=provisioning_conf()).state == "success"
    for meeting_id in ids:
        update_row(sqlite_meetings_db, meeting_id, status="cancelled")
    insert_rows(sqlite_meetings_db, [meeting("SOON", days=0.01)])  # starts in about 15 minutes

    run = provisioning_dag.test(run_conf=provisioning_conf())
    assert run.state == "success", "a deletion waiting for a person never fails nor holds the run"
    found = states(run)
    assert found["request_approval"] == "success" and found["retire_cancelled"] == "success"
    assert {f"mtg-{i}" for i in ids} <= set(live_rooms(daily_conn)), "nothing deleted without the person"
    rows = table_rows(sqlite_meetings_db)
    assert rows["SOON"]["dial_string"], "the new meeting got its room in the same run"
    assert "waiting for a person's approval (DAG daily_dialin_provisioning_deletions)" in rows["DH0"]["last_error"]
    pending = json.loads(Variable.get(f"{LEDGER}__decisions_cancelled"))["pending"]
    assert sorted(room["room_name"] for room in pending["plan"]["rooms"]) == [f"mtg-{i}" for i in ids]

    insert_rows(sqlite_meetings_db, [meeting("SOON2", days=0.01)])
    again = provisioning_dag.test(run_conf=provisioning_conf())
    assert again.state == "success" and states(again)["request_approval"] == "skipped", "one approval at a time"
    assert table_rows(sqlite_meetings_db)["SOON2"]["dial_string"]


def test_the_approval_dag_with_nothing_pending_is_skipped_through(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.daily import REPO

    bag = DagBag(dag_folder=str(REPO / "dags" / "daily_dialin_provisioning.py"))
    approvals = bag.dags["daily_dialin_provisioning_deletions"]
    run = approvals.test()
    assert run.state == "success"
    found = states(run)
    assert found["pending_deletions"] == "skipped" and found["approve_deletions"] == "skipped"
    assert found["delete_approved"] == "success" and found["verify"] == "success"


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
    assert states(first)["request_approval"] == "skipped"
    assert "mtg-orphan-1" in Variable.get(key), "first seen, recorded; never deleted on first sight"
    assert "mtg-orphan-1" in live_rooms(daily_conn)
    second = reconcile_dag.test()
    assert second.state == "success" and states(second)["delete_orphans"] == "success"
    assert set(live_rooms(daily_conn)) == {"elsewhere-1"}
    assert "mtg-orphan-1" not in Variable.get(key)
