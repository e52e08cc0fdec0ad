"""MeetingsTable on SQLite and PostgreSQL: the shape checks, the status rule's SQL mirror,
attempts (only failures count), and the freshness queries (pending_work, not_ready_soon,
mark_missed). Rows are read with ``row.get`` (a MeetingRow)."""

from __future__ import annotations

import json
import warnings
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from airflow_provider_daily.errors import DailyConfigError
from daily_dialin.freshness.pending import PendingWork, pending_work
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.table import MISSED_PREFIX, CancelledRoom, Failure, MeetingsTable, Provisioned
from daily_dialin.provisioning.window import Selection
from daily_dialin.rows import MeetingRow, StatusKind
from tests.support.engine import insert_rows, meeting, run_engine, settings_env, table_rows

HORIZON = 30
LOOK_AHEAD = timedelta(hours=24)


def now() -> datetime:
    return datetime.now(UTC)


def set_columns(table: MeetingsTable, meeting_id: str, **values: Any) -> None:
    sets = ", ".join(f"{table.cols[name]} = {table.ph}" for name in values)
    with closing(table.hook.get_conn()) as conn:
        conn.cursor().execute(
            f"UPDATE {table.table} SET {sets} WHERE {table.cols['meeting_id']} = {table.ph}",
            [*values.values(), meeting_id],
        )
        conn.commit()


def row_of(table: MeetingsTable, meeting_id: str):
    return table.fetch([meeting_id])[meeting_id]


def provision(table: MeetingsTable, *meeting_ids: str, when: datetime | None = None) -> None:
    rows = table.fetch(list(meeting_ids))
    table.write_results(
        provisioned=[
            Provisioned(
                meeting_id=mid,
                room_name=f"mtg-{mid}",
                room_url=f"https://example.daily.co/mtg-{mid}",
                pin="12345678901",
                number="+12095550100",
                dial_string="tel:+12095550100,,12345678901",
                room_exp=2_000_000_000,
                fingerprint=rows[mid].fingerprint(table.config),
            )
            for mid in meeting_ids
        ],
        failed=[],
        now=when or now(),
    )


def pending(table: MeetingsTable, at: datetime | None = None) -> PendingWork:
    return pending_work(table, now=at or now(), horizon_days=HORIZON, look_ahead=LOOK_AHEAD)


def rolling() -> Selection:
    at = now()
    return Selection(starts_before=at + timedelta(days=HORIZON), ends_after=at)


# -- the status rule: SQL and Python agree ------------------------------------------------------
TRICKY_STATUSES = {
    "S01": "scheduled",
    "S02": " Scheduled ",
    "S03": "SCHEDULED",
    "S04": "scheduled\t",
    "S05": "\n scheduled\r\n",
    "S06": "\u00a0scheduled\u3000",  # no-break and ideographic spaces: str.strip() trims them
    "S07": "ScHeDuLeD\x0b\x0c",
    "S08": "sched uled",
    "S09": "scheduledx",
    "S10": "",
    "S11": "   ",
    "S12": "draft",
    "S13": "scheduled.",
    "S14": "_scheduled",
}


def test_status_sql_mirror_agrees_with_normalize_status(meetings_db):
    insert_rows(meetings_db, [meeting(mid, status=status) for mid, status in TRICKY_STATUSES.items()])
    config = meetings_db.config
    python = {
        mid
        for mid, status in TRICKY_STATUSES.items()
        if MeetingRow.from_record({"meeting_id": mid, "status": status}, config=config).status_kind
        is StatusKind.PROVISIONABLE
    }
    assert python == {"S01", "S02", "S03", "S04", "S05", "S06", "S07"}
    assert set(meetings_db.select_due_ids(rolling())) == python
    unknown = {p.meeting_id for p in meetings_db.problem_rows(now()) if p.kind == "status"}
    assert unknown == set(TRICKY_STATUSES) - python - {"S12"}


TRICKY_CANCELLED = {
    "X01": "cancelled",
    "X02": "canceled",
    "X03": " Cancelled",
    "X04": "CANCELED\t",
    "X05": "\u2003cancelled",
    "X06": "cancelledx",  # between the known statuses
    "X07": "aaa",  # below every known status
    "X08": "zzz cancelled",  # above
    "X09": "Cancelled!",
    "X10": "scheduled",
    "X11": "draft",
    "X12": "Éteint",  # not ASCII
}


