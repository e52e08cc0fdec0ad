"""Fixtures for provisioning runs: a meetings table on SQLite or PostgreSQL, and the DAG."""

from __future__ import annotations

import json
import uuid
from contextlib import closing

import pytest

from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.table import MeetingsTable


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def meetings_db(request, tmp_path, monkeypatch):
    """An empty meetings table (shipped schema) behind connection ``daily_meetings_db``."""
    if request.param == "sqlite":
        conn = {"conn_type": "sqlite", "host": str(tmp_path / "meetings.db")}
    else:
        import psycopg2

        server = request.getfixturevalue("postgres_server")
        name = f"meetings_{uuid.uuid4().hex[:10]}"
        with closing(psycopg2.connect(server.uri)) as admin:
            admin.autocommit = True
            admin.cursor().execute(f"CREATE DATABASE {name}")
        conn = {"conn_type": "postgres", "host": "127.0.0.1", "port": server.port, "login": "postgres", "schema": name}
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps(conn))
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    return table


@pytest.fixture
def sqlite_meetings_db(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "m.db")})
    )
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    return table


@pytest.fixture(scope="session")
def provisioning_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.daily import REPO

    bag = DagBag(dag_folder=str(REPO / "dags" / "daily_dialin_provisioning.py"))
    assert not bag.import_errors
    return bag.dags["daily_dialin_provisioning"]
