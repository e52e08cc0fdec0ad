"""The watcher against a real SQLite meetings table (shipped schema, ``MeetingsTable.pending_work``):
it fires for a new meeting, a moved one and a cancelled one with a room, not again for the same work,
again after ``refire_seconds``; it rides out a dropped table, a database file replaced by garbage and a
malformed Variable, logging one line per outage, and recovers by itself.

Each test runs the trigger's async generator in a task (``Pump``) with short intervals and timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from datetime import timedelta

from daily_dialin.freshness.trigger import MeetingsTableTrigger
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import room_fingerprint
from tests.freshness.conftest import Pump, SqliteMeetings, recorded, run_async

HOUR = timedelta(hours=1)


def watcher(**kwargs) -> MeetingsTableTrigger:
    defaults = {"poll_seconds": 0.05, "refire_seconds": 60.0, "max_backoff_seconds": 0.2}
    return MeetingsTableTrigger(**{**defaults, **kwargs})


def provision(meetings: SqliteMeetings, meeting_id: str) -> None:
    """What a run writes back, as far as the table's work rules care (room, PIN, fingerprint)."""
    config = ProvisioningConfig()
    (row,) = meetings.table.fetch([meeting_id]).values()
    values = dict(getattr(row, "values", row))
    meetings.execute(
        "UPDATE daily_meetings SET room_name = ?, dialin_pin = ?, provisioned_at = '2026-01-01 00:00:00', "
        "room_fingerprint = ? WHERE meeting_id = ?",
        (f"mtg-{meeting_id}", "12345678901", room_fingerprint(values, config), meeting_id),
    )


def test_fires_for_new_moved_and_cancelled_meetings_once_per_change(sqlite_meetings):
    trigger = watcher()
    log = recorded(trigger)

    async def scenario() -> None:
        async with Pump(trigger) as pump:
            assert await pump.quiet(0.3) == []  # an empty table is no work

            sqlite_meetings.insert("M1", starts_in=HOUR)
            first = await pump.next(5)
            assert first is not None and (first["new"], first["changed"], first["cancelled"]) == (1, 0, 0)
            assert set(first) == {"work", "new", "changed", "cancelled", "refire"}  # counts, no ids or PINs
            assert await pump.quiet(0.4) == []  # the same work: not again

            sqlite_meetings.insert("M2", starts_in=2 * HOUR)
            second = await pump.next(5)
            assert (second["new"], second["work"] != first["work"]) == (2, True)

            provision(sqlite_meetings, "M1")
            provision(sqlite_meetings, "M2")
            assert await pump.quiet(0.4) == []  # all done: nothing to fire for

            sqlite_meetings.execute(
                "UPDATE daily_meetings SET ends_at = datetime(ends_at, '+30 minutes') WHERE meeting_id = 'M1'"
            )
            moved = await pump.next(5)
            assert (moved["new"], moved["changed"], moved["cancelled"]) == (0, 1, 0)
            provision(sqlite_meetings, "M1")

            sqlite_meetings.execute("UPDATE daily_meetings SET status = 'Cancelled ' WHERE meeting_id = 'M2'")
            cancelled = await pump.next(5)
            assert (cancelled["new"], cancelled["changed"], cancelled["cancelled"]) == (0, 0, 1)
            assert await pump.quiet(0.3) == []

    run_async(scenario())
    assert log.at("warning") == []


def test_ignores_what_no_run_can_do(sqlite_meetings):
    trigger = watcher()
    recorded(trigger)
    config = ProvisioningConfig()

    async def scenario() -> None:
        async with Pump(trigger) as pump:
            sqlite_meetings.insert("LATE", starts_in=timedelta(days=config.horizon_days + 2))  # beyond the horizon
            sqlite_meetings.insert("OVER", starts_in=-3 * HOUR)  # ended
            sqlite_meetings.insert("DRAFT", starts_in=HOUR, status="draft")
            sqlite_meetings.insert("GIVEN-UP", starts_in=HOUR)
            sqlite_meetings.execute(
                "UPDATE daily_meetings SET attempts = ? WHERE meeting_id = 'GIVEN-UP'", (config.max_attempts,)
            )
            assert await pump.quiet(0.5) == []

    run_async(scenario())