def test_cancelled_status_rule_agrees_with_normalize_status(meetings_db):
    """The cancelled lookup (ranges between the known statuses on PostgreSQL) finds the same rows."""
    insert_rows(
        meetings_db,
        [
            meeting(mid, status=status, room_name=f"mtg-{mid}", dialin_pin="1")
            for mid, status in TRICKY_CANCELLED.items()
        ],
    )
    python = {
        mid
        for mid, status in TRICKY_CANCELLED.items()
        if MeetingRow.from_record({"meeting_id": mid, "status": status}, config=meetings_db.config).status_kind
        is StatusKind.CANCELLED
    }
    assert python == {"X01", "X02", "X03", "X04", "X05"}
    assert {r.meeting_id for r in meetings_db.cancelled_with_rooms(limit=100)} == python
    assert pending(meetings_db).cancelled == len(python)


def _cancelled_rows() -> list[dict[str, Any]]:
    return [
        meeting(mid, status=status, room_name=f"mtg-{mid}", dialin_pin="1") for mid, status in TRICKY_CANCELLED.items()
    ]


def _statements_of(table: MeetingsTable, call) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(table.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        sa.event.remove(table.engine, "before_cursor_execute", capture)
    return seen


def test_sqlite_looks_cancelled_rows_up_in_the_status_index(sqlite_meetings_db):
    """The watcher polls for cancelled rooms every few seconds: on SQLite that is a search of the
    shipped status index, also after ANALYZE counted one status on nearly every row (where SQLite
    scans for a plain status equality; measured at 100,000 rows: 15-24 ms a scan, 0.02 ms the
    searches), with the same rows as the rule in Python."""
    table = sqlite_meetings_db
    insert_rows(table, [*_cancelled_rows(), *(meeting(f"B{n:04d}") for n in range(300))])
    with closing(table.hook.get_conn()) as conn:
        conn.execute("ANALYZE")
        conn.commit()
    found: dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:  # the index lookup reflects quietly (task logs)
        warnings.simplefilter("always")
        statements = _statements_of(
            table,
            lambda: found.update(rows=table.cancelled_with_rooms(limit=100), work=pending(table)),
        )
    assert [str(w.message) for w in caught if issubclass(w.category, sa.exc.SAWarning)] == []
    assert {r.meeting_id for r in found["rows"]} == {"X01", "X02", "X03", "X04", "X05"}
    assert found["work"].cancelled == 5
    lookups = [(st, params) for st, params in statements if "unlikely(" in st]
    assert len(lookups) == 2  # cancelled_with_rooms and the poll's cancelled part
    with closing(table.hook.get_conn()) as conn:
        for statement, params in lookups:
            plan = [str(step[-1]) for step in conn.execute(f"EXPLAIN QUERY PLAN {statement}", params)]
            reads = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
            assert reads and all("USING INDEX daily_meetings_status" in step for step in reads), [
                r for r in reads if "daily_meetings_status" not in r
            ]


def test_a_sqlite_table_without_the_status_index_finds_the_same_cancelled_rows(sqlite_meetings_db):
    table = sqlite_meetings_db
    with closing(table.hook.get_conn()) as conn:  # a table made before the index was shipped
        conn.execute("DROP INDEX daily_meetings_status")
        conn.execute("DROP INDEX daily_meetings_status_id")  # the Dial-in page's (status, id) index: status first too
        conn.commit()
    table = MeetingsTable.from_config(table.config)
    insert_rows(table, _cancelled_rows())
    statements = _statements_of(table, lambda: table.cancelled_with_rooms(limit=100))
    assert not any("unlikely(" in st for st, _ in statements)  # one statement, no union of scans
    assert {r.meeting_id for r in table.cancelled_with_rooms(limit=100)} == {"X01", "X02", "X03", "X04", "X05"}
    assert pending(table).cancelled == 5


# -- the table's shape --------------------------------------------------------------------------
def test_reserved_table_and_column_names(tmp_path, monkeypatch, request):
    """``main.user`` with columns ``order``, ``select`` and ``end``: quoted by the dialect."""
    db = tmp_path / "kw.db"
    ddl = (
        'CREATE TABLE "user" (meeting_id TEXT PRIMARY KEY, "select" TEXT, starts_at TEXT, "end" TEXT, '
        "timezone TEXT, dialin_display_name TEXT, wait_for_meeting_start INTEGER, requested_phone_number TEXT, "
        '"order" TEXT, room_name TEXT, room_url TEXT, dialin_pin TEXT, dialin_number TEXT, dial_string TEXT, '
        "provisioned_at TEXT, room_exp INTEGER, room_fingerprint TEXT, last_error TEXT, attempts INTEGER)"
    )
    import sqlite3

    with closing(sqlite3.connect(db)) as conn:
        conn.execute(ddl)
        conn.commit()
    monkeypatch.setenv("AIRFLOW_CONN_KW", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    config = ProvisioningConfig(
        meetings_conn_id="kw",
        table="main.user",
        columns={"title": "select", "ends_at": "end", "status": "order"},
    )
    table = MeetingsTable.from_config(config)
    table.check_columns()
    insert_rows(table, [meeting("K1"), meeting("K2", status="draft")])
    assert table.select_due_ids(rolling()) == ["K1"]
    provision(table, "K1")
    assert table.fetch(["K1"])["K1"].get("provisioned_at")
    assert pending(table).any is False
    set_columns(table, "K1", status="cancelled")
    assert table.cancelled_with_rooms(limit=10) == [CancelledRoom(meeting_id="K1", room_name="mtg-K1")]


def test_a_missing_table_or_column_says_what_to_add(meetings_db, monkeypatch):
    with meetings_db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE daily_meetings RENAME TO old_meetings")
        conn.exec_driver_sql("CREATE TABLE daily_meetings AS SELECT * FROM old_meetings WHERE 1 = 0")
        conn.exec_driver_sql("ALTER TABLE daily_meetings DROP COLUMN room_fingerprint")
    table = MeetingsTable.from_config(ProvisioningConfig())
    with pytest.raises(DailyConfigError, match="ALTER TABLE daily_meetings ADD COLUMN room_fingerprint TEXT"):
        table.check_columns()
    with pytest.raises(DailyConfigError, match="has no column 'host_token'.*ADD COLUMN host_token TEXT"):
        table.check_optional_column("host_token", "store_host_tokens")
    table.check_optional_column("title", "a setting")  # present: no error
    missing = MeetingsTable.from_config(ProvisioningConfig(table="nowhere"))
    with pytest.raises(DailyConfigError, match="'nowhere' does not exist"):
        missing.check_columns()


def test_an_outage_is_raised_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_GONE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "no" / "such" / "dir.db")})
    )
    table = MeetingsTable.from_config(ProvisioningConfig(meetings_conn_id="gone"))
    with pytest.raises(sa.exc.OperationalError):
        table.check_columns()


