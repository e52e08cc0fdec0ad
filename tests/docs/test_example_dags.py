"""The example DAGs are system tests, and the docs' snippets come from them.

* ``dags/example_daily_room_lifecycle.py`` runs with ``dag.test()`` against the local emulator,
  creating a room and deleting it again;
* every ``[START howto_...]`` marker of an example (and of the number-assignment factory) has its
  ``[END ...]``, and every one the docs include exists (the docs build fails on a missing one too;
  this says which file to fix, sooner);
* the factory example of the docs (``docs/examples/ops_meetings_dags.py``) imports as a DAG file
  and builds the three DAGs of a second table, watching it.
"""

from __future__ import annotations

import re

import pytest

from tests.support.paths import REPO

# files with [START howto_...] markers: the example DAGs, the docs' examples, and the factory the
# operators page includes the number-assignment operator from
EXAMPLES = [
    *sorted((REPO / "dags").glob("example_*.py")),
    *sorted((REPO / "docs" / "examples").glob("*.py")),
    REPO / "include" / "daily_dialin" / "dags" / "number_assignment.py",
]
MARKER = re.compile(r"# \[(START|END) (howto_\w+)\]")
INCLUDE = re.compile(r':(?:start-after|end-before): "\[(?:START|END) (howto_\w+)\]"')


def _markers(path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for kind, name in MARKER.findall(path.read_text(encoding="utf-8")):
        found.setdefault(name, []).append(kind)
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_markers_come_in_pairs(path):
    for name, kinds in _markers(path).items():
        assert kinds == ["START", "END"], f"{path.name}: {name} has {kinds}"


def test_every_included_snippet_exists():
    defined = {name for path in EXAMPLES for name in _markers(path)}
    used = {name for page in (REPO / "docs").rglob("*.md") for name in INCLUDE.findall(page.read_text("utf-8"))}
    assert used, "no page includes an example snippet"
    assert used <= defined, f"included but not in any example: {sorted(used - defined)}"


def test_room_lifecycle_example_runs_against_the_emulator(airflow_db, daily_conn):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "example_daily_room_lifecycle.py"))
    assert not bag.import_errors
    dag = bag.dags["example_daily_room_lifecycle"]
    conf = {"room_name": "docs-example", "display_name": "Docs example", "hours": 1, "delete": True}
    dag_run = dag.test(logical_date=None, run_conf=conf)
    assert dag_run.state == "success"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == dict.fromkeys(["expires_at", "create_room", "delete_requested", "delete_room"], "success")
    counters = daily_conn.admin.counters()
    assert counters["rooms_created"] == 1
    assert not [r for r in daily_conn.admin.snapshot()["rooms"] if r["name"] == "docs-example" and not r.get("expired")]


def test_factory_example_builds_the_dags_of_a_second_table(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "docs" / "examples" / "ops_meetings_dags.py"))
    assert not bag.import_errors
    approvals = {"ops_provisioning_deletions", "ops_reconcile_deletions"}  # each factory's approval DAG
    assert set(bag.dag_ids) == {"ops_provisioning", "ops_reconcile", "ops_invitations", *approvals}
    provisioning = bag.dags["ops_provisioning"]
    assert [a.name for a in provisioning.get_task("summarize").outlets] == ["daily_dialin_meetings.ops_db.ops_meetings"]
    watched = provisioning.timetable.asset_condition  # the watcher's asset (or the safety cron)
    assert watched.name == "daily_dialin_meetings_table.ops_db.ops_meetings"
    assert watched.watchers, "the table is not watched"
