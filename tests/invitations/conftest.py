"""Fixtures for invitation runs: a provisioned meetings table, the two DAGs, a storage base."""

from __future__ import annotations

import json

import pytest

from daily_demo.sample import insert_meetings, sample_meetings
from tests.provisioning import conftest as provisioning_fixtures
from tests.support.daily import PIN_NUMBER, provisioning_conf

# the provisioning tests' fixtures, shared: a meetings table (SQLite, PostgreSQL) and the provisioning DAG
meetings_db = provisioning_fixtures.meetings_db
sqlite_meetings_db = provisioning_fixtures.sqlite_meetings_db
provisioning_dag = provisioning_fixtures.provisioning_dag

INVITATIONS_CONF = {"meeting_ids": [], "force": False}


@pytest.fixture(scope="session")
def invitations_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.daily import REPO

    bag = DagBag(dag_folder=str(REPO / "dags" / "daily_dialin_invitations.py"))
    assert not bag.import_errors
    return bag.dags["daily_dialin_invitations"]


@pytest.fixture
def invites_dir(tmp_path, monkeypatch):
    """The storage base (a local folder) in the ``daily_invitations`` Variable."""
    base = tmp_path / "invites"
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_INVITATIONS", json.dumps({"base_path": str(base)}))
    return base


def provision(dag, **conf):
    # full conf every time: dag.test() keeps the previous run's params on the shared DAG object
    return dag.test(run_conf=provisioning_conf(**conf))


def invite(dag, **conf):
    return dag.test(run_conf={**INVITATIONS_CONF, **conf})


@pytest.fixture
def provisioned(provisioning_dag, sqlite_meetings_db, daily_conn):
    """The sample meetings, provisioned by the provisioning DAG against the emulator."""
    meetings = sample_meetings(count=8, pin_number=PIN_NUMBER)
    insert_meetings(sqlite_meetings_db, meetings)
    assert provision(provisioning_dag).state == "success"
    return sqlite_meetings_db, meetings