@pytest.mark.postgres
def test_a_database_that_is_down_is_an_outage(monkeypatch, postgres_server):
    from daily_devtools.postgres import _free_port  # a port nothing listens on

    conn = {"conn_type": "postgres", "host": "127.0.0.1", "port": _free_port(), "login": "postgres", "schema": "x"}
    monkeypatch.setenv("AIRFLOW_CONN_DOWN", json.dumps(conn))
    table = MeetingsTable.from_config(ProvisioningConfig(meetings_conn_id="down"))
    with pytest.raises(sa.exc.OperationalError):
        table.check_columns()
    with pytest.raises(sa.exc.OperationalError):
        pending(table)


def test_the_engine_is_created_once_per_table(meetings_db):
    assert meetings_db.engine is meetings_db.engine


# -- attempts count failures only -------------------------------------------------------------
def test_a_success_resets_attempts(meetings_db):
    insert_rows(meetings_db, [meeting("A1"), meeting("A2")])
    meetings_db.write_failures([Failure(meeting_id="A1", reason="Daily refused", counts=True)])
    assert row_of(meetings_db, "A1").get("attempts") == 1
    provision(meetings_db, "A1", "A2")
    assert row_of(meetings_db, "A1").get("attempts") == 0, "a success is not an attempt, and forgives the failures"
    assert row_of(meetings_db, "A2").get("attempts") == 0
    provision(meetings_db, "A2")  # an update of the room
    assert row_of(meetings_db, "A2").get("attempts") == 0


def test_clearing_a_cancelled_room_resets_attempts(meetings_db):
    insert_rows(meetings_db, [meeting("C1", attempts=1)])
    provision(meetings_db, "C1")
    set_columns(meetings_db, "C1", attempts=4, status="cancelled")
    meetings_db.clear_rooms([("C1", "mtg-C1")])
    row = row_of(meetings_db, "C1")
    assert row.get("attempts") == 0 and row.get("provisioned_at") is None and row.get("dialin_pin") is None


