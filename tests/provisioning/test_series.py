"""Recurring meetings keep one PIN: every occurrence of a series is on the series' one room.

Against the emulator over HTTP and a real meetings table (SQLite; the first test on PostgreSQL
too), through the provisioning steps as the DAG's tasks call them (``tests/support/engine.py``).
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_daily.rooms import latest_allowed_exp, room_name_for, series_room_name_for
from daily_dialin.provisioning import steps
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import parse_utc, series_key
from daily_dialin.provisioning.series import WAITING_PREFIX, cap_ends_by
from daily_dialin.provisioning.table import MeetingsTable
from daily_dialin.provisioning.window import Selection
from tests.support.daily import PIN_NUMBER
from tests.support.engine import insert_rows, meeting, run_engine, settings_env, table_rows

GRACE = 60 * 60  # the default exp_grace_minutes, in seconds


def weekly(series: str, count: int = 4, *, first_day: float = 2, prefix: str | None = None, **overrides) -> list[dict]:
    """``count`` weekly occurrences of ``series`` (ids ``<series>-1`` ...)."""
    prefix = prefix or series
    return [meeting(f"{prefix}-{n + 1}", days=first_day + 7 * n, series_id=series, **overrides) for n in range(count)]


def live_rooms(emulator) -> dict[str, dict]:
    return {r["name"]: r for r in emulator.admin.snapshot()["rooms"] if not r.get("expired")}


def end_exp(row) -> int:
    return int(parse_utc(row["ends_at"]).timestamp()) + GRACE


def update(table, meeting_id: str, **values) -> None:
    sets = ", ".join(f"{table.cols[c]} = {table.ph}" for c in values)
    with closing(table.hook.get_conn()) as conn:
        conn.cursor().execute(
            f"UPDATE {table.table} SET {sets} WHERE {table.cols['meeting_id']} = {table.ph}",
            [*values.values(), meeting_id],
        )
        conn.commit()


def assert_one_room(rows: list[dict], name: str, emulator) -> dict:
    """Every row on room ``name`` with its PIN, URL and dial string; the room as Daily has it."""
    room = live_rooms(emulator)[name]
    pin = room["config"]["dialin_code"]
    for row in rows:
        assert row["room_name"] == name, row["meeting_id"]
        assert row["dialin_pin"] == pin, row["meeting_id"]
        assert row["room_url"] == room["url"]
        assert row["dial_string"] == f"tel:{row['dialin_number']},,{pin}"
        assert row["room_exp"] == room["config"]["exp"]
    return room


# -- names ---------------------------------------------------------------------------------------
def test_series_rooms_are_a_namespace_of_their_own():
    ids = ["W1", "w1", " W1", "x y", "a__b", "s-W1", "_s-W1", "x" * 300, "x" * 301]
    series = [series_room_name_for(i, "mtg") for i in ids]
    meetings = [room_name_for(i, "mtg") for i in [*ids, "_s-W1", "s-W1"]]
    assert len(set(series)) == len(series)  # injective
    assert not set(series) & set(meetings)  # never a meeting's room
    assert series_room_name_for("W1", "mtg") == "mtg_s-W1"
    assert all(len(name) <= 128 for name in series)  # a long id is hashed, not refused


def test_series_key_refuses_what_names_no_series():
    assert series_key(None) is None
    assert series_key(" W1") == " W1"  # exact, like meeting ids
    assert series_key(7) == "7"
    for bad in ("", "   ", b"W1", 1.5):
        with pytest.raises(ValueError, match="series_id"):
            series_key(bad)


# -- one room, one PIN -----------------------------------------------------------------------------
def test_occurrences_share_one_room_pin_and_dial_string(meetings_db, daily_conn):
    occurrences = weekly("W1", 4)
    occurrences[0]["dialin_display_name"] = "Weekly sync"
    occurrences[1]["dialin_display_name"] = "Later name"
    insert_rows(meetings_db, [*occurrences, meeting("M1"), meeting("M2")])
    summary = run_engine()
    assert summary["verdict"] == "success", summary
    assert summary["counts"]["created"] == 6
    rows = table_rows(meetings_db)
    series_rows = [rows[f"W1-{n}"] for n in range(1, 5)]
    room = assert_one_room(series_rows, "mtg_s-W1", daily_conn)
    assert room["config"]["exp"] == max(end_exp(r) for r in series_rows)  # covers the last occurrence
    assert "nbf" not in room["config"]
    assert room["config"]["dialin"]["display_name"] == "Weekly sync"  # the next occurrence's
    assert {rows["M1"]["room_name"], rows["M2"]["room_name"]} == {"mtg-M1", "mtg-M2"}
    assert len({rows["M1"]["dialin_pin"], rows["M2"]["dialin_pin"], room["config"]["dialin_code"]}) == 3
    assert daily_conn.admin.counters()["rooms_created"] == 3

    again = run_engine()  # nothing changed: nothing to do
    assert again["verdict"] == "success"
    assert again["selected"] == 0
    assert table_rows(meetings_db)["W1-1"]["dialin_pin"] == room["config"]["dialin_code"]


def test_a_table_without_series_id_works_as_before(tmp_path, monkeypatch, daily_conn):
    import json

    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "old.db")})
    )
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    with closing(table.hook.get_conn()) as conn:  # a table made before the column existed
        conn.execute("DROP INDEX daily_meetings_series_key")
        conn.execute("ALTER TABLE daily_meetings DROP COLUMN series_id")
        conn.commit()
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()  # the bootstrap runs it on an existing table: the series index is skipped
    assert not table.has_series
    table.check_columns()
    insert_rows(table, [meeting("M1"), meeting("M2")])
    summary = run_engine()
    assert summary["verdict"] == "success"
    assert {r["room_name"] for r in table_rows(table).values()} == {"mtg-M1", "mtg-M2"}


def test_a_mapped_series_column_that_is_missing_is_a_config_error(sqlite_meetings_db):
    from airflow_provider_daily.errors import DailyConfigError

    table = MeetingsTable.from_config(ProvisioningConfig(columns={"series_id": "recurrence"}))
    with pytest.raises(DailyConfigError, match="recurrence"):
        table.check_columns()


# -- the 365-day window -----------------------------------------------------------------------------
def test_occurrences_beyond_365_days_wait_then_join_with_the_same_pin(sqlite_meetings_db, daily_conn):
    near = weekly("Y1", 2)
    far = meeting("Y1-far", days=400, series_id="Y1")
    insert_rows(sqlite_meetings_db, [*near, far])
    summary = run_engine(params={"horizon_days": 30})
    assert summary["verdict"] == "success", summary  # waiting is no failure
    assert summary["waiting"] == {"count": 1, "ids": ["Y1-far"]}
    rows = table_rows(sqlite_meetings_db)
    assert rows["Y1-far"]["dialin_pin"] is None
    assert rows["Y1-far"]["last_error"].startswith(WAITING_PREFIX)
    assert rows["Y1-far"]["attempts"] == 0  # not an attempt
    room = assert_one_room([rows["Y1-1"], rows["Y1-2"]], "mtg_s-Y1", daily_conn)
    pin = room["config"]["dialin_code"]

    # time passes: once the cap has moved past it, the series is due, whatever the horizon
    table = sqlite_meetings_db

    def due_at(moment):
        rolling = Selection(starts_before=moment + timedelta(days=30), ends_after=moment)
        return [key for key, _ in table.due_series(rolling, now=moment, cap_ends_by=cap_ends_by(moment, table.config))]

    assert due_at(datetime.now(UTC)) == []  # nothing to do until then
    assert due_at(datetime.now(UTC) + timedelta(days=40)) == ["Y1"]

    # (the emulator's clock cannot move 40 days: the occurrence moves into the window instead)
    moved = meeting("Y1-far", days=300)
    update(table, "Y1-far", starts_at=moved["starts_at"], ends_at=moved["ends_at"])
    before = daily_conn.admin.counters()["requests"]
    summary = run_engine(params={"horizon_days": 30})
    assert summary["verdict"] == "success", summary
    rows = table_rows(table)
    room = assert_one_room([rows[i] for i in ("Y1-1", "Y1-2", "Y1-far")], "mtg_s-Y1", daily_conn)
    assert room["config"]["dialin_code"] == pin
    assert room["config"]["exp"] == end_exp(rows["Y1-far"])
    assert room["config"]["exp"] <= latest_allowed_exp()
    assert summary["pin_changed"]["count"] == 0
    after = daily_conn.admin.counters()["requests"]
    assert after.get("POST /rooms", 0) == before.get("POST /rooms", 0)  # no second room


def test_an_extension_that_changes_the_pin_is_written_and_reported(sqlite_meetings_db, daily_conn):
    insert_rows(sqlite_meetings_db, weekly("P1", 3))
    assert run_engine()["verdict"] == "success"
    daily_conn.admin.set_room_pin("mtg_s-P1", "99999999999")  # Daily hands out another PIN
    later = meeting("P1-3", days=29)
    update(sqlite_meetings_db, "P1-3", starts_at=later["starts_at"], ends_at=later["ends_at"])
    summary = run_engine()
    assert summary["verdict"] == "success", summary
    assert summary["pin_changed"]["count"] == 3  # every occurrence: re-send all three invitations
    rows = table_rows(sqlite_meetings_db)
    room = assert_one_room([rows[f"P1-{n}"] for n in (1, 2, 3)], "mtg_s-P1", daily_conn)
    assert room["config"]["exp"] == end_exp(rows["P1-3"])


# -- lifecycle --------------------------------------------------------------------------------------
def test_cancel_one_occurrence_then_all(sqlite_meetings_db, daily_conn):
    table = sqlite_meetings_db
    insert_rows(table, weekly("C1", 3))
    assert run_engine()["verdict"] == "success"
    pin = table_rows(table)["C1-1"]["dialin_pin"]

    update(table, "C1-3", status="cancelled")  # the last one: the room's exp comes back in
    summary = run_engine()
    assert summary["verdict"] == "success", summary
    rows = table_rows(table)
    room = assert_one_room([rows["C1-1"], rows["C1-2"]], "mtg_s-C1", daily_conn)
    assert room["config"]["dialin_code"] == pin
    assert room["config"]["exp"] == end_exp(rows["C1-2"])
    assert rows["C1-3"]["dialin_pin"] is None

    update(table, "C1-1", status="cancelled")
    update(table, "C1-2", status="cancelled")
    summary = run_engine()
    assert summary["verdict"] == "success", summary
    assert "mtg_s-C1" not in live_rooms(daily_conn)
    assert all(r["dialin_pin"] is None for r in table_rows(table).values())


def test_a_meeting_joining_a_series_moves_to_its_room_and_one_leaving_gets_its_own(sqlite_meetings_db, daily_conn):
    table = sqlite_meetings_db
    insert_rows(table, [*weekly("J1", 2), meeting("J1-3", days=16)])  # J1-3 alone first
    assert run_engine()["verdict"] == "success"
    alone_pin = table_rows(table)["J1-3"]["dialin_pin"]
    assert "mtg-J1-3" in live_rooms(daily_conn)

    update(table, "J1-3", series_id="J1")
    summary = run_engine()
    assert summary["verdict"] == "success", summary
    assert summary["pin_changed"]["ids"] == ["J1-3"]  # its invitation is re-sent
    rows = table_rows(table)
    room = assert_one_room([rows[i] for i in ("J1-1", "J1-2", "J1-3")], "mtg_s-J1", daily_conn)
    assert room["config"]["dialin_code"] != alone_pin
    assert "mtg-J1-3" not in live_rooms(daily_conn)  # its own room is gone
    assert room["config"]["exp"] == end_exp(rows["J1-3"])

    update(table, "J1-1", series_id=None)
    summary = run_engine()
    assert summary["verdict"] == "success", summary
    rows = table_rows(table)
    assert rows["J1-1"]["room_name"] == "mtg-J1-1"
    assert rows["J1-1"]["dialin_pin"] == live_rooms(daily_conn)["mtg-J1-1"]["config"]["dialin_code"]
    assert summary["pin_changed"]["ids"] == ["J1-1"]
    assert_one_room([rows["J1-2"], rows["J1-3"]], "mtg_s-J1", daily_conn)


def test_with_the_limit_0_a_one_off_joining_a_series_waits_for_approval(sqlite_meetings_db, daily_conn, monkeypatch):
    """Joining a series deletes the meeting's own room and changes its PIN: a deletion like any other,
    through the gate. ``max_deletions_without_approval: 0`` ("every deletion waits"): the old room
    and PIN stay, the row says why, the run does not fail; approved in the approval DAG, the room
    goes, and the next run puts the meeting in the series room and reports its new PIN."""
    from daily_dialin.provisioning.approvals import delete_approved, pending_plan
    from daily_dialin.provisioning.deletions import DeletionPlan, settle
    from daily_dialin.provisioning.ledger import DeletionLedger, MemoryStore

    table = sqlite_meetings_db
    insert_rows(table, [*weekly("Z1", 2), meeting("Z1-3", days=16), meeting("Z1-4", days=23)])
    assert run_engine()["verdict"] == "success"
    alone_pin = table_rows(table)["Z1-3"]["dialin_pin"]
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(max_deletions_without_approval=0))
    update(table, "Z1-3", series_id="Z1")

    summary = run_engine()
    assert summary["verdict"] == "success", summary
    rows = table_rows(table)
    assert rows["Z1-3"]["room_name"] == "mtg-Z1-3" and rows["Z1-3"]["dialin_pin"] == alone_pin
    assert "mtg-Z1-3" in live_rooms(daily_conn), "its old room stays until approved"
    assert "keeps its own room mtg-Z1-3 for now" in rows["Z1-3"]["last_error"]
    assert summary["pin_changed"]["count"] == 0

    # the DAG's way: the run's plan holds the join, the chunk reads the verdict, the approval DAG asks
    store = MemoryStore()
    run = summary["run"]
    plan = settle(
        DeletionPlan.from_xcom(steps.plan_cancelled(run=run)),
        DeletionLedger.for_config(ProvisioningConfig.load(), store),
        now=datetime.now(UTC),
    )
    assert plan.verdict == "ask" and [(r.room_name, r.joined) for r in plan.rooms] == [("mtg-Z1-3", True)]
    bounds = [b for b in steps.plan(params={}, run_type="manual", logical_date=None)["bounds"] if b["kind"] == "series"]
    held = steps.provision_chunk(index=0, bounds=bounds[0], run=run, deletions=plan.to_xcom())
    assert held["counts"]["failed"] == 0 and "mtg-Z1-3" in live_rooms(daily_conn)
    approve = {"chosen_options": ["Approve"], "responded_by_user": {"name": "admin"}}
    result = delete_approved(
        reason="cancelled", deletions=pending_plan(reason="cancelled", store=store), approval=approve, store=store
    )
    assert result["deleted"] == 1 and "mtg-Z1-3" not in live_rooms(daily_conn)

    summary = run_engine()
    assert summary["verdict"] == "success", summary
    assert summary["pin_changed"]["ids"] == ["Z1-3"], "its invitation follows the new PIN"
    rows = table_rows(table)
    room = assert_one_room([rows[i] for i in ("Z1-1", "Z1-2", "Z1-3")], "mtg_s-Z1", daily_conn)
    assert room["config"]["dialin_code"] != alone_pin
    assert rows["Z1-4"]["room_name"] == "mtg-Z1-4", "the other one-off is untouched"


def test_a_reinstated_series_is_reported_in_pin_changed(sqlite_meetings_db, daily_conn):
    """Every occurrence cancelled: the series room is deleted and the PINs cleared; scheduled again,
    the new room has a new PIN - each occurrence's invitation must be re-sent (as the one-off path does)."""
    table = sqlite_meetings_db
    insert_rows(table, weekly("RS", 2))
    assert run_engine()["verdict"] == "success"
    for meeting_id in ("RS-1", "RS-2"):
        update(table, meeting_id, status="cancelled")
    assert run_engine()["verdict"] == "success"
    assert "mtg_s-RS" not in live_rooms(daily_conn)
    for meeting_id in ("RS-1", "RS-2"):
        update(table, meeting_id, status="scheduled")
    summary = run_engine()
    assert summary["verdict"] == "success", summary
    assert sorted(summary["pin_changed"]["ids"]) == ["RS-1", "RS-2"]
    rows = table_rows(table)
    assert_one_room([rows["RS-1"], rows["RS-2"]], "mtg_s-RS", daily_conn)


