"""Events pruning: processed events older than ``events_retention_days`` are deleted by the calls
DAG's fold step, a whole Daily meeting at a time, so the events table does not grow forever and a
later fold of the same (series) room never sees half a meeting. Unprocessed events and recent ones
(replay protection) stay.

Every time is relative to a fixed instant in the past (``START``) and handed to the code as ``now``:
nothing depends on today's date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from airflow_provider_daily.errors import DailyConfigError
from daily_dialin.calls import process
from daily_dialin.calls.events import parse_event
from daily_dialin.calls.settings import CallsSettings
from tests.calls.helpers import body_of, dialin, meeting_ended
from tests.calls.test_fold import add_figure_columns
from tests.support.engine import insert_rows

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
ROOM = "mtg_s-weekly"
FMT = "%Y-%m-%d %H:%M:%S"
RETENTION = timedelta(days=7)  # the default


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def store_at(store, data: dict, received: datetime) -> bool:
    store.ensure_schema()
    return store.insert_event(parse_event(body_of(data)), received_at=received)


def seed(table) -> None:
    def row(mid: str, room: str, start: datetime) -> dict:
        end = start + timedelta(hours=1)
        pg = table.engine.dialect.name == "postgresql"
        return {
            "meeting_id": mid,
            "title": mid,
            "starts_at": start if pg else f"{start:{FMT}}",
            "ends_at": end if pg else f"{end:{FMT}}",
            "timezone": "UTC",
            "status": "scheduled",
            "room_name": room,
        }

    day = 24 * 60
    insert_rows(table, [row("A", ROOM, START), row("B", ROOM, at(10 * day)), row("M1", "mtg-M1", START)])


def event_ids(store) -> set[str]:
    with store.engine.connect() as conn:
        return {row[0] for row in conn.execute(sa.select(store.events.c.event_id))}


def figures(table) -> dict[str, tuple]:
    with table.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT meeting_id, phone_callers, phone_minutes FROM daily_meetings")
        return {r[0]: (r[1], None if r[2] is None else float(r[2])) for r in rows}


def test_old_meetings_are_pruned_whole_and_later_folds_keep_their_figures(calls_db):
    table, store = calls_db
    seed(table)
    add_figure_columns(table, ["phone_callers", "phone_minutes"])
    day = 24 * 60
    old = [
        # occurrence A of a series room: a call, and a retried stop that arrived after meeting.ended
        (dialin("dialin.connected", ROOM, "a-1", at(2).timestamp()), at(2)),
        (dialin("dialin.connected", ROOM, "a-2", at(3).timestamp()), at(3)),
        (dialin("dialin.stopped", ROOM, "a-1", at(32).timestamp()), at(32)),
        (meeting_ended(ROOM, at(0).timestamp(), at(50).timestamp()), at(50)),
        (dialin("dialin.stopped", ROOM, "a-2", at(40).timestamp()), at(55)),  # Daily's retry, late
        # a one-off room whose meeting never reported an end: pruned once the room went quiet
        (dialin("dialin.error", "mtg-M1", "m-1", at(5).timestamp(), error_msg="SIP 503"), at(5)),
    ]
    for data, received in old:
        store_at(store, data, received)
    process.fold_events(now=at(60))
    before = figures(table)
    assert before["A"] == (2, 67.0)
    calls_a = {c.session_id: c for c in store.read_calls() if c.meeting_id == "A"}

    # occurrence B, ten days later: its call starts before the prune, stops after it
    b_start = 10 * day
    fresh = dialin("dialin.connected", ROOM, "b-1", at(b_start + 2).timestamp())
    store_at(store, fresh, at(b_start + 2))
    summary = process.fold_events(now=at(b_start + 5))
    assert summary["pruned"] == len(old), "A's events (the late retry too) and the quiet room's are gone"
    assert event_ids(store) == {fresh["id"]}, "B's event stays: its meeting has not ended"
    assert store_at(store, fresh, at(b_start + 6)) is False, "a replay within the retention is still refused"

    store_at(store, dialin("dialin.stopped", ROOM, "b-1", at(b_start + 12).timestamp()), at(b_start + 12))
    process.fold_events(now=at(b_start + 15))
    after = figures(table)
    assert after["A"] == before["A"], "a later fold of the room leaves the pruned meeting's figures alone"
    assert after["B"] == (1, 10.0)
    assert {c.session_id: c for c in store.read_calls() if c.meeting_id == "A"} == calls_a


def test_unprocessed_and_recent_events_stay(calls_db):
    table, store = calls_db
    seed(table)
    old = dialin("dialin.connected", "mtg-M1", "u-1", at(2).timestamp())
    store_at(store, old, at(2))
    # not folded yet (e.g. the calls DAG was paused for weeks): never pruned
    assert store.prune(cutoff=at(60 * 24 * 30)) == 0
    process.fold_events(now=at(60))
    assert process.prune_events(store, CallsSettings(), at(2) + RETENTION - timedelta(minutes=1)) == 0
    assert process.prune_events(store, CallsSettings(), at(2) + RETENTION + timedelta(minutes=1)) == 1
    assert event_ids(store) == set()


def test_the_retention_keeps_at_least_two_days():
    assert CallsSettings().events_retention_days == 7
    with pytest.raises(DailyConfigError, match="events_retention_days"):
        CallsSettings.load({"events_retention_days": 0.01})
