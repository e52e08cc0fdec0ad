"""The notifier of the freshness page reports a failed provisioning run (``docs/freshness.md``).

The notifier is imported from ``docs/examples/failure_notifier.py``, the file the page includes.
A provisioning DAG built with the factory (a DAG file of its own, in a DAG bundle of its own, as
``tests/dags/test_factories.py`` does) gets it as every task's ``on_failure_callback`` (through
``default_args``); a meeting whose row is bad (an empty title) makes ``verify`` fail; ``dag.test()``
(SQLite, the emulator) runs the task's callback in-process, and the file names the failed task.

Task level, not DAG level: ``dag.test()`` in Airflow 3.3 calls a DAG-level ``on_failure_callback``
in-process too, but with the serialized DAG in its context, on which a ``BaseNotifier`` cannot
render its templates (``'SerializedDAG' object has no attribute 'get_template_env'``, logged as
"Callback failed"); deployed, DAG-level callbacks run in the DAG processor with the parsed DAG.
"""

from __future__ import annotations

import json

import pytest

from tests.provisioning import conftest as provisioning_fixtures
from tests.support.daily import provisioning_conf
from tests.support.engine import insert_rows, meeting, table_rows
from tests.support.paths import REPO

sqlite_meetings_db = provisioning_fixtures.sqlite_meetings_db

EXAMPLES = REPO / "docs" / "examples"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
DAG_ID = "notified_provisioning"
DAG_FILE = '''
"""A user's Airflow DAG file: a provisioning DAG whose failures the docs' notifier reports."""
from failure_notifier import provisioning_dag_with_alerts  # docs/examples, on sys.path

dag = provisioning_dag_with_alerts(dag_id={dag_id!r}, alerts_file={alerts!r}, schedule=None)
'''


@pytest.fixture
def notified_dag(airflow_db, daily_conn, tmp_path, monkeypatch):
    """The DAG of the user's file, parsed by a DagBag from a bundle of its own."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.syspath_prepend(str(EXAMPLES))
    alerts = tmp_path / "alerts.jsonl"
    folder = tmp_path / "notified_dags"
    folder.mkdir()
    (folder / "notified_dag.py").write_text(DAG_FILE.format(dag_id=DAG_ID, alerts=str(alerts)), encoding="utf-8")
    bundles = [
        {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
        {"name": "notified-dags", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(folder)}},
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID], alerts


def test_the_docs_notifier_is_what_the_dag_calls(notified_dag):
    from failure_notifier import FileFailureNotifier

    dag, alerts = notified_dag
    for task in dag.tasks:  # a list on most operators, the notifier itself on a mapped one
        callbacks = task.on_failure_callback
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        assert [type(c) for c in callbacks] == [FileFailureNotifier], task.task_id
        assert callbacks[0].path == str(alerts)


def test_a_failed_verify_is_reported_by_the_notifier(notified_dag, sqlite_meetings_db):
    dag, alerts = notified_dag
    insert_rows(sqlite_meetings_db, [meeting("GOOD1"), meeting("BAD1", title="")])

    dag_run = dag.test(run_conf=provisioning_conf())

    assert dag_run.state == "failed"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["verify"] == "failed"
    assert states["summarize"] == "success"
    rows = table_rows(sqlite_meetings_db)
    assert rows["GOOD1"]["dialin_pin"]  # the good meeting got its room all the same
    assert "title is empty" in rows["BAD1"]["last_error"]

    entries = [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines()]
    task_level = [e for e in entries if e["exception"]]
    assert [(e["dag_id"], e["task_id"]) for e in task_level] == [(DAG_ID, "verify")]
    assert "1 meeting(s) failed" in task_level[0]["exception"]
    assert "'BAD1'" in task_level[0]["exception"]
    assert len(entries) == 1, entries  # no other task failed
