"""Fixtures for the doctor: a healthy deployment (the emulator's domain, a SQLite meetings table
with a few meetings, the pool, the Test button enabled) that each test breaks in one place."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.table import MeetingsTable
from tests.support.daily import PIN_NUMBER


def row(table: MeetingsTable, meeting_id: str, now: datetime, *, days: float = 2, **values) -> dict:
    """A meeting row (logical names) starting ``days`` after ``now``, one hour long."""
    starts = now + timedelta(days=days)
    base = {
        "meeting_id": meeting_id,
        "title": f"Meeting {meeting_id}",
        "starts_at": table.ts(starts),
        "ends_at": table.ts(starts + timedelta(hours=1)),
        "timezone": "UTC",
        "wait_for_meeting_start": True,
        "requested_phone_number": PIN_NUMBER,
        "status": "scheduled",
        "attempts": 0,
    }
    return {**base, **values}


def insert(table: MeetingsTable, *rows: dict) -> None:
    with table.engine.begin() as conn:
        conn.execute(table.meetings.insert(), list(rows))


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def table(tmp_path, monkeypatch, now) -> MeetingsTable:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "m.db")})
    )
    meetings = MeetingsTable.from_config(ProvisioningConfig())
    meetings.create_schema()
    insert(meetings, row(meetings, "M1", now), row(meetings, "M2", now, days=3))
    return meetings


@pytest.fixture
def deployment(daily_conn, airflow_db, table, monkeypatch):
    """Everything ok: returns the emulator server."""
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(
        "daily_api", slots=ProvisioningConfig().api_concurrency, description="Daily API", include_deferred=False
    )
    from airflow.models.crypto import get_fernet
    from cryptography.fernet import Fernet

    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("AIRFLOW_VAR_DAILY_PROVISIONING", raising=False)
    get_fernet.cache_clear()
    yield daily_conn
    get_fernet.cache_clear()
