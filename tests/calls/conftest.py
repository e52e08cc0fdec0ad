"""Fixtures of the calls-loop tests: a meetings database (SQLite or the throwaway PostgreSQL) with
the shipped meetings table, the Daily connection carrying the webhook secret, and the receiver app.

May import: the application, the test support modules and the standard library.
"""

from __future__ import annotations

import json
import uuid
from contextlib import closing

import pytest

from daily_dialin.calls.settings import CallsSettings
from daily_dialin.calls.store import CallsStore
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.table import MeetingsTable
from tests.calls.helpers import SECRET


def _postgres_conn(server) -> dict:
    import psycopg2

    name = f"calls_{uuid.uuid4().hex[:10]}"
    with closing(psycopg2.connect(server.uri)) as admin:
        admin.autocommit = True
        admin.cursor().execute(f"CREATE DATABASE {name}")
    return {"conn_type": "postgres", "host": "127.0.0.1", "port": server.port, "login": "postgres", "schema": name}


@pytest.fixture
def daily_secret(monkeypatch):
    """``daily_default`` with the webhook secret in its extras (no API calls are made with it)."""
    conn = {"conn_type": "daily", "host": "http://127.0.0.1:9/v1", "password": "k", "extra": {"webhook_secret": SECRET}}
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", json.dumps(conn))
    monkeypatch.delenv("AIRFLOW_VAR_DAILY_PROVISIONING", raising=False)
    monkeypatch.delenv("AIRFLOW_VAR_DAILY_CALLS", raising=False)
    return SECRET


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def calls_db(request, tmp_path, monkeypatch, daily_secret):
    """The shipped meetings table and a :class:`CallsStore` on the same database."""
    if request.param == "sqlite":
        conn = {"conn_type": "sqlite", "host": str(tmp_path / "meetings.db")}
    else:
        conn = _postgres_conn(request.getfixturevalue("postgres_server"))
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps(conn))
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    store = CallsStore(engine=table.engine, settings=CallsSettings())
    return table, store


@pytest.fixture
def receiver(calls_db):
    """The receiver app in-process, with its real Airflow sources (env connections, no Variables)."""
    from fastapi.testclient import TestClient

    from daily_dialin.calls.receiver import create_app

    app = create_app()
    with TestClient(app) as client:
        client.app_state = app.state
        yield client
