"""``daily_dialin_provisioning`` end to end with ``dag.test()``: SQLite and PostgreSQL source
tables, the emulator over HTTP, real Airflow task runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from daily_demo.sample import insert_meetings, sample_meetings
from tests.support.daily import OTHER_NUMBER, PIN_NUMBER, TEST_KEY, daily_connection_uri, provisioning_conf


def run(dag, *, logical_date=None, **conf):
    # full conf every time: dag.test() keeps the previous run's params on the shared DAG object
    return dag.test(logical_date=logical_date, run_conf=provisioning_conf(**conf))


def rows(table) -> dict[str, dict]:
    return {r.meeting_id: dict(r.values) for r in table.read_all()}


def emulator_rooms(emulator) -> dict[str, dict]:
    return {r["name"]: r for r in emulator.admin.snapshot()["rooms"] if not r.get("expired")}


def scheduled_ids(meetings) -> set[str]:
    return {m["meeting_id"] for m in meetings if m["status"] == "scheduled"}


@pytest.fixture
def seeded(meetings_db):
    meetings = sample_meetings(pin_number=PIN_NUMBER)
    insert_meetings(meetings_db, meetings)
    return meetings_db, meetings


def test_provisions_every_due_meeting_then_nothing(provisioning_dag, seeded, daily_conn, capfd, caplog):
    table, meetings = seeded
    assert run(provisioning_dag).state == "success"

    after = rows(table)
    rooms = emulator_rooms(daily_conn)
    provisioned = {mid for mid, r in after.items() if r["room_name"]}
    assert provisioned == scheduled_ids(meetings)
    assert after["M1022"]["room_name"] is None, "cancelled meetings get no room"
    for mid in provisioned:
        row = after[mid]
        room = rooms[row["room_name"]]
        assert row["room_name"] == f"mtg-{mid}"
        assert re.fullmatch(r"\d{11}", row["dialin_pin"].strip())
        assert row["dialin_pin"].strip() == room["config"]["dialin_code"]
        assert row["dialin_number"] == room["config"]["dialin_number"]
        assert row["dial_string"] == f"tel:{row['dialin_number']},,{row['dialin_pin'].strip()}"
        assert row["room_url"] == room["url"]
        assert row["provisioned_at"] is not None
        assert row["last_error"] is None
        assert row["attempts"] == 0, "a success resets the count of failures"
    assert len(rooms) == len(provisioned)

    # PINs never reach logs or XCom
    output = caplog.text + "".join(capfd.readouterr())
    assert "provisioned (new room)" in output
    assert TEST_KEY not in output, "the API key never reaches the logs"
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        values = [x.value for x in session.query(XComModel).filter(XComModel.dag_id == provisioning_dag.dag_id)]
    assert values, "the run pushed XComs"
    blob = repr(values)
    for mid in provisioned:
        pin = after[mid]["dialin_pin"].strip()
        assert pin not in output
        assert pin not in blob

    created = daily_conn.admin.counters()["rooms_created"]
    assert run(provisioning_dag).state == "success"
    assert daily_conn.admin.counters()["rooms_created"] == created, "second run makes no room"
    assert rows(table) == after, "second run writes nothing"


def test_dry_run_writes_nothing(provisioning_dag, seeded, daily_conn, capfd, caplog):
    table, _ = seeded
    before = rows(table)
    assert run(provisioning_dag, dry_run=True).state == "success"
    assert rows(table) == before
    counters = daily_conn.admin.counters()["requests"]
    assert not any(k.startswith(("POST", "DELETE")) for k in counters), counters
    output = caplog.text + "".join(capfd.readouterr())
    assert "Dry run" in output
    assert "mtg-M1000" in output, "the report names the rooms it would create"


def test_manual_window_only_touches_that_window(provisioning_dag, seeded, daily_conn):
    table, meetings = seeded
    first_day = min(m["starts_at"] for m in meetings).date()
    last_day = first_day + timedelta(days=3)
    expected = {
        m["meeting_id"]
        for m in meetings
        if m["status"] == "scheduled" and first_day <= m["starts_at"].date() <= last_day
    }
    assert 0 < len(expected) < len(scheduled_ids(meetings))
    state = run(provisioning_dag, window_start=first_day.isoformat(), window_end=last_day.isoformat()).state
    assert state == "success"
    assert {mid for mid, r in rows(table).items() if r["room_name"]} == expected
    assert set(emulator_rooms(daily_conn)) == {f"mtg-{mid}" for mid in expected}


def test_backfill_style_run_covers_day_plus_lead(provisioning_dag, seeded, daily_conn):
    """A run with logical date D (calendar_day mapping) provisions meetings starting on D + 30."""
    table, meetings = seeded
    target = sorted({m["starts_at"].date() for m in meetings})[2]
    expected = {m["meeting_id"] for m in meetings if m["starts_at"].date() == target and m["status"] == "scheduled"}
    assert expected
    logical = datetime(target.year, target.month, target.day, tzinfo=UTC) - timedelta(days=30)
    assert run(provisioning_dag, logical_date=logical, mode="calendar_day").state == "success"
    assert {mid for mid, r in rows(table).items() if r["room_name"]} == expected


def test_bad_rows_fail_alone_with_their_reason(provisioning_dag, seeded, daily_conn):
    table, meetings = seeded
    start = datetime.now(UTC) + timedelta(days=2)
    insert_meetings(
        table,
        [
            {  # refused by our validation
                "meeting_id": "BAD-1",
                "title": "Ends before it starts",
                "starts_at": start,
                "ends_at": start - timedelta(hours=1),
                "timezone": "UTC",
                "wait_for_meeting_start": True,
                "status": "scheduled",
            },
            {  # refused by Daily: the number is purchased but not on the PIN flow
                "meeting_id": "BAD-2",
                "title": "Wrong number",
                "starts_at": start,
                "ends_at": start + timedelta(hours=1),
                "timezone": "UTC",
                "wait_for_meeting_start": True,
                "requested_phone_number": OTHER_NUMBER,
                "status": "scheduled",
            },
        ],
    )
    assert run(provisioning_dag).state == "failed"
    after = rows(table)
    assert {mid for mid, r in after.items() if r["room_name"]} == scheduled_ids(meetings)
    assert "ends_at" in after["BAD-1"]["last_error"] and "not after starts_at" in after["BAD-1"]["last_error"]
    assert OTHER_NUMBER in after["BAD-2"]["last_error"]
    assert after["BAD-1"]["attempts"] == after["BAD-2"]["attempts"] == 1
    assert after["BAD-2"]["room_name"] is None
    assert "mtg-BAD-2" not in emulator_rooms(daily_conn)


def test_lost_batch_response_makes_no_duplicate(provisioning_dag, sqlite_meetings_db, daily_conn):
    meetings = sample_meetings()
    insert_meetings(sqlite_meetings_db, meetings)
    daily_conn.admin.script_faults([{"kind": "lost_create", "method": "POST", "path": "/batch/rooms"}])
    assert run(provisioning_dag).state == "success"
    after = rows(sqlite_meetings_db)
    rooms = emulator_rooms(daily_conn)
    assert len(rooms) == len(scheduled_ids(meetings))
    assert daily_conn.admin.counters()["faults"]["lost_create"] == 1
    for mid in scheduled_ids(meetings):
        assert after[mid]["dialin_pin"].strip() == rooms[f"mtg-{mid}"]["config"]["dialin_code"]


def test_batch_without_pins_falls_back_to_update(provisioning_dag, sqlite_meetings_db, daily_conn):
    meetings = sample_meetings(count=6)
    insert_meetings(sqlite_meetings_db, meetings)
    daily_conn.admin.configure(batch_returns_pin=False)
    assert run(provisioning_dag).state == "success"
    after = rows(sqlite_meetings_db)
    assert all(len(after[mid]["dialin_pin"]) == 11 for mid in scheduled_ids(meetings))
    assert daily_conn.admin.counters()["requests"]["POST /rooms/:name"] == len(scheduled_ids(meetings))


def test_chunks_map_to_tasks(provisioning_dag, sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", '{"chunk_size": 5}')
    meetings = sample_meetings()
    insert_meetings(sqlite_meetings_db, meetings)
    dag_run = run(provisioning_dag)
    assert dag_run.state == "success"
    mapped = [ti for ti in dag_run.get_task_instances() if ti.task_id == "provision_chunk"]
    assert len(mapped) == -(-len(scheduled_ids(meetings)) // 5)
    assert daily_conn.admin.counters()["requests"]["POST /batch/rooms"] == len(mapped)
    assert all(r["room_name"] for mid, r in rows(sqlite_meetings_db).items() if mid in scheduled_ids(meetings))


def test_force_reprovision_reuses_rooms_and_pins(provisioning_dag, sqlite_meetings_db, daily_conn):
    insert_meetings(sqlite_meetings_db, sample_meetings(count=4))
    assert run(provisioning_dag).state == "success"
    before = rows(sqlite_meetings_db)
    assert run(provisioning_dag, force=True, meeting_ids=["M1000", "M1001"]).state == "success"
    after = rows(sqlite_meetings_db)
    for mid in ("M1000", "M1001"):
        assert after[mid]["dialin_pin"] == before[mid]["dialin_pin"]
        assert after[mid]["attempts"] == 0
    assert after["M1003"] == before["M1003"]
    assert daily_conn.admin.counters()["rooms_created"] == 3


def test_quota_reached_keeps_what_was_done(provisioning_dag, sqlite_meetings_db, daily_conn):
    meetings = sample_meetings(count=10)
    insert_meetings(sqlite_meetings_db, meetings)
    daily_conn.admin.configure(room_quota=4)
    assert run(provisioning_dag).state == "failed"
    after = rows(sqlite_meetings_db)
    done = [mid for mid, r in after.items() if r["room_name"]]
    failed = [mid for mid, r in after.items() if r["last_error"]]
    assert len(done) == 4
    assert set(done) | set(failed) == scheduled_ids(meetings)
    assert all("quota" in after[mid]["last_error"] for mid in failed)


def test_custom_table_and_column_names(provisioning_dag, tmp_path, daily_conn, monkeypatch):
    import json
    import sqlite3

    db = tmp_path / "custom.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE ops_meetings (id TEXT PRIMARY KEY, name TEXT, start_time TEXT, end_time TEXT,"
            " timezone TEXT, dialin_display_name TEXT, wait_for_meeting_start INTEGER,"
            " requested_phone_number TEXT, state TEXT, room_name TEXT, room_url TEXT, pin TEXT,"
            " dialin_number TEXT, dial_string TEXT, provisioned_at TEXT, room_exp INTEGER, room_fingerprint TEXT,"
            " last_error TEXT,"
            " attempts INTEGER NOT NULL DEFAULT 0)"
        )
        start = datetime.now(UTC) + timedelta(days=2)
        conn.execute(
            "INSERT INTO ops_meetings (id, name, start_time, end_time, timezone, state) VALUES (?, ?, ?, ?, ?, ?)",
            (
                "X1",
                "Custom",
                f"{start:%Y-%m-%d %H:%M:%S}",
                f"{start + timedelta(hours=1):%Y-%m-%d %H:%M:%S}",
                "UTC",
                "confirmed",
            ),
        )
    monkeypatch.setenv("AIRFLOW_CONN_CUSTOM_MEETINGS", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    settings = {
        "meetings_conn_id": "custom_meetings",
        "table": "ops_meetings",
        "provisionable_statuses": ["confirmed"],
        "room_name_prefix": "ops",
        "columns": {
            "meeting_id": "id",
            "title": "name",
            "starts_at": "start_time",
            "ends_at": "end_time",
            "status": "state",
            "dialin_pin": "pin",
        },
    }
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", json.dumps(settings))
    assert run(provisioning_dag).state == "success"
    with sqlite3.connect(db) as conn:
        room_name, pin, dial = conn.execute("SELECT room_name, pin, dial_string FROM ops_meetings").fetchone()
    assert room_name == "ops-X1"
    assert dial.endswith(f",,{pin}")
    assert emulator_rooms(daily_conn)["ops-X1"]["config"]["dialin_code"] == pin


def test_summary_emits_the_meetings_asset(provisioning_dag, sqlite_meetings_db, daily_conn):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    insert_meetings(sqlite_meetings_db, sample_meetings(count=3))
    dag_run = run(provisioning_dag)
    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.name == "daily_dialin_meetings", AssetEvent.source_run_id == dag_run.run_id)
            .count()
        )
    assert events == 1


def test_meetings_past_the_attempt_limit_wait_for_force(provisioning_dag, sqlite_meetings_db, daily_conn):
    from contextlib import closing

    insert_meetings(sqlite_meetings_db, sample_meetings(count=3))
    with closing(sqlite_meetings_db.hook.get_conn()) as conn:
        conn.execute(
            "UPDATE daily_meetings SET attempts = 5, last_error = 'earlier failure' WHERE meeting_id = 'M1000'"
        )
        conn.commit()
    # given up on: left alone, but the run says so (every run, until fixed) instead of staying green
    assert run(provisioning_dag).state == "failed"
    after = rows(sqlite_meetings_db)
    assert after["M1000"]["room_name"] is None, "5 failed attempts: left alone"
    assert after["M1002"]["room_name"] == "mtg-M1002"
    assert run(provisioning_dag, force=True, meeting_ids=["M1000"]).state == "success"
    after = rows(sqlite_meetings_db)
    assert after["M1000"]["room_name"] == "mtg-M1000"
    assert after["M1000"]["last_error"] is None
    assert after["M1000"]["attempts"] == 0, "a success resets the count of failures"


def test_outage_is_recorded_and_the_next_run_recovers(provisioning_dag, sqlite_meetings_db, daily_conn, monkeypatch):
    """Daily answers 503 to everything: each chunk writes the error to its meetings and the run
    fails; once Daily is back, the next run provisions them all, without duplicates."""
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", '{"chunk_size": 4, "batch_size": 4}')
    # no task retries here (dag.test() would sit out their delays); the next run is the retry
    monkeypatch.setattr(provisioning_dag.get_task("provision_chunk"), "retries", 0)
    meetings = sample_meetings(count=8)
    insert_meetings(sqlite_meetings_db, meetings)
    uri = daily_connection_uri(daily_conn.base_url, max_attempts=2)
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", uri)
    daily_conn.admin.configure(faults={"rate_503": 1.0})
    dag_run = run(provisioning_dag)
    assert dag_run.state == "failed"
    after = rows(sqlite_meetings_db)
    assert not any(r["room_name"] for r in after.values())
    assert all("503" in (after[m]["last_error"] or "") for m in scheduled_ids(meetings))
    assert all(after[m]["attempts"] == 0 for m in scheduled_ids(meetings)), "an outage is not an attempt"
    # the failed chunk tasks still handed summarize what they did: the verdict counts every meeting
    summary = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "summarize").xcom_pull()
    assert summary["counts"]["failed"] == len(scheduled_ids(meetings))
    assert summary["lost_chunks"] == 0
    assert set(summary["failures"]) == scheduled_ids(meetings)
    daily_conn.admin.configure(faults={"rate_503": 0.0})
    assert run(provisioning_dag).state == "success"
    after = rows(sqlite_meetings_db)
    assert {m for m, r in after.items() if r["room_name"]} == scheduled_ids(meetings)
    assert len(emulator_rooms(daily_conn)) == len(scheduled_ids(meetings))


def test_moved_meeting_gets_its_room_updated(provisioning_dag, seeded, daily_conn):
    """A meeting moved after provisioning: the next run updates the room's exp, same room and PIN."""
    from contextlib import closing

    table, meetings = seeded
    assert run(provisioning_dag).state == "success"
    before = rows(table)
    ends = meetings[0]["ends_at"] + timedelta(hours=2)
    with closing(table.hook.get_conn()) as conn:
        conn.cursor().execute(
            f"UPDATE daily_meetings SET ends_at = {table.ph} WHERE meeting_id = 'M1000'", (table.ts(ends),)
        )
        conn.commit()
    assert run(provisioning_dag).state == "success"
    after = rows(table)
    expected_exp = int((ends + timedelta(minutes=60)).timestamp())
    assert after["M1000"]["room_exp"] == expected_exp
    assert after["M1000"]["dialin_pin"] == before["M1000"]["dialin_pin"]
    assert emulator_rooms(daily_conn)["mtg-M1000"]["config"]["exp"] == expected_exp
    assert {m: r for m, r in after.items() if m != "M1000"} == {m: r for m, r in before.items() if m != "M1000"}
    assert daily_conn.admin.counters()["rooms_created"] == len(scheduled_ids(meetings))


