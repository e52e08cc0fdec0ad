"""The guarantees of issue 6, one test (or more) per measured finding: no meeting silently left
without a working room, no two meetings on one room, the table always agrees with Daily.

Each runs the provisioning steps against the emulator over real HTTP and a real SQLite table
(``tests/support/engine.py``); the DAG-level wiring is covered in ``test_provisioning_dag.py``.
"""

from __future__ import annotations

import time
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_daily.errors import (
    DailyAuthError,
    DailyConfigError,
    DailyQuotaReachedError,
    error_from_response,
)
from airflow_provider_daily.models import RoomList
from daily_dialin.errors import InvalidRunParams
from daily_dialin.provisioning import steps
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import room_name_for
from daily_dialin.provisioning.table import MeetingsTable
from tests.support.daily import daily_connection_uri
from tests.support.engine import insert_rows, meeting, run_engine, settings_env, table_rows


def live_rooms(emulator) -> dict[str, dict]:
    return {r["name"]: r for r in emulator.admin.snapshot()["rooms"] if not r.get("expired")}


def assert_table_equals_daily(table, emulator) -> None:
    rooms = live_rooms(emulator)
    named = {}
    for row in table_rows(table).values():
        if row["provisioned_at"] is None:
            continue
        room = rooms[row["room_name"]]
        assert row["dialin_pin"].strip() == room["config"]["dialin_code"]
        assert row["room_url"] == room["url"]
        assert row["dial_string"] == f"tel:{row['dialin_number']},,{row['dialin_pin'].strip()}"
        assert row["room_name"] not in named, (
            f"{row['meeting_id']!r} shares a room with {named.get(row['room_name'])!r}"
        )
        named[row["room_name"]] = row["meeting_id"]


# -- 1. two meetings can share one room ---------------------------------------------------------
def test_names_are_injective_for_the_collision_found():
    hashed = room_name_for("x y", "mtg")
    literal = hashed.removeprefix("mtg-")
    assert room_name_for(literal, "mtg") != hashed
    # the old scheme's collision pair
    assert room_name_for("x y", "mtg") != room_name_for("x-y-887fcea6a8", "mtg")
    names = [room_name_for(i, "mtg") for i in ("M1", " M1", "M1 ", "a__b", "a_b", "a-b", "a b", "x" * 200, "x" * 201)]
    assert len(set(names)) == len(names)
    assert all(len(n) <= 128 for n in names)


@pytest.mark.parametrize("chunk_size", [100, 1])
def test_a_literal_id_equal_to_a_hashed_name_gets_its_own_room(sqlite_meetings_db, daily_conn, monkeypatch, chunk_size):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(chunk_size=chunk_size))
    hashed = room_name_for("x y", "mtg").removeprefix("mtg-")
    insert_rows(sqlite_meetings_db, [meeting("x y"), meeting(hashed), meeting("x-y-887fcea6a8")])
    summary = run_engine()
    assert summary["verdict"] == "success"
    rows = table_rows(sqlite_meetings_db)
    assert len({r["room_name"] for r in rows.values()}) == 3
    assert len({r["dialin_pin"] for r in rows.values()}) == 3
    assert_table_equals_daily(sqlite_meetings_db, daily_conn)


# -- 2. ids with leading/trailing spaces ----------------------------------------------------------
def test_ids_with_spaces_are_their_own_meetings(sqlite_meetings_db, daily_conn):
    ids = [" WS1 ", " M1", "M1 ", "M1", " M5", "M5"]
    insert_rows(sqlite_meetings_db, [meeting(i) for i in ids])
    summary = run_engine()
    assert summary["verdict"] == "success", summary
    rows = table_rows(sqlite_meetings_db)
    assert set(rows) == set(ids)
    for meeting_id in ids:
        assert rows[meeting_id]["room_name"] == room_name_for(meeting_id, "mtg")
        assert rows[meeting_id]["attempts"] == 0, "a success resets the count of failures"
        assert rows[meeting_id]["last_error"] is None
    assert len(live_rooms(daily_conn)) == len(ids)
    assert_table_equals_daily(sqlite_meetings_db, daily_conn)
    assert run_engine()["counts"]["created"] == 0, "a second run finds every row done"