# -- bad input ---------------------------------------------------------------------------------------
def test_bad_series_ids_fail_alone(sqlite_meetings_db, daily_conn):
    long_id = "L" * 200
    insert_rows(
        sqlite_meetings_db,
        [
            meeting("B1", series_id="   "),
            meeting("B2", series_id=""),
            *weekly("G1", 2),
            *weekly(long_id, 2, prefix="L"),
            meeting("M1"),
        ],
    )
    summary = run_engine()
    assert "2 row(s) no run can select" in summary["verdict"]  # a blank series_id: a problem row
    rows = table_rows(sqlite_meetings_db)
    for bad in ("B1", "B2"):
        assert rows[bad]["dialin_pin"] is None
        assert "blank" in rows[bad]["last_error"]
    assert set(summary["failures"]) == {"B1", "B2"}
    assert_one_room([rows["G1-1"], rows["G1-2"]], "mtg_s-G1", daily_conn)
    hashed = series_room_name_for(long_id, "mtg")
    assert len(hashed) <= 128 and "__" in hashed
    assert_one_room([rows["L-1"], rows["L-2"]], hashed, daily_conn)
    assert rows["M1"]["room_name"] == "mtg-M1"


def test_conflicting_numbers_fail_the_whole_series(sqlite_meetings_db, daily_conn):
    occurrences = weekly("N1", 3)
    occurrences[1]["requested_phone_number"] = PIN_NUMBER
    insert_rows(sqlite_meetings_db, [*occurrences, *weekly("N2", 2, requested_phone_number=PIN_NUMBER)])
    summary = run_engine()
    assert "3 meeting(s) failed" in summary["verdict"]
    rows = table_rows(sqlite_meetings_db)
    for n in (1, 2, 3):
        assert rows[f"N1-{n}"]["dialin_pin"] is None
        assert "different phone numbers" in rows[f"N1-{n}"]["last_error"]
    assert "mtg_s-N1" not in live_rooms(daily_conn)
    room = assert_one_room([rows["N2-1"], rows["N2-2"]], "mtg_s-N2", daily_conn)
    assert room["config"]["dialin_number"] == PIN_NUMBER