def test_a_reinstated_meeting_gets_its_room_again(sqlite_meetings_db, daily_conn, monkeypatch):
    """max_attempts 2: provision -> move the end (update) -> cancel (delete) -> schedule again.

    Deleting all 5 live rooms is over the mass-deletion gate's share (10 %); the gate is not what this
    finding is about, so it is opened wide here (tests/provisioning/test_deletions.py covers it)."""
    gate_open = {"max_deletions_without_approval": 10, "max_deletion_share_without_approval": 1.0}
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(max_attempts=2, **gate_open))
    ids = [f"L{i}" for i in range(5)]
    rows = [meeting(mid) for mid in ids]
    insert_rows(sqlite_meetings_db, rows)
    assert run_engine()["counts"]["created"] == 5
    for row in rows:
        later = datetime.strptime(row["ends_at"], "%Y-%m-%d %H:%M:%S") + timedelta(hours=1)
        set_columns(sqlite_meetings_db, row["meeting_id"], ends_at=f"{later:%Y-%m-%d %H:%M:%S}")
    assert run_engine()["counts"]["updated"] == 5
    for mid in ids:
        set_columns(sqlite_meetings_db, mid, status="cancelled")
    run_engine()
    assert not any(row["provisioned_at"] for row in table_rows(sqlite_meetings_db).values()), "rooms deleted"
    for mid in ids:
        set_columns(sqlite_meetings_db, mid, status="scheduled")
    summary = run_engine()
    assert summary["verdict"] == "success", summary["verdict"]
    after = table_rows(sqlite_meetings_db)
    assert all(after[mid]["provisioned_at"] and after[mid]["attempts"] == 0 for mid in ids)


# -- pending_work ---------------------------------------------------------------------------------
def test_nothing_pending_on_an_empty_or_done_table(meetings_db):
    empty = pending(meetings_db)
    assert (empty.new, empty.changed, empty.cancelled, empty.any) == (0, 0, 0, False)
    insert_rows(meetings_db, [meeting("D1", days=0.5), meeting("D2", days=10)])
    provision(meetings_db, "D1", "D2")
    done = pending(meetings_db)
    assert not done.any and done.token == empty.token


def test_new_work_and_what_is_never_work(meetings_db):
    insert_rows(
        meetings_db,
        [
            meeting("N1"),
            meeting("far", days=HORIZON + 2),  # outside the horizon
            meeting("over", days=-1),  # ended
            meeting("given-up", attempts=5),
            meeting("draft", status="draft"),
            meeting("odd", status="who knows"),
            meeting("   "),
        ],
    )
    if meetings_db.is_sqlite:  # PostgreSQL reads 'tomorrow' as a timestamp
        insert_rows(meetings_db, [meeting("bad-time", starts_at="tomorrow")])
    work = pending(meetings_db)
    assert (work.new, work.changed, work.cancelled) == (1, 0, 0)
    assert pending(meetings_db).token == work.token, "equal work, equal token"
    insert_rows(meetings_db, [meeting("N2")])
    assert pending(meetings_db).new == 2 and pending(meetings_db).token != work.token


def test_a_reported_row_problem_is_work_once_until_the_row_changes(meetings_db):
    insert_rows(meetings_db, [meeting("B1", timezone="Mars/Olympus")])  # parses in SQL, fails in Python
    assert pending(meetings_db).new == 1
    meetings_db.write_failures([Failure(meeting_id="B1", reason="timezone 'Mars/Olympus' ...", counts=True)])
    assert pending(meetings_db).new == 0, "reported, and the row did not change"
    assert meetings_db.select_due_ids(rolling()) == ["B1"], "a run still tries it (attempts left)"
    set_columns(meetings_db, "B1", timezone="UTC")  # not room-relevant, but it fixes the row
    assert pending(meetings_db).new == 1
    provision(meetings_db, "B1")
    assert not pending(meetings_db).any


def test_an_outage_keeps_the_work_visible(meetings_db):
    insert_rows(meetings_db, [meeting("O1")])
    before = pending(meetings_db)
    meetings_db.write_results(
        provisioned=[], failed=[Failure(meeting_id="O1", reason="not provisioned: timeout", counts=False)], now=now()
    )
    after = pending(meetings_db)
    assert after.new == 1 and after.token == before.token
    assert row_of(meetings_db, "O1").get("room_fingerprint") is None