def test_a_window_that_cannot_work_fails_at_once(provisioning_dag, seeded, daily_conn, caplog, capfd):
    """end before start: plan fails without retries, summarize reports it instead of crashing."""
    import time

    started = time.monotonic()
    dag_run = run(provisioning_dag, window_start="2026-12-16", window_end="2026-12-14")
    assert dag_run.state == "failed"
    assert time.monotonic() - started < 60, "no task retries for a window error"
    states = {ti.task_id: ti for ti in dag_run.get_task_instances()}
    assert states["plan"].state == "failed" and states["plan"].try_number == 1
    assert states["summarize"].state == "success", "summarize reports a failed plan"
    output = caplog.text + "".join(capfd.readouterr())
    assert "window_end 2026-12-14 is before window_start 2026-12-16" in output


def test_unknown_ids_are_named_and_dry_runs_list_what_is_done(provisioning_dag, seeded, daily_conn, caplog):
    table, _ = seeded
    assert run(provisioning_dag, meeting_ids=["M1001"]).state == "success"
    caplog.clear()
    dag_run = run(provisioning_dag, meeting_ids=["M1001", "M1002", "NOPE-1"], dry_run=True)
    assert dag_run.state == "success"
    assert "NOPE-1" in caplog.text and "not in the table" in caplog.text
    assert "Already provisioned in this window (1)" in caplog.text
    summary = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "summarize").xcom_pull()
    assert summary["unknown"] == {"count": 1, "ids": ["NOPE-1"]}
    assert rows(table)["M1002"]["room_name"] is None, "a dry run touches nothing"