# -- 3. one row can stop its whole chunk ----------------------------------------------------------
# a month 13 of last year and of next year: text sorting before and after now, on any date (the
# literal "2026-13-45" sorted after now until 2027 only, and was then not reported - issue 21)
@pytest.mark.parametrize(
    "bad_end", ["9999-12-31 23:59:59", "P1D", "{last_year}-13-45 10:00:00", "{next_year}-13-45 10:00:00", "12:00"]
)
def test_one_bad_value_fails_only_its_own_meeting(sqlite_meetings_db, daily_conn, monkeypatch, bad_end):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(chunk_size=1000))
    year = datetime.now(UTC).year
    bad_end = bad_end.format(last_year=year - 1, next_year=year + 1)
    good = [meeting(f"G{i:03d}") for i in range(100)]
    bad = meeting("BAD", ends_at=bad_end)
    insert_rows(sqlite_meetings_db, [*good, bad])
    summary = run_engine()
    rows = table_rows(sqlite_meetings_db)
    assert all(rows[g["meeting_id"]]["provisioned_at"] for g in good), "the 100 good rows are provisioned"
    assert rows["BAD"]["room_name"] is None
    assert rows["BAD"]["last_error"], "the bad row says why"
    assert "BAD" in summary["verdict"], "the run names the row"


def test_bad_values_in_every_column_stay_in_their_row(sqlite_meetings_db, daily_conn):
    bad = [
        meeting("T1", timezone="Mars/Olympus"),
        meeting("T2", requested_phone_number="call me"),
        meeting("T3", wait_for_meeting_start="perhaps"),
        meeting("T4", title=""),
        meeting("T5", dialin_display_name="x" * 500),
    ]
    insert_rows(sqlite_meetings_db, [*bad, meeting("OK")])
    run_engine()
    rows = table_rows(sqlite_meetings_db)
    assert rows["OK"]["provisioned_at"]
    for row in bad:
        assert rows[row["meeting_id"]]["last_error"] and rows[row["meeting_id"]]["room_name"] is None


# -- 4. an outage strands meetings ---------------------------------------------------------------
def test_an_outage_never_uses_up_attempts(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, max_attempts=2))
    insert_rows(sqlite_meetings_db, [meeting(f"O{i}") for i in range(30)])
    daily_conn.admin.configure(faults={"rate_503": 1.0})
    for _ in range(8):  # far more failed runs than max_attempts (5)
        assert run_engine()["verdict"] != "success"
    rows = table_rows(sqlite_meetings_db)
    assert all(r["attempts"] == 0 and "not provisioned" in r["last_error"] for r in rows.values())
    daily_conn.admin.clear_faults()
    daily_conn.admin.configure(faults={"rate_503": 0.0})
    assert run_engine()["verdict"] == "success"
    assert all(r["provisioned_at"] for r in table_rows(sqlite_meetings_db).values()), "30 of 30 recovered"


def test_a_refused_key_fails_fast_and_strands_nothing(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, key="wrong-key-0123456789")
    )
    insert_rows(sqlite_meetings_db, [meeting("K1"), meeting("K2")])
    started = time.monotonic()
    summary = run_engine()
    assert time.monotonic() - started < 10
    assert isinstance(summary["errors"][0], DailyAuthError)
    assert isinstance(summary["errors"][0], AirflowFailException), "no task retry for a wrong key"
    rows = table_rows(sqlite_meetings_db)
    assert all(r["attempts"] == 0 and "authentication" in r["last_error"] for r in rows.values())


# -- 5. permanent errors are retried like outages ---------------------------------------------------
def test_config_errors_fail_fast(sqlite_meetings_db, daily_conn, monkeypatch):
    from airflow_provider_daily.hooks.daily import DailyHook

    monkeypatch.delenv("AIRFLOW_CONN_DAILY_DEFAULT")
    with pytest.raises(DailyConfigError, match="could not be read") as info:
        DailyHook().get_conn()
    assert isinstance(info.value, AirflowFailException)
    with pytest.raises(InvalidRunParams, match="before window_start") as info:
        run_engine(params={"window_start": "2026-12-10", "window_end": "2026-12-01"})
    assert isinstance(info.value, AirflowFailException)
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_MEETINGS_DB", '{"conn_type": "nope"}')
    with pytest.raises(DailyConfigError, match="meetings connection"):
        run_engine()


