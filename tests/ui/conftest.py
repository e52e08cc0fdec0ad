"""Fixtures for the dial-in page: a SQLite meetings table with one meeting in every state, the
page's app over it with a frozen clock, and Airflow's simple auth manager issuing real JWTs.

The auth manager is Airflow's own (``SimpleAuthManager``, ``simple_auth_manager_all_admins`` off):
tokens are signed with a test secret and checked by Airflow's ``get_user`` as on the API server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.table import MISSED_PREFIX, MeetingsTable
from tests.support.engine import insert_rows

NOW = datetime.now(UTC).replace(microsecond=0)  # the app's clock is frozen here: rows are relative to it
DAG_ID = "daily_dialin_provisioning"
PIN = "12345678901"


def at(delta: timedelta) -> str:
    return f"{NOW + delta:%Y-%m-%d %H:%M:%S}"


def row(meeting_id: str, start: timedelta, *, hours: float = 1, **values):
    return {
        "meeting_id": meeting_id,
        "title": f"Meeting {meeting_id}",
        "starts_at": at(start),
        "ends_at": at(start + timedelta(hours=hours)),
        "timezone": "Europe/Berlin",
        "status": "scheduled",
        **values,
    }


def room(meeting_id: str):
    return {
        "room_name": f"mtg-{meeting_id}",
        "room_url": f"https://example.daily.co/mtg-{meeting_id}",
        "dialin_pin": PIN,
        "dialin_number": "+12095550100",
        "dial_string": f"tel:+12095550100,,{PIN}",
        "provisioned_at": at(timedelta(hours=-1)),
    }


DAY = timedelta(days=1)
ROWS = [
    row("R1", 2 * DAY, **room("R1")),
    row("R2", 3 * DAY, **room("R2")),
    row("D1", -timedelta(minutes=20), **room("D1"), last_error="deferred: live (2 participants, 1 on the phone): x"),
    row("P1", DAY),
    row("S1", timedelta(minutes=10)),  # pending and at risk: within alert_within_minutes, no room
    row("F1", 4 * DAY, attempts=1, last_error="not provisioned: Daily refused the room"),
    row("G1", 5 * DAY, attempts=5, last_error="not provisioned: Daily refused the room"),
    row("X1", -timedelta(minutes=30), last_error=f"{MISSED_PREFIX}the meeting started without a room"),
    row("B1", DAY, status="weird"),  # a status in no list: a row problem
    {**row("B2", DAY), "starts_at": "not a time"},  # a row problem
    row("C1", DAY, status="cancelled"),
    row("O1", -3 * DAY),  # over: not listed
    row("H1", 45 * DAY),  # beyond the 30-day horizon: not listed
]
LISTED = {"R1", "R2", "D1", "P1", "S1", "F1", "G1", "X1", "B1", "B2", "C1"}


@pytest.fixture
def meetings(tmp_path, monkeypatch) -> MeetingsTable:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "m.db")})
    )
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    insert_rows(table, ROWS)
    return table


@pytest.fixture(scope="session")
def auth_manager(airflow_db):
    """Airflow's simple auth manager with real JWTs (all-admins off); tokens are checked against the
    metadata DB's revoked tokens, so it needs the migrated DB."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        )
        mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "viewer:viewer,editor:user")
        mp.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "dial-in-page-tests-only-" + "0" * 48)
        from airflow.api_fastapi.app import init_auth_manager

        yield init_auth_manager()


@pytest.fixture(scope="session")
def tokens(auth_manager):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    def token(name: str, role: str | None) -> str:
        return auth_manager.generate_jwt(SimpleAuthManagerUser(username=name, role=role))

    # "nobody" is signed in but has no role: no access to any DAG
    return {"viewer": token("viewer", "viewer"), "editor": token("editor", "user"), "nobody": token("nobody", None)}


@pytest.fixture
def client(meetings, auth_manager):
    from fastapi.testclient import TestClient

    from daily_dialin.ui.app import create_app
    from daily_dialin.ui.sources import Sources

    app = create_app(sources=Sources(load=lambda: {DAG_ID: meetings.config}), clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client
