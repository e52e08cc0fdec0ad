"""A series room carries the settings of the series' next occurrence - also once an earlier one is over.

The display name callers hear and the wait-for-host flag come from the next occurrence
(docs/series.md). When the occurrence that gave them ends (plus the grace), the series is due
again (``daily_dialin.provisioning.table.due.settings_outdated``), the next occurrence's settings
reach the room, and that occurrence is rewritten - so the run after changes nothing again.

Against the emulator over HTTP and a real SQLite meetings table, through the provisioning steps as
the DAG's tasks call them (``tests/support/engine.py``); a run "later" is a run given a later
``now`` (the application's clock), the rows are built relative to the real one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daily_dialin.provisioning.meetings import parse_utc
from daily_dialin.provisioning.series import cap_ends_by
from daily_dialin.provisioning.window import Selection
from tests.support.engine import insert_rows, meeting, run_engine, table_rows

GRACE = timedelta(minutes=60)  # the default exp_grace_minutes


def _rows() -> list[dict]:
    first = meeting(
        "N1-1", days=0.1, series_id="N1", dialin_display_name="First caller name", wait_for_meeting_start=True
    )
    second = meeting(
        "N1-2", days=2, series_id="N1", dialin_display_name="Second caller name", wait_for_meeting_start=False
    )
    third = meeting(
        "N1-3", days=9, series_id="N1", dialin_display_name="Third caller name", wait_for_meeting_start=True
    )
    return [first, second, third]


def _dialin(emulator) -> dict:
    """The series room's dial-in settings; a default value is left out of a room's config [doc]:
    the wait flag's (False, as ``airflow_provider_daily.rooms.DIALIN_DEFAULTS`` assumes) is filled in."""
    room = next(r for r in emulator.admin.snapshot()["rooms"] if r["name"] == "mtg_s-N1")
    return {"wait_for_meeting_start": False, **room["config"]["dialin"]}


def _requests(emulator) -> dict:
    return dict(emulator.admin.counters()["requests"])


def test_the_next_occurrence_settings_reach_the_room_when_the_first_is_over(sqlite_meetings_db, daily_conn):
    table = sqlite_meetings_db
    insert_rows(table, _rows())
    assert run_engine()["verdict"] == "success"
    dialin = _dialin(daily_conn)
    assert (dialin["display_name"], dialin["wait_for_meeting_start"]) == ("First caller name", True)
    pin = table_rows(table)["N1-1"]["dialin_pin"]
    first_ends = parse_utc(table_rows(table)["N1-1"]["ends_at"])

    # before occurrence 1 is over (its end plus the grace): nothing is due, no call to Daily
    before = _requests(daily_conn)
    during = first_ends + GRACE - timedelta(minutes=1)
    summary = run_engine(now=during)
    assert summary["verdict"] == "success", summary
    assert _requests(daily_conn) == before
    assert _dialin(daily_conn)["display_name"] == "First caller name"

    # occurrence 1 is over: occurrence 2's settings reach the room (same room, same PIN)
    after = first_ends + GRACE + timedelta(minutes=1)
    summary = run_engine(now=after)
    assert summary["verdict"] == "success", summary
    dialin = _dialin(daily_conn)
    assert (dialin["display_name"], dialin["wait_for_meeting_start"]) == ("Second caller name", False)
    rows = table_rows(table)
    assert {rows[f"N1-{n}"]["dialin_pin"] for n in (2, 3)} == {pin}
    assert summary["pin_changed"]["count"] == 0

    # and that is done: the next run at the same time changes nothing
    before = _requests(daily_conn)
    assert run_engine(now=after)["verdict"] == "success"
    assert _requests(daily_conn) == before


def test_a_series_is_due_for_its_settings_only_once_an_occurrence_that_held_the_room_is_over(meetings_db, daily_conn):
    """The table's side of the rule, at the instants around the first occurrence's end (SQLite and
    PostgreSQL: the latest end and ``provisioned_at`` come back as text or as timestamps)."""
    table = meetings_db
    insert_rows(table, _rows())
    assert run_engine()["verdict"] == "success"
    first_ends = parse_utc(table_rows(table)["N1-1"]["ends_at"])

    def due_at(moment: datetime) -> list[str]:
        rolling = Selection(starts_before=moment + timedelta(days=30), ends_after=moment)
        due = table.due_series(rolling, now=moment, cap_ends_by=cap_ends_by(moment, table.config))
        keys = table.due_series_keys(rolling, now=moment, cap_ends_by=cap_ends_by(moment, table.config))
        assert sorted(keys) == [key for key, _ in due]  # the plan and a chunk agree
        return [key for key, _ in due]

    assert due_at(datetime.now(UTC)) == []
    assert due_at(first_ends) == []  # ended, but within the grace: it still gives the settings
    assert due_at(first_ends + GRACE + timedelta(seconds=1)) == ["N1"]


def test_the_watcher_sees_a_series_whose_settings_must_change(meetings_db, daily_conn):
    """The poll fires for it (the next occurrence starts within the look-ahead), and stops once a
    run has brought the settings to the room."""
    from daily_dialin.freshness.pending import pending_work

    table = meetings_db
    insert_rows(table, _rows())
    assert run_engine()["verdict"] == "success"
    first_ends = parse_utc(table_rows(table)["N1-1"]["ends_at"])

    def poll(moment: datetime):
        return pending_work(table, now=moment, horizon_days=30, look_ahead=timedelta(hours=48))

    assert not poll(first_ends + GRACE - timedelta(minutes=1)).any
    after = first_ends + GRACE + timedelta(minutes=1)
    work = poll(after)
    assert (work.new, work.changed, work.cancelled) == (0, 1, 0)
    assert poll(after).token == work.token  # the same work: no second event
    assert run_engine(now=after)["verdict"] == "success"
    assert not poll(after).any


def test_the_poll_reads_provisioned_at_of_occurrences_of_series_only(meetings_db, daily_conn):
    """The series' rule alone needs ``provisioned_at``; for the one-off meetings of the window (most
    rows, on every poll) the poll reads NULL, not a timestamp to convert - about 2 ms of the poll's
    25 at 100,000 rows on PostgreSQL (``bench/results/freshness-ab.md``). Failed on the tree that
    read it for every row."""
    from daily_dialin.freshness import pending

    table = meetings_db
    insert_rows(table, [*_rows(), meeting("ONE", days=1)])
    assert run_engine()["verdict"] == "success"
    columns = ("meeting_id", "provisioned_at")
    now = datetime.now(UTC)
    query = pending._window(table, columns, now=now, look_ahead=timedelta(days=30), grace=GRACE)
    with table.engine.connect() as conn:
        read = dict(conn.execute(query).all())
    assert set(read) == {"ONE", "N1-1", "N1-2", "N1-3"}
    assert read["ONE"] is None
    assert all(read[key] is not None for key in ("N1-1", "N1-2", "N1-3"))