def test_a_hanging_api_is_bounded_by_the_chunk_deadline(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(chunk_deadline_seconds=3))
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, timeout=30, retry_deadline=180)
    )
    insert_rows(sqlite_meetings_db, [meeting("H1")])
    daily_conn.admin.configure(faults={"rate_hang": 1.0, "hang_seconds": 20})
    started = time.monotonic()
    summary = run_engine()
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"one chunk waited {elapsed:.1f}s past its 3s deadline"
    assert summary["verdict"] != "success"
    assert table_rows(sqlite_meetings_db)["H1"]["attempts"] == 0


# -- 6. a malformed Variable is ignored -------------------------------------------------------------
@pytest.mark.parametrize(("raw", "match"), [("{not json", "not valid JSON"), ('{"chunk_size": 0}', "chunk_size")])
def test_a_malformed_variable_fails_the_run(monkeypatch, raw, match):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", raw)
    with pytest.raises(DailyConfigError, match=match) as info:
        ProvisioningConfig.load()
    assert isinstance(info.value, AirflowFailException)


# -- 7. changes other than the end time never reach Daily -------------------------------------------
def update_row(table, meeting_id, **values):
    sets = ", ".join(f"{k} = ?" for k in values)
    with closing(table.hook.get_conn()) as conn:
        conn.execute(f"UPDATE daily_meetings SET {sets} WHERE meeting_id = ?", [*values.values(), meeting_id])
        conn.commit()


@pytest.mark.parametrize(
    "change",
    [
        {"dialin_display_name": "New name"},
        {"wait_for_meeting_start": 0},
        {"requested_phone_number": "+12095550101"},
        {"starts_at": "earlier"},
        {"ends_at": "later"},
    ],
)
def test_every_room_relevant_change_updates_the_room_with_the_same_pin(
    sqlite_meetings_db, daily_conn, monkeypatch, change
):
    from airflow_provider_daily.hooks.daily import DailyHook
    from tests.support.daily import OTHER_NUMBER

    DailyHook().create_dialin_config({"type": "pin_dialin", "phone_number": OTHER_NUMBER})
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(nbf_lead_minutes=10))
    row = meeting("C1")
    insert_rows(sqlite_meetings_db, [row])
    assert run_engine()["verdict"] == "success"
    before = table_rows(sqlite_meetings_db)["C1"]
    start = datetime.strptime(row["starts_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    if change.get("starts_at") == "earlier":
        change = {"starts_at": f"{start - timedelta(hours=2):%Y-%m-%d %H:%M:%S}"}
    elif change.get("ends_at") == "later":
        change = {"ends_at": f"{start + timedelta(hours=3):%Y-%m-%d %H:%M:%S}"}
    update_row(sqlite_meetings_db, "C1", **change)
    summary = run_engine()
    assert summary["counts"]["updated"] == 1, summary
    after = table_rows(sqlite_meetings_db)["C1"]
    room = live_rooms(daily_conn)["mtg-C1"]
    assert after["dialin_pin"] == before["dialin_pin"] == room["config"]["dialin_code"], "same room, same PIN"
    if "starts_at" in change:
        assert room["config"]["nbf"] == int((start - timedelta(hours=2, minutes=10)).timestamp())
    if "dialin_display_name" in change:
        assert room["config"]["dialin"]["display_name"] == "New name"
    if "requested_phone_number" in change:
        assert after["dialin_number"] == OTHER_NUMBER
    assert run_engine()["counts"]["updated"] == 0, "and the next run has nothing to do"


# -- 8. rows no run will ever see -------------------------------------------------------------------
def test_rows_no_run_can_select_are_reported(sqlite_meetings_db, daily_conn):
    odd = [
        meeting("NT", starts_at="next tuesday"),
        meeting("SL", starts_at="2026/12/01 10:00"),
        meeting("EP", starts_at=int(time.time()) + 86400),
    ]
    insert_rows(
        sqlite_meetings_db, [*odd, meeting(None), meeting("UP", status=" SCHEDULED "), meeting("ST", status="tbd")]
    )
    summary = run_engine()
    rows = table_rows(sqlite_meetings_db)
    for row in odd:
        assert "not a timestamp the table can compare" in rows[row["meeting_id"]]["last_error"]
    assert "meeting_id is empty" in rows[None]["last_error"]
    assert rows["UP"]["provisioned_at"], "status is compared trimmed and case-insensitively"
    assert "status 'tbd'" in rows["ST"]["last_error"]
    assert summary["unreadable"] == 4
    assert "row(s) no run can select" in summary["verdict"]


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_id_is_reported_once(sqlite_meetings_db, daily_conn, blank):
    """A blank id is a row no run can select: not also a failed meeting of some chunk."""
    insert_rows(sqlite_meetings_db, [meeting(blank), meeting("OK1")])
    summary = run_engine()
    rows = table_rows(sqlite_meetings_db)
    assert "meeting_id is empty" in rows[blank]["last_error"]
    assert rows[blank]["attempts"] in (None, 0), "not an attempt: the row must change first"
    assert rows["OK1"]["provisioned_at"]
    assert summary["unreadable"] == 1
    assert summary["counts"]["failed"] == 0, summary["verdict"]
    assert summary["verdict"].startswith("1 row(s) no run can select"), summary["verdict"]


# -- 9. the run's verdict undercounts ---------------------------------------------------------------
def test_a_failed_chunk_still_reports_its_meetings(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(chunk_size=50))
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, max_attempts=1))
    insert_rows(sqlite_meetings_db, [meeting(f"F{i:03d}") for i in range(100)])
    daily_conn.admin.configure(faults={"rate_503": 1.0})
    summary = run_engine()
    assert summary["counts"]["failed"] == 100
    assert summary["lost_chunks"] == 0
    assert len(summary["failures"]) == 50, "ids and reasons are listed (capped for XCom)"
    assert "100 meeting(s) failed" in summary["verdict"]