def test_a_counted_failure_of_a_provisioned_row_keeps_its_fingerprint(meetings_db):
    insert_rows(meetings_db, [meeting("P1", days=0.5)])
    provision(meetings_db, "P1")
    fingerprint = row_of(meetings_db, "P1").get("room_fingerprint")
    set_columns(meetings_db, "P1", dialin_display_name="Renamed")
    meetings_db.write_failures([Failure(meeting_id="P1", reason="Daily refused the update", counts=True)])
    assert row_of(meetings_db, "P1").get("room_fingerprint") == fingerprint
    assert pending(meetings_db).changed == 1, "the update is still due"


def test_changed_rooms_within_the_look_ahead(meetings_db):
    insert_rows(meetings_db, [meeting("M1", days=0.5), meeting("M2", days=5)])
    provision(meetings_db, "M1", "M2")
    set_columns(meetings_db, "M1", dialin_display_name="Moved")
    set_columns(meetings_db, "M2", dialin_display_name="Moved")  # beyond the look-ahead: the safety run's job
    work = pending(meetings_db)
    assert (work.new, work.changed, work.cancelled) == (0, 1, 0)
    assert set(meetings_db.select_due_ids(rolling())) == {"M1", "M2"}
    assert pending_work(meetings_db, now=now(), horizon_days=HORIZON, look_ahead=timedelta(days=7)).changed == 2
    set_columns(meetings_db, "M1", dialin_display_name="Moved again")
    assert pending(meetings_db).token != work.token


def test_cancelled_rooms_are_work_until_cleared(meetings_db):
    insert_rows(meetings_db, [meeting("X1"), meeting("X2")])
    provision(meetings_db, "X1", "X2")
    set_columns(meetings_db, "X1", status=" Cancelled ")
    work = pending(meetings_db)
    assert (work.new, work.changed, work.cancelled) == (0, 0, 1)
    meetings_db.clear_rooms([("X1", "mtg-X1")])
    assert not pending(meetings_db).any
    off = MeetingsTable.from_config(ProvisioningConfig(delete_cancelled_rooms=False))
    set_columns(meetings_db, "X2", status="cancelled")
    assert not pending_work(off, now=now(), horizon_days=HORIZON, look_ahead=LOOK_AHEAD).any


# -- alerts ---------------------------------------------------------------------------------------
def test_not_ready_soon(meetings_db):
    insert_rows(
        meetings_db,
        [meeting("R1", days=0.05), meeting("R2", days=0.02), meeting("R3", days=0.05), meeting("R4", days=3)],
    )
    provision(meetings_db, "R3")
    assert meetings_db.not_ready_soon(now=now(), within=timedelta(hours=2), limit=1) == (2, ["R2"])
    assert meetings_db.not_ready_soon(now=now(), within=timedelta(hours=2), limit=10) == (2, ["R2", "R1"])


def test_missed_meetings_are_reported_once(meetings_db):
    insert_rows(
        meetings_db,
        [
            meeting("Z1", days=-0.01, last_error="Daily refused", attempts=5),
            meeting("Z2", days=-0.02),
            meeting("Z3", days=-0.01),
            meeting("Z4", days=1),
        ],
    )
    provision(meetings_db, "Z3")
    assert meetings_db.mark_missed(now=now(), limit=1) == (2, ["Z2"])
    z1 = row_of(meetings_db, "Z1")
    assert z1.get("last_error").startswith(MISSED_PREFIX) and "Daily refused" in z1.get("last_error")
    assert z1.get("attempts") == 5
    assert row_of(meetings_db, "Z2").get("last_error").startswith(MISSED_PREFIX)
    assert row_of(meetings_db, "Z3").get("last_error") is None
    assert meetings_db.mark_missed(now=now(), limit=10) == (0, []), "reported once"


def test_a_reinstated_meeting_reports_its_new_pin(sqlite_meetings_db, daily_conn):
    """Cancelled (room deleted, PIN cleared), then scheduled again: one new room with a new PIN -
    reported as a PIN change, so its invitation is re-sent with the PIN that works."""
    insert_rows(sqlite_meetings_db, [meeting("R1"), meeting("R2")])
    run_engine()
    old = table_rows(sqlite_meetings_db)["R1"]["dialin_pin"]
    set_columns(sqlite_meetings_db, "R1", status="cancelled")
    run_engine()
    assert table_rows(sqlite_meetings_db)["R1"]["dialin_pin"] is None
    set_columns(sqlite_meetings_db, "R1", status="scheduled")
    summary = run_engine()
    assert summary["verdict"] == "success", summary["verdict"]
    assert table_rows(sqlite_meetings_db)["R1"]["dialin_pin"] not in (None, old)
    assert summary["pin_changed"]["ids"] == ["R1"], summary["pin_changed"]