# -- chunks ------------------------------------------------------------------------------------------
def test_each_series_is_handled_by_exactly_one_chunk(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(chunk_size=3))
    rows = [*weekly("S1", 4), *weekly("S2", 2), *weekly("S3", 2), *(meeting(f"M{n}") for n in range(5))]
    insert_rows(sqlite_meetings_db, rows)
    result = steps.plan(params={"mode": "auto"}, run_type="manual", logical_date=None)
    series_chunks = [(b["first"], b["last"]) for b in result["bounds"] if b["kind"] == "series"]
    # a series is never split (S1 alone is larger than a chunk); S2 and S3 would be 4 rows together
    assert series_chunks == [("S1", "S1"), ("S2", "S2"), ("S3", "S3")]
    assert len(result["bounds"]) == 2 + 3  # five one-offs in chunks of three, then the series
    assert result["run"]["series"] == 3
    assert result["run"]["selected"] == 13
    summary = run_engine()
    assert summary["verdict"] == "success", summary
    assert daily_conn.admin.counters()["rooms_created"] == 5 + 3
    stored = table_rows(sqlite_meetings_db)
    assert len({r["room_name"] for r in stored.values()}) == 8


def test_a_series_chunk_reads_its_key_range_through_an_index(sqlite_meetings_db):
    """A series chunk re-reads its own key range (``CAST(series_id AS TEXT)`` between its bounds)
    several times: on SQLite that is a search of the shipped key index, not a pass over every row
    of every series (measured: 35 ms -> 22 ms a read at 100,000 rows in 2,000 series)."""
    import sqlalchemy as sa

    table = sqlite_meetings_db
    insert_rows(table, [*weekly("K1", 3), *weekly("K2", 3), *weekly("K3", 3)])
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "CAST(daily_meetings.series_id AS TEXT) >=" in statement:
            statements.append((statement, parameters))

    sa.event.listen(table.engine, "before_cursor_execute", capture)
    try:
        now = datetime.now(UTC)
        rolling = Selection(starts_before=now + timedelta(days=30), ends_after=now)
        due = table.due_series_keys(
            rolling, now=now, cap_ends_by=cap_ends_by(now, table.config), key_range=("K2", "K3")
        )
        fetched = table.fetch_series("K2", "K3")
    finally:
        sa.event.remove(table.engine, "before_cursor_execute", capture)
    assert due == {"K2", "K3"}
    assert sorted({row["meeting_id"] for row, _ in fetched}) == [f"K{k}-{n}" for k in (2, 3) for n in (1, 2, 3)]
    assert len(statements) == 5  # three due conditions, the settings summary and the fetch, each bounded by the range
    with closing(table.hook.get_conn()) as conn:
        for statement, parameters in statements:
            plan = " ".join(str(step[-1]) for step in conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "USING INDEX daily_meetings_series_key (<expr>>? AND <expr><?)" in plan, (statement, plan)


def test_reconcile_recreates_a_deleted_series_room_once_for_all_its_rows(sqlite_meetings_db, daily_conn):
    """Deleted in Daily behind our back: one new series room (not one room per occurrence), its new
    PIN written to every occurrence and reported for each (their invitation must be re-sent)."""
    from daily_dialin.provisioning.reconcile import reconcile

    insert_rows(sqlite_meetings_db, [*weekly("W5", 3), meeting("M5")])
    assert run_engine()["verdict"] == "success"
    old_pin = table_rows(sqlite_meetings_db)["W5-1"]["dialin_pin"]
    daily_conn.admin.delete_room("mtg_s-W5")
    created_before = daily_conn.admin.counters()["rooms_created"]
    report = reconcile()
    assert report.failed == 0, report.failures
    assert daily_conn.admin.counters()["rooms_created"] == created_before + 1, "one room for the whole series"
    rows = table_rows(sqlite_meetings_db)
    room = assert_one_room([rows[f"W5-{n}"] for n in (1, 2, 3)], "mtg_s-W5", daily_conn)
    assert room["config"]["dialin_code"] != old_pin
    assert set(report.pin_changed) == {"W5-1", "W5-2", "W5-3"}
    assert not [name for name in live_rooms(daily_conn) if name.startswith("mtg-W5")], "no meeting rooms"


@pytest.mark.parametrize(
    "series_id", ["S1", " S1", "S1 ", "", " ", "\t\r\n", "\x0b\x0c", "\x01", "\x7f", "é", "\u3000", "  x", "7"]
)
def test_the_sql_series_rule_agrees_with_the_row_model(meetings_db, series_id):
    """The table's SQL mirror of :func:`daily_dialin.rows.series_key` (it tests the first character
    before trimming: measured cheaper) names the same rows in a series as the row model does."""
    import sqlalchemy as sa

    from daily_dialin.rows import series_problem

    insert_rows(meetings_db, [meeting("M1", series_id=series_id), meeting("M2")])
    table = MeetingsTable.from_config(ProvisioningConfig())
    with table.engine.connect() as conn:
        in_series = {r[0] for r in conn.execute(sa.select(table.c.meeting_id).where(*table._in_series()))}
    assert in_series == ({"M1"} if series_problem(series_id) is None else set())
    reported = {p.meeting_id for p in table.problem_rows(datetime.now(UTC)) if p.kind == "series"}
    assert reported == ({"M1"} if series_problem(series_id) is not None else set())