def test_a_failed_plan_is_reported_not_a_crash():
    summary = steps.summarize(run=None, chunk_results=None, retired=None)
    assert summary["plan_failed"]
    with pytest.raises(Exception, match="plan task failed"):
        steps.verify(summary)


# -- 10. nothing reconciles with Daily --------------------------------------------------------------
def test_a_cancelled_meeting_loses_its_room_and_pin(sqlite_meetings_db, daily_conn):
    insert_rows(sqlite_meetings_db, [meeting("X1"), meeting("X2")])
    run_engine()
    update_row(sqlite_meetings_db, "X1", status="Cancelled")
    summary = run_engine()
    assert summary["retired"]["deleted"] == 1
    rows = table_rows(sqlite_meetings_db)
    assert rows["X1"]["dialin_pin"] is None and rows["X1"]["dial_string"] is None
    assert "mtg-X1" not in live_rooms(daily_conn)
    assert rows["X2"]["dialin_pin"], "the other meeting keeps its room"
    assert daily_conn.admin.counters()["rooms_deleted"] == 1


def test_reconcile_repairs_and_reports_every_pin_change(sqlite_meetings_db, daily_conn):
    from daily_dialin.provisioning.reconcile import reconcile

    insert_rows(sqlite_meetings_db, [meeting("R1"), meeting("R2"), meeting("R3"), meeting("R4")])
    run_engine()
    before = table_rows(sqlite_meetings_db)
    daily_conn.admin.delete_room("mtg-R1")  # deleted behind our back
    daily_conn.admin.new_room_pin("mtg-R2")  # PIN changed behind our back
    daily_conn.admin.set_room_exp("mtg-R3", int(time.time()) + 600)  # expires early
    report = reconcile()
    assert report.checked == 4
    assert report.recreated == 1 and report.exp_fixed == 1
    assert report.pin_changed == ["R1", "R2"]
    after = table_rows(sqlite_meetings_db)
    assert after["R3"]["dialin_pin"] == before["R3"]["dialin_pin"], "fixing exp keeps the PIN"
    assert after["R4"] == before["R4"]
    assert_table_equals_daily(sqlite_meetings_db, daily_conn)
    assert live_rooms(daily_conn)["mtg-R3"]["config"]["exp"] == before["R3"]["room_exp"]
    assert reconcile().pin_changed_count == 0, "a second pass finds nothing"


