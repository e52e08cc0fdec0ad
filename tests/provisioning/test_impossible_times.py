"""Issue 21, "impossible or ambiguous times are problems, reported by row": a ``starts_at`` or
``ends_at`` that is no real instant (month 13, 30 February, 24:61, a zone name) or that carries an
offset is reported with its value on the first run - whatever its text sorts as - and is never
"missed"; the rows around it are provisioned.

Every value is built from the current year and time, so each case is the same on any date (the
month-13 row of last year sorts before now, the 30 February of this year before or after it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daily_dialin.freshness.pending import pending_work
from daily_dialin.provisioning.table import MISSED_PREFIX
from daily_dialin.rows import stored_time_problem
from tests.support.engine import insert_rows, meeting, run_engine, table_rows

TS = "%Y-%m-%d %H:%M:%S"


def _bad_rows(now: datetime) -> dict[str, tuple[dict, str]]:
    """id -> (row, the bad value its last_error must name)."""
    tomorrow = now + timedelta(days=1)
    soon = now + timedelta(hours=3)

    def row(meeting_id: str, starts: str, ends: str) -> dict:
        return {**meeting(meeting_id), "starts_at": starts, "ends_at": ends}

    cases = {
        "MONTH13": (f"{now.year - 1}-13-05 10:00:00", f"{now.year - 1}-13-05 11:00:00"),
        "FEB30": (f"{now.year}-02-30 10:00:00", f"{now.year}-02-30 11:00:00"),
        "MINUTE61": (f"{tomorrow:%Y-%m-%d} 24:61:00", f"{tomorrow + timedelta(days=1):%Y-%m-%d} 01:00:00"),
        "ZONE": (f"{tomorrow:{TS}} Mars/Olympus", f"{tomorrow + timedelta(hours=1):{TS}} Mars/Olympus"),
        "OFFSET": (f"{soon:{TS}}.000000-05:00", f"{soon + timedelta(hours=1):{TS}}+09:00"),
    }
    return {mid: (row(mid, starts, ends), starts) for mid, (starts, ends) in cases.items()}


@pytest.mark.parametrize("moved_days", [0, 200])  # the same on another day of the year
def test_impossible_times_are_reported_by_row_on_the_first_run(sqlite_meetings_db, daily_conn, moved_days):
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(days=moved_days)
    bad = _bad_rows(now)
    good = [meeting("GOOD")]
    good[0].update(starts_at=f"{now + timedelta(days=2):{TS}}", ends_at=f"{now + timedelta(days=2, hours=1):{TS}}")
    insert_rows(sqlite_meetings_db, [row for row, _ in bad.values()] + good)
    if moved_days:  # the emulator and the provider check against the real clock: move nothing to Daily
        summary = run_engine(params={"dry_run": True}, now=now)
        problems = {p["meeting_id"]: p["reason"] for p in summary["run"]["report"]["problems"]}
        assert set(problems) == set(bad), problems
        return
    summary = run_engine(now=now)
    rows = table_rows(sqlite_meetings_db)
    assert rows["GOOD"]["provisioned_at"], "the rows around them are provisioned"
    assert summary["missed"]["count"] == 0, summary["missed"]
    for meeting_id, (_, value) in bad.items():
        error = rows[meeting_id]["last_error"] or ""
        assert value in error, (meeting_id, error)
        assert not error.startswith(MISSED_PREFIX)
        assert rows[meeting_id]["attempts"] == 0 and rows[meeting_id]["room_name"] is None
        assert meeting_id in summary["failures"], "listed in the summary"
    assert summary["unreadable"] == len(bad)
    again = run_engine(now=now + timedelta(minutes=5))
    assert again["missed"]["count"] == 0
    assert all(not (table_rows(sqlite_meetings_db)[m]["last_error"] or "").startswith(MISSED_PREFIX) for m in bad)


def test_the_poll_does_not_see_a_reported_impossible_time_as_new_work(sqlite_meetings_db, daily_conn):
    now = datetime.now(UTC).replace(microsecond=0)
    tomorrow = now + timedelta(days=1)
    row = {**meeting("MINUTE61"), "starts_at": f"{tomorrow:%Y-%m-%d} 24:61:00"}
    row["ends_at"] = f"{tomorrow + timedelta(days=1):%Y-%m-%d} 01:00:00"
    insert_rows(sqlite_meetings_db, [row])
    poll = {"now": now, "horizon_days": 30, "look_ahead": timedelta(hours=24)}
    assert pending_work(sqlite_meetings_db, **poll).new == 1, "the cheap poll cannot tell 24:61 from a time"
    run_engine(now=now)
    assert pending_work(sqlite_meetings_db, **poll).new == 0, "reported: no new work until the row changes"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2026-12-06 10:00:00", None),
        ("2026-12-06 10:00:00.5", None),
        ("2024-02-29 23:59:59.123456", None),
        ("2025-02-29 10:00:00", "no real date"),
        ("2026-12-06 24:00:00", "no real date"),
        ("2026-12-06 23:59:60", "no real date"),
        ("0000-01-01 00:00:00", "no real date"),
        ("2026-12-06 10:00:00+00:00", "offset"),
        ("2026-12-06 10:00:00Z", "offset"),
        ("2026-12-06T10:00:00", "format"),
        ("2026-12-06 10:00:00.1234567", "format"),
        (20261206, "not text"),
    ],
)
def test_the_python_rule_and_the_sql_rule_agree(sqlite_meetings_db, value, problem):
    found = stored_time_problem(value)
    assert (found is None) == (problem is None) and (problem is None or problem in found), found
    table = sqlite_meetings_db
    import sqlalchemy as sa

    with table.engine.connect() as conn:
        valid = conn.execute(sa.select(table.rules.valid_time(sa.literal(value)))).scalar_one()
    assert bool(valid) == (problem is None)


# -- PostgreSQL: text columns get the same rule; timestamp columns cannot hold such values ---------
def _alter_times_to_text(table) -> None:
    with table.engine.begin() as conn:
        for column in ("starts_at", "ends_at"):
            conn.exec_driver_sql(f"ALTER TABLE daily_meetings ALTER COLUMN {column} TYPE TEXT")


@pytest.mark.postgres
def test_impossible_times_in_postgres_text_columns_are_reported_by_row(meetings_db, daily_conn):
    if meetings_db.is_sqlite:
        pytest.skip("the SQLite case is the test above")
    _alter_times_to_text(meetings_db)
    now = datetime.now(UTC).replace(microsecond=0)
    bad = _bad_rows(now)
    good = {**meeting("GOOD")}
    good.update(starts_at=f"{now + timedelta(days=2):{TS}}", ends_at=f"{now + timedelta(days=2, hours=1):{TS}}")
    insert_rows(meetings_db, [row for row, _ in bad.values()] + [good])
    summary = run_engine(now=now)
    rows = table_rows(meetings_db)
    assert rows["GOOD"]["provisioned_at"], summary["verdict"]
    assert summary["missed"]["count"] == 0, summary["missed"]
    for meeting_id, (_, value) in bad.items():
        error = rows[meeting_id]["last_error"] or ""
        assert value in error and not error.startswith(MISSED_PREFIX), (meeting_id, error)
        assert rows[meeting_id]["attempts"] == 0 and rows[meeting_id]["room_name"] is None
        assert meeting_id in summary["failures"]


@pytest.mark.postgres
def test_postgres_timestamp_columns_refuse_impossible_times_and_read_offsets_by_instant(meetings_db, daily_conn):
    if meetings_db.is_sqlite:
        pytest.skip("PostgreSQL only")
    import psycopg

    now = datetime.now(UTC).replace(microsecond=0)
    for meeting_id, (row, _) in _bad_rows(now).items():
        if meeting_id == "OFFSET":
            continue
        with pytest.raises(psycopg.DataError):  # no such instant: the column cannot hold it
            insert_rows(meetings_db, [row])
    soon = now + timedelta(hours=3)
    offset = {**meeting("OFFSET")}
    offset.update(starts_at=f"{soon:{TS}}.000000-05:00", ends_at=f"{soon + timedelta(hours=1):{TS}}-05:00")
    insert_rows(meetings_db, [offset])
    summary = run_engine(now=now)
    assert summary["verdict"] == "success", summary["verdict"]
    row = table_rows(meetings_db)["OFFSET"]
    assert row["provisioned_at"] and row["starts_at"] == soon + timedelta(hours=5), "compared by its instant"


@pytest.mark.parametrize(
    "value", ["2025-13-05 10:00:00", "2026-02-30 10:00:00", "2026-12-01 24:61:00", "2026-12-01 10:00:00.000000-05:00"]
)
def test_the_audit_oracle_refuses_what_is_no_real_instant(value):
    """The property tests' oracle decides by Python's calendar, not by the table's pattern."""
    from daily_devtools.audit import is_due

    now = datetime.now(UTC)
    row = {"meeting_id": "X", "starts_at": value, "ends_at": value}
    assert is_due(row, now=now, horizon_days=30) is None
    good = f"{now + timedelta(days=1):{TS}}"
    assert is_due({"meeting_id": "X", "starts_at": good, "ends_at": good}, now=now, horizon_days=30) is True
