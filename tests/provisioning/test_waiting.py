"""Issue 21, "waiting is not failing": a meeting too far ahead for Daily's 365-day limit waits,
whichever run selects it - no attempt counted, never given up on - and is provisioned once it is
within reach.

Every time is built from one ``now`` taken when the test runs, and the later runs move the whole
process's clock (``time_machine``: the application, the provider's client-side check and the
in-process emulator move together), so the test holds on any date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from daily_dialin.provisioning.meetings import WAITING_PREFIX
from tests.support.engine import insert_rows, run_engine, table_rows

TS = "%Y-%m-%d %H:%M:%S"


def _far(meeting_id: str, now: datetime, days: int) -> dict:
    start = now + timedelta(days=days)
    return {
        "meeting_id": meeting_id,
        "title": f"Meeting {meeting_id}",
        "starts_at": f"{start:{TS}}",
        "ends_at": f"{start + timedelta(hours=1):{TS}}",
        "timezone": "UTC",
        "status": "scheduled",
    }


def test_a_meeting_beyond_365_days_waits_and_gets_its_room_when_within_reach(sqlite_meetings_db, daily_conn):
    now = datetime.now(UTC).replace(microsecond=0)
    insert_rows(sqlite_meetings_db, [_far("FAR", now, 400)])

    for _ in range(6):  # more than max_attempts (5) manual runs naming it
        summary = run_engine(params={"meeting_ids": ["FAR"]}, now=now)
        assert summary["verdict"] == "success", summary["verdict"]
        assert summary["waiting"] == {"count": 1, "ids": ["FAR"]}
        assert summary["counts"]["failed"] == 0 and "FAR" not in summary["failures"]
        assert summary["given_up"]["count"] == 0
    row = table_rows(sqlite_meetings_db)["FAR"]
    assert row["attempts"] == 0, "waiting is not an attempt"
    assert row["last_error"].startswith(WAITING_PREFIX), row["last_error"]
    assert row["room_name"] is None and row["provisioned_at"] is None

    later = now + timedelta(days=380)  # the meeting now starts in 20 days: a rolling run selects it
    with time_machine.travel(later, tick=True):
        dry = run_engine(params={"dry_run": True}, now=later)
        assert dry["given_up"]["count"] == 0, dry["given_up"]
        summary = run_engine(now=later)
    assert summary["verdict"] == "success", summary["verdict"]
    assert summary["counts"]["created"] == 1
    row = table_rows(sqlite_meetings_db)["FAR"]
    assert row["provisioned_at"] and row["dialin_pin"] and row["last_error"] is None


def test_a_window_run_and_a_rolling_run_at_the_edge_wait_too(sqlite_meetings_db, daily_conn, monkeypatch):
    """The rolling window reaches the 365 days when horizon_days is at its maximum: a meeting whose
    end (plus grace) passes the limit waits there too."""
    import json

    from daily_dialin.provisioning.config import MAX_AHEAD_DAYS

    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", json.dumps({"horizon_days": MAX_AHEAD_DAYS}))
    now = datetime.now(UTC).replace(microsecond=0)
    row = _far("EDGE", now, MAX_AHEAD_DAYS - 1)
    row["ends_at"] = f"{now + timedelta(days=366):{TS}}"  # a long meeting: its end is out of reach
    insert_rows(sqlite_meetings_db, [row])
    for _ in range(6):
        summary = run_engine(now=now)
        assert summary["verdict"] == "success", summary["verdict"]
        assert summary["waiting"]["ids"] == ["EDGE"]
    assert table_rows(sqlite_meetings_db)["EDGE"]["attempts"] == 0