def test_fires_again_for_unchanged_work_after_refire_seconds(sqlite_meetings):
    trigger = watcher(refire_seconds=0.4, refire_max_seconds=10)
    recorded(trigger)

    async def scenario() -> list[tuple[float, int]]:
        loop = asyncio.get_running_loop()
        sqlite_meetings.insert("M1", starts_in=HOUR)
        fired, tokens = [], set()
        async with Pump(trigger) as pump:
            start = loop.time()
            for _ in range(3):  # at once, after 0.4 s, after 0.8 s more
                payload = await pump.next(5)
                fired.append((loop.time() - start, payload["refire"]))
                tokens.add(payload["work"])
        assert len(tokens) == 1  # the same work each time
        return fired

    fired = run_async(scenario())
    assert [refire for _, refire in fired] == [0, 1, 2]
    assert 0.35 <= fired[1][0] - fired[0][0] < 3 and fired[2][0] - fired[1][0] >= 0.75, fired


def _overwrite_file(path, content: bytes) -> None:
    """Write ``content`` over the start of ``path`` in one system call, without truncating it first:
    a poll sees the old bytes or the new ones, never the empty file ``write_bytes`` leaves for a moment
    (an empty file is another error, a third warning: the test was flaky). Not a temporary file renamed
    over it: the watcher's pooled connection keeps the replaced file open and would never see the new one."""
    fd = os.open(path, os.O_WRONLY)
    try:
        assert os.pwrite(fd, content, 0) == len(content)
    finally:
        os.close(fd)


def _outage_warnings(log) -> list[str]:
    return [line for line in log.at("warning") if "cannot poll" in line]


def test_survives_a_dropped_table_and_a_garbage_database_file_logging_once_per_outage(sqlite_meetings):
    trigger = watcher()
    log = recorded(trigger)

    async def scenario() -> None:
        async with Pump(trigger) as pump:
            sqlite_meetings.insert("M1", starts_in=HOUR)
            first = await pump.next(5)

            # 1. the table is dropped, then created again with its row
            saved = sqlite_meetings.path.read_bytes()
            sqlite_meetings.execute("DROP TABLE daily_meetings")
            await pump.quiet(1.0)  # several failed polls, backing off
            assert len(_outage_warnings(log)) == 1, log.lines
            _overwrite_file(sqlite_meetings.path, saved)
            assert await pump.quiet(0.6) == []  # recovered; the same work was fired already
            assert any("polling again" in line for line in log.at("info")), log.lines

            # 2. the file is replaced by garbage
            _overwrite_file(sqlite_meetings.path, b"this is not a database" * 100)
            await pump.quiet(1.0)
            assert len(_outage_warnings(log)) == 2, log.lines
            _overwrite_file(sqlite_meetings.path, saved)
            sqlite_meetings.insert("M2", starts_in=HOUR)  # work that arrived meanwhile is seen
            after = await pump.next(5)
            assert after["new"] == 2 and after["work"] != first["work"]

    run_async(scenario())
    dropped, garbage = _outage_warnings(log)
    assert "daily_meetings" in dropped, dropped
    assert "not a database" in garbage, garbage


def test_survives_a_malformed_variable_and_recovers_when_it_is_fixed(sqlite_meetings, monkeypatch):
    trigger = watcher()
    log = recorded(trigger)

    async def scenario() -> None:
        async with Pump(trigger) as pump:
            monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", "{bad")
            sqlite_meetings.insert("M1", starts_in=HOUR)
            assert await pump.quiet(1.0) == []
            assert len(_outage_warnings(log)) == 1, log.lines
            assert "daily_provisioning" in _outage_warnings(log)[0]
            monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", '{"horizon_days": 2}')
            fired = await pump.next(5)
            assert fired["new"] == 1

    run_async(scenario())
    assert len(_outage_warnings(log)) == 1


def test_a_settings_change_reopens_the_table_and_cleanup_closes_it(sqlite_meetings, monkeypatch):
    trigger = watcher()
    recorded(trigger)
    sqlite_meetings.insert("M1", starts_in=HOUR)
    assert trigger.poll().new == 1
    first = trigger._table
    assert trigger.poll().new == 1 and trigger._table is first  # same settings: same table and pool
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", '{"provisionable_statuses": ["confirmed"]}')
    assert trigger.poll().new == 0 and trigger._table is not first
    run_async(trigger.cleanup())
    assert trigger._table is None
    with contextlib.closing(sqlite3.connect(sqlite_meetings.path)) as conn:  # nothing left locked
        conn.execute("DELETE FROM daily_meetings")
        conn.commit()
