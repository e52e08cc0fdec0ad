"""Issue 21, "alerts are true": a run alerts only on meetings it could have provisioned - those its
plan saw. A meeting booked after the plan (starting soon, or already in progress) is the next
run's: this run neither fails on it nor writes "missed" to it, and the next run provisions it. A
real miss - a meeting the plan saw, started, still without a room - still fails the run.

The steps run one by one (as the DAG's tasks do), with rows inserted between ``plan`` and the
chunks or ``summarize``, against the emulator over real HTTP and a real SQLite table. Times are
relative to one ``now`` per test and passed to every step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daily_dialin.provisioning import steps
from daily_dialin.provisioning.table import Seen
from tests.support.engine import DEFAULT_PARAMS, insert_rows, run_engine, table_rows

TS = "%Y-%m-%d %H:%M:%S"


def _row(meeting_id: str, now: datetime, *, minutes: float, length: float = 60, **overrides) -> dict:
    start = now + timedelta(minutes=minutes)
    row = {
        "meeting_id": meeting_id,
        "title": f"Meeting {meeting_id}",
        "starts_at": f"{start:{TS}}",
        "ends_at": f"{start + timedelta(minutes=length):{TS}}",
        "timezone": "UTC",
        "status": "scheduled",
    }
    return {**row, **overrides}


def _run(now: datetime, *, after_plan=None, after_chunks=None) -> dict:
    """One run, step by step; ``after_plan``/``after_chunks``: what happens to the table meanwhile."""
    result = steps.plan(params=dict(DEFAULT_PARAMS), run_type="manual", logical_date=None, now=now)
    run = result["run"]
    if after_plan:
        after_plan()
    chunks = []
    for index, bounds in enumerate(result["bounds"]):
        try:
            chunks.append(steps.provision_chunk(index=index, bounds=bounds, run=run, now=now))
        except steps.Interrupted as exc:
            chunks.append(exc.result.to_xcom())
    if after_chunks:
        after_chunks()
    summary = steps.summarize(run=run, chunk_results=chunks, retired=steps.retire_cancelled(run=run), now=now)
    try:
        steps.verify(summary)
        verdict = "success"
    except Exception as exc:
        verdict = str(exc)
    return {**summary, "verdict": verdict}


def test_meetings_booked_after_the_plan_are_the_next_runs(sqlite_meetings_db, daily_conn):
    now = datetime.now(UTC).replace(microsecond=0)
    insert_rows(sqlite_meetings_db, [_row("EARLY", now, minutes=60 * 24)])

    def book():  # while the run is under way: one starting in 10 min, one in progress for 5 min
        insert_rows(sqlite_meetings_db, [_row("SOON", now, minutes=10), _row("LIVE", now, minutes=-5)])

    first = _run(now, after_chunks=book)
    assert first["verdict"] == "success", first["verdict"]
    assert first["not_ready_soon"]["count"] == 0 and first["missed"]["count"] == 0
    rows = table_rows(sqlite_meetings_db)
    assert rows["LIVE"]["last_error"] is None and rows["SOON"]["last_error"] is None, "nothing written to them"

    second = _run(now + timedelta(seconds=10))
    assert second["verdict"] == "success", second["verdict"]
    rows = table_rows(sqlite_meetings_db)
    for meeting_id in ("EARLY", "SOON", "LIVE"):
        assert rows[meeting_id]["provisioned_at"] and rows[meeting_id]["last_error"] is None, meeting_id


def test_a_meeting_booked_in_progress_between_plan_and_chunks_is_not_missed(sqlite_meetings_db, daily_conn):
    now = datetime.now(UTC).replace(microsecond=0)

    def book():
        insert_rows(sqlite_meetings_db, [_row("LIVE", now, minutes=-20)])

    first = _run(now, after_plan=book)
    assert first["verdict"] == "success", first["verdict"]
    assert first["missed"]["count"] == 0
    assert table_rows(sqlite_meetings_db)["LIVE"]["last_error"] is None
    second = run_engine(now=now + timedelta(seconds=10))
    assert second["verdict"] == "success", second["verdict"]
    row = table_rows(sqlite_meetings_db)["LIVE"]
    assert row["provisioned_at"] and row["last_error"] is None, "it gets its room, it is not 'missed'"


def test_a_real_miss_still_fails_the_run_that_finds_it(sqlite_meetings_db, daily_conn):
    now = datetime.now(UTC).replace(microsecond=0)
    # in the table before the plan, started 10 min ago, and it cannot get a room (a bad zone)
    insert_rows(sqlite_meetings_db, [_row("MISS", now, minutes=-10, timezone="Mars/Olympus")])
    insert_rows(sqlite_meetings_db, [_row("SOON-BAD", now, minutes=30, timezone="Mars/Olympus")])
    summary = _run(now)
    assert summary["missed"] == {"count": 1, "ids": ["MISS"]}
    assert summary["not_ready_soon"] == {"count": 1, "ids": ["SOON-BAD"]}
    assert "started without ever having had a room ('MISS')" in summary["verdict"]
    assert table_rows(sqlite_meetings_db)["MISS"]["last_error"].startswith("missed: ")


def test_the_alert_scope_falls_back_to_the_plans_reach_when_it_cannot_list_them_all(sqlite_meetings_db):
    now = datetime.now(UTC).replace(microsecond=0)
    insert_rows(sqlite_meetings_db, [_row("IN", now, minutes=-30), _row("OUT", now, minutes=-5)])
    table = sqlite_meetings_db
    listed = Seen(ids=("IN",), complete=True, reach=now)
    assert table.mark_missed(now=now, limit=10, seen=listed) == (1, ["IN"])
    reach = Seen(ids=(), complete=False, reach=now - timedelta(minutes=10))
    assert table.mark_missed(now=now, limit=10, seen=reach) == (0, []), "IN is marked already; OUT is past reach"
    assert table.mark_missed(now=now, limit=10, seen=None) == (1, ["OUT"]), "no scope: every row, as before"
