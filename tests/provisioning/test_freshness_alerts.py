"""Nothing silent in time: every run names the meetings about to start without a room (read after
its chunks wrote back) and, once, each meeting that started without ever having had one.

The provisioning steps against the emulator over real HTTP and a real SQLite table
(``tests/support/engine.py``), as in ``test_guarantees.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from daily_dialin.errors import ProvisioningFailed
from daily_dialin.provisioning import steps
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.handover import RunPlan, Summary
from daily_dialin.provisioning.window import Selection
from tests.support.engine import insert_rows, meeting, run_engine, settings_env, table_rows

HOUR = 1 / 24


def test_a_meeting_about_to_start_without_a_room_fails_the_run_by_id(sqlite_meetings_db, daily_conn):
    insert_rows(
        sqlite_meetings_db,
        [
            meeting("SOON-BAD", days=HOUR, timezone="Mars/Olympus"),  # in 1 h, and it cannot get a room
            meeting("LATER-BAD", days=3 * HOUR, timezone="Mars/Olympus"),  # in 3 h: past the 120 min
            meeting("SOON-OK", days=0.5 * HOUR),  # in 30 min: provisioned by this very run
        ],
    )
    summary = run_engine()
    assert summary["not_ready_soon"] == {"count": 1, "ids": ["SOON-BAD"]}, "read after the chunks wrote back"
    assert summary["alert_within_minutes"] == 120
    assert "1 meeting(s) starting within 120 minutes without a room ('SOON-BAD')" in summary["verdict"]
    assert table_rows(sqlite_meetings_db)["SOON-OK"]["provisioned_at"]


def test_an_outage_right_before_a_meeting_is_named(sqlite_meetings_db, daily_conn):
    insert_rows(sqlite_meetings_db, [meeting("O1", days=HOUR), meeting("O2", days=5)])
    daily_conn.admin.configure(faults={"rate_503": 1.0})
    summary = run_engine()
    assert summary["not_ready_soon"] == {"count": 1, "ids": ["O1"]}
    assert "('O1')" in summary["verdict"]


def test_the_alert_window_follows_the_setting(sqlite_meetings_db, daily_conn, monkeypatch):
    insert_rows(sqlite_meetings_db, [meeting("W1", days=3 * HOUR, timezone="Mars/Olympus")])
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(alert_within_minutes=240))
    assert run_engine()["not_ready_soon"]["ids"] == ["W1"]
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(alert_within_minutes=0))
    summary = run_engine()
    assert summary["not_ready_soon"]["count"] == 0, "0 switches the alert off"
    assert "W1" in summary["verdict"], "the row's own failure still fails the run"


def test_a_meeting_that_started_without_a_room_is_reported_once(sqlite_meetings_db, daily_conn):
    insert_rows(
        sqlite_meetings_db,
        [
            meeting("GONE", days=-3 * HOUR),  # started 3 h ago, ended 2 h ago: no run will give it a room
            meeting("LIVE", days=-0.25 * HOUR),  # started 15 min ago, still on: this run provisions it
            meeting("NEXT", days=2),
        ],
    )
    first = run_engine()
    assert first["missed"] == {"count": 1, "ids": ["GONE"]}
    assert "1 meeting(s) started without ever having had a room ('GONE')" in first["verdict"]
    rows = table_rows(sqlite_meetings_db)
    assert rows["GONE"]["last_error"].startswith("missed: ")
    assert rows["LIVE"]["provisioned_at"] and rows["NEXT"]["provisioned_at"]
    second = run_engine()
    assert second["missed"]["count"] == 0, "reported by the first run after, not by every run"
    assert second["verdict"] == "success"


def test_a_dry_run_checks_and_writes_nothing(sqlite_meetings_db, daily_conn):
    insert_rows(sqlite_meetings_db, [meeting("GONE", days=-3 * HOUR), meeting("SOON", days=HOUR)])
    summary = run_engine(params={"dry_run": True})
    assert summary["missed"]["count"] == 0 and summary["not_ready_soon"]["count"] == 0
    assert table_rows(sqlite_meetings_db)["GONE"]["last_error"] is None
    assert run_engine()["missed"]["ids"] == ["GONE"], "the next real run reports it"


def _plan(**config) -> dict:
    return RunPlan(config=ProvisioningConfig(**config), selection=Selection(), mode="rolling", window="w").to_xcom()


def test_a_table_summarize_cannot_read_fails_the_run_instead_of_hiding_it(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_NOPE", '{"conn_type": "nope"}')
    summary = steps.summarize(run=_plan(meetings_conn_id="nope"), chunk_results=[], now=datetime.now(UTC))
    assert "meetings connection 'nope'" in summary["freshness_error"]
    with pytest.raises(ProvisioningFailed, match="the check for meetings about to start without a room failed"):
        steps.verify(summary)


def test_verify_names_both_lists_and_passes_when_they_are_empty():
    steps.verify(Summary(alert_within_minutes=120).to_xcom())
    summary = Summary(
        alert_within_minutes=30,
        not_ready_soon={"count": 3, "ids": ["A", "B", "C"]},
        missed={"count": 1, "ids": ["Z"]},
    )
    with pytest.raises(ProvisioningFailed) as failed:
        steps.verify(summary.to_xcom())
    assert str(failed.value) == (
        "3 meeting(s) starting within 30 minutes without a room ('A', 'B', 'C'); "
        "1 meeting(s) started without ever having had a room ('Z')"
    )