def test_force_reports_a_new_pin(sqlite_meetings_db, daily_conn):
    insert_rows(sqlite_meetings_db, [meeting("P1")])
    run_engine()
    daily_conn.admin.delete_room("mtg-P1")
    summary = run_engine(params={"force": True, "meeting_ids": ["P1"]})
    assert summary["pin_changed"] == {"count": 1, "ids": ["P1"]}, "a new PIN is never silent"


# -- 11. a table named like an SQL keyword ----------------------------------------------------------
def test_a_table_named_like_a_keyword(tmp_path, daily_conn, monkeypatch):
    import json
    import sqlite3

    from daily_dialin.provisioning.table import schema_sql

    db = tmp_path / "kw.db"
    ddl = schema_sql("sqlite").replace("daily_meetings (", '"select" (').replace("ON daily_meetings", 'ON "select"')
    with sqlite3.connect(db) as conn:
        conn.executescript(ddl.replace("daily_meetings_starts_at", "select_starts_at"))
    monkeypatch.setenv("AIRFLOW_CONN_KW", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(meetings_conn_id="kw", table="select"))
    table = MeetingsTable.from_config(ProvisioningConfig.load())
    insert_rows(table, [meeting("K1")])
    assert run_engine()["verdict"] == "success"
    assert table_rows(table)["K1"]["provisioned_at"]


# -- 12. a PIN may change behind our back -----------------------------------------------------------
def test_omitted_defaults_are_not_drift(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(eject_at_room_exp=False))
    daily_conn.admin.configure(resend_dialin_new_pin=True)  # a re-sent dialin would change the PIN
    try:
        insert_rows(sqlite_meetings_db, [meeting("D1", wait_for_meeting_start=0)])
        assert run_engine()["counts"]["created"] == 1
        pin = table_rows(sqlite_meetings_db)["D1"]["dialin_pin"]
        update_row(sqlite_meetings_db, "D1", provisioned_at=None)  # make the next run look at it again
        summary = run_engine()
        assert summary["counts"]["reused"] == 1 and summary["counts"]["updated"] == 0
        assert table_rows(sqlite_meetings_db)["D1"]["dialin_pin"] == pin
    finally:
        daily_conn.admin.configure(resend_dialin_new_pin=False)


def test_an_update_that_changes_the_pin_is_caught(sqlite_meetings_db, daily_conn):
    daily_conn.admin.configure(resend_dialin_new_pin=True)
    try:
        insert_rows(sqlite_meetings_db, [meeting("N1")])
        run_engine()
        update_row(sqlite_meetings_db, "N1", dialin_display_name="Renamed")  # a dial-in field: dialin is re-sent
        summary = run_engine()
        assert summary["pin_changed"]["ids"] == ["N1"]
        assert_table_equals_daily(sqlite_meetings_db, daily_conn)
    finally:
        daily_conn.admin.configure(resend_dialin_new_pin=False)


def test_fractional_exp_rooms_parse_in_a_listing():
    rooms = RoomList.model_validate(
        {"total_count": 1, "data": [{"name": "r", "config": {"exp": 1767225600.5, "nbf": 1767220000.25}}]}
    )
    assert rooms.data[0].config.exp == 1767225600.5


@pytest.mark.parametrize("info", ["maximum number of rooms reached (10000)", "Room quota exceeded", "too many rooms"])
def test_the_quota_error_is_recognised_tolerantly(info):
    err = error_from_response(
        status=400, body={"error": "invalid-request-error", "info": info}, method="POST", path="/rooms"
    )
    assert isinstance(err, DailyQuotaReachedError)
