"""DagBag integrity: every DAG file imports, without any connection or variable defined."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {
    "daily_dialin_provisioning",
    "daily_dialin_provisioning_deletions",  # the approval DAGs: built by the factories with their DAG
    "daily_dialin_reconcile",
    "daily_dialin_reconcile_deletions",
    "daily_dialin_invitations",
    "daily_dialin_calls",
    "daily_dialin_doctor",
    "daily_pin_dialin_number_assignment",
    "example_daily_room_lifecycle",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    assert not any(k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")) for k in os.environ)
    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_tags_retries_and_docs(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert "daily" in dag.tags
    assert dag.doc_md
    for task in dag.tasks:
        if task.task_id not in ("verify", "delete_requested", "alert_dialin_errors"):
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_provisioning_shape(dagbag):
    dag = dagbag.dags["daily_dialin_provisioning"]
    assert dag.max_active_runs == 1
    chunk = dag.get_task("provision_chunk")
    assert chunk.pool == "daily_api"
    assert dag.get_task("summarize").trigger_rule == "all_done"
    assert [o.name for o in dag.get_task("summarize").outlets] == ["daily_dialin_meetings"]
    assert set(dag.params) >= {"window_start", "window_end", "meeting_ids", "dry_run", "force", "mode", "lead_days"}


@pytest.mark.parametrize("dag_id", ["daily_dialin_provisioning", "daily_dialin_reconcile"])
def test_a_pending_decision_lives_in_an_approval_dag_of_its_own(dagbag, dag_id):
    """No Human-in-the-loop task in the DAG that provisions (one run at a time: an approval waiting
    in it would stall every run behind it); the approval DAG runs on the asset the request emits."""
    dag, approvals = dagbag.dags[dag_id], dagbag.dags[f"{dag_id}_deletions"]
    assert "approve_deletions" not in dag.task_dict
    requested = [o.uri for o in dag.get_task("request_approval").outlets]
    assert requested == [f"daily-dialin://{dag_id}/deletions-requested"]
    assert approvals.max_active_runs == 1 and approvals.is_paused_upon_creation is False
    assert [o.uri for o in approvals.get_task("pending_deletions").outlets] == [
        f"daily-dialin://{dag_id}/deletions-waiting"
    ]
    assert approvals.get_task("approve_deletions").upstream_task_ids == {"pending_deletions"}
    assert approvals.get_task("delete_approved").trigger_rule == "all_done"
    assert "redecide_deletions" in dag.params


def test_params_are_validated(dagbag):
    import copy

    dag = dagbag.dags["daily_dialin_provisioning"]
    params = copy.deepcopy(dag.params)
    with pytest.raises(Exception, match="does not match|date"):
        params.update({"window_start": "next tuesday"})
        params.validate()
    params = copy.deepcopy(dag.params)
    with pytest.raises(Exception, match="boolean"):
        params.update({"dry_run": "maybe"})
        params.validate()
