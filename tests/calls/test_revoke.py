"""The PIN dies with the meeting, over real HTTP: a one-off meeting provisioned in the emulator, a
caller dials in by PIN and hangs up, the emulator's signed ``meeting.ended`` reaches the receiver
(served by uvicorn) and is stored; once the emulator's clock and the app's ``now`` are past
``max(meeting.ended, ends_at) + revoke_after_minutes``, ``revoke_ended`` deletes the room and the old
PIN is refused. Someone in the room defers it; a series room stays; revoking off keeps the PIN.

Times are relative to the test's start (whatever the date) and the emulator's clock is moved with
the ``now`` handed to the app, so nothing waits on the wall clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from airflow_provider_daily.hooks.daily import DailyHook
from daily_dialin.calls import process, revoke
from daily_dialin.calls.revoke_trigger import RevokeDueTrigger
from tests.calls.helpers import SECRET, meeting_ended
from tests.calls.test_end_to_end import served_receiver  # noqa: F401 - the fixture, used by name
from tests.calls.test_fold import store_all
from tests.support.daily import PIN_NUMBER, daily_connection_uri
from tests.support.engine import insert_rows, run_engine, table_rows

CALLER = "+12095550166"
FMT = "%Y-%m-%d %H:%M:%S"
GRACE = timedelta(minutes=15)  # revoke_after_minutes' default


@pytest.fixture
def daily_webhooks(calls_db, emulator, monkeypatch):
    """``daily_default`` at the emulator, with the webhook secret the receiver checks."""
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url, webhook_secret=SECRET))
    return emulator


@pytest.fixture
def webhooks_on(daily_webhooks, served_receiver):  # noqa: F811
    """The emulator's webhook (signed with the secret) posting into the served receiver."""
    url, _ = served_receiver
    DailyHook().create_webhook(url=url, event_types=["meeting.ended", "meeting.started"], hmac_secret=SECRET)
    return daily_webhooks


def _row(meeting_id: str, start: datetime, end: datetime, **extra) -> dict:
    return {
        "meeting_id": meeting_id,
        "title": meeting_id,
        "starts_at": f"{start:{FMT}}",
        "ends_at": f"{end:{FMT}}",
        "timezone": "UTC",
        "status": "scheduled",
        **extra,
    }


def _provisioned(table, rows: list[dict], *, now: datetime) -> dict:
    insert_rows(table, rows)
    run_engine(now=now)
    stored = table_rows(table)
    for row in rows:
        assert stored[row["meeting_id"]]["dialin_pin"], f"{row['meeting_id']} was provisioned"
    return stored


def _start() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _meeting(emulator, room: str, pin: str) -> None:
    """A host joins on the web, a caller dials in by PIN; both leave: the meeting ends."""
    host = emulator.admin.join(room, user_name="Host")
    call = emulator.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    assert call["status"] == "connected"
    emulator.admin.hang_up(call["session_id"])
    emulator.admin.leave(room, host)


def _ended_stored(store, emulator, room: str, count: int = 1) -> None:
    """Wait on state: the emulator delivered its webhooks and the receiver stored ``count`` ends."""
    assert emulator.admin.wait_webhooks(timeout=30)["idle"]
    assert len(_ends(store, room)) == count


def _ends(store, room: str) -> list:
    with store.engine.connect() as conn:
        query = "SELECT event_id FROM daily_call_events WHERE event_type = 'meeting.ended' AND room = :room"
        return list(conn.execute(sa.text(query), {"room": room}))


def _advance(emulator, start: datetime, to: datetime) -> datetime:
    """Move the emulator's clock so that its ``now`` is at least ``to``; the app's ``now`` is ``to``."""
    clock = emulator.admin.advance_clock(0)
    ahead = (to - start).total_seconds() - clock["offset"]
    if ahead > 0:
        emulator.admin.advance_clock(ahead)
    return to


def _dial_status(emulator, pin: str) -> str:
    return emulator.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)["status"]


def test_an_ended_meeting_loses_its_pin(webhooks_on, calls_db, caplog):
    table, store = calls_db
    emulator, start = webhooks_on, _start()
    ends_at = start + timedelta(minutes=20)
    stored = _provisioned(
        table, [_row("R1", start - timedelta(minutes=10), ends_at)], now=start - timedelta(minutes=30)
    )
    room, pin = stored["R1"]["room_name"], stored["R1"]["dialin_pin"]
    _meeting(emulator, room, pin)
    _ended_stored(store, emulator, room)
    process.fold_events(now=start)

    # not yet: the scheduled end has not passed (the meeting may resume within its slot)
    assert revoke.revoke_ended(now=start + GRACE + timedelta(minutes=1))["due"] == 0
    trigger = RevokeDueTrigger()
    assert trigger.poll(now=ends_at + GRACE - timedelta(seconds=1))[0] == 0
    assert trigger.poll(now=ends_at + GRACE)[0] == 1, "the revoke watcher fires without a new event"
    trigger._drop()
    probe = emulator.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    assert probe["status"] == "waiting", "the PIN still opens the room before it is due"
    emulator.admin.hang_up(probe["session_id"])

    now = _advance(emulator, start, ends_at + GRACE + timedelta(minutes=1))
    result = revoke.revoke_ended(now=now)
    assert (result["revoked"], result["deferred"], result["failed"]) == (1, 0, 0), result
    assert result["meetings"] == {"R1": "revoked: the meeting ended"}
    assert _dial_status(emulator, pin) == "disconnected", "the old PIN is refused"
    assert room not in _rooms(emulator)
    row = table_rows(table)["R1"]
    assert row["dialin_pin"] is None and row["last_error"] == "revoked: the meeting ended"
    assert row["room_name"] == room and row["provisioned_at"] is not None

    again = revoke.revoke_ended(now=now + timedelta(minutes=5))
    assert again["due"] == 0, "done once: the row no longer holds a PIN"
    run_engine(now=now)
    assert _rooms(emulator) == set(), "provisioning does not re-create the room of an ended meeting"
    assert table_rows(table)["R1"]["dialin_pin"] is None
    assert pin not in caplog.text and CALLER[1:] not in caplog.text


def _rooms(emulator) -> set[str]:
    return {room["name"] for room in emulator.admin.snapshot()["rooms"]}


def test_someone_in_the_room_defers_the_revoke(webhooks_on, calls_db):
    table, store = calls_db
    emulator, start = webhooks_on, _start()
    ends_at = start + timedelta(minutes=20)
    stored = _provisioned(
        table, [_row("R2", start - timedelta(minutes=10), ends_at)], now=start - timedelta(minutes=30)
    )
    room, pin = stored["R2"]["room_name"], stored["R2"]["dialin_pin"]
    _meeting(emulator, room, pin)
    _ended_stored(store, emulator, room)
    now = _advance(emulator, start, ends_at + GRACE + timedelta(minutes=1))
    late = emulator.admin.join(room, user_name="Late")  # back in after the meeting ended

    result = revoke.revoke_ended(now=now)
    assert (result["revoked"], result["deferred"]) == (0, 1), result
    assert result["rooms"][room].startswith("deferred: live (1 participant")
    assert room in _rooms(emulator)
    row = table_rows(table)["R2"]
    assert row["dialin_pin"] == pin and row["last_error"].startswith("revoke deferred: live (1 participant")

    emulator.admin.leave(room, late)  # the meeting ends again: the grace counts from this end
    _ended_stored(store, emulator, room, count=2)
    assert revoke.revoke_ended(now=now + timedelta(minutes=1))["due"] == 0, "not due until 15 min after the last end"
    now = _advance(emulator, start, now + GRACE + timedelta(minutes=1))
    assert revoke.revoke_ended(now=now)["revoked"] == 1
    assert room not in _rooms(emulator) and _dial_status(emulator, pin) == "disconnected"
    assert table_rows(table)["R2"]["last_error"] == "revoked: the meeting ended"


def test_a_series_room_and_revoking_off_keep_the_pin(daily_webhooks, calls_db, monkeypatch):
    """Here ``meeting.ended`` is stored the way the receiver stores it (parsed, sanitized, inserted)."""
    table, store = calls_db
    emulator, start = daily_webhooks, _start()
    ends_at = start + timedelta(minutes=20)
    week = timedelta(days=7)
    stored = _provisioned(
        table,
        [
            _row("S1", start - timedelta(minutes=10), ends_at, series_id="weekly"),
            _row("S2", start - timedelta(minutes=10) + week, ends_at + week, series_id="weekly"),
            _row("R3", start - timedelta(minutes=10), ends_at),
        ],
        now=start - timedelta(minutes=30),
    )
    series_room, one_off = stored["S1"]["room_name"], stored["R3"]["room_name"]
    assert stored["S2"]["room_name"] == series_room != one_off
    for room in (series_room, one_off):
        store_all(store, [meeting_ended(room, start.timestamp() - 300, start.timestamp())])
    now = _advance(emulator, start, ends_at + GRACE + timedelta(minutes=1))

    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", json.dumps({"revoke_after_minutes": None}))
    assert revoke.revoke_ended(now=now) == revoke.RevokeResult(off=True).to_xcom()
    assert RevokeDueTrigger().poll(now=now)[0] == 0
    assert {series_room, one_off} <= _rooms(emulator), "revoking off: every room stays"

    monkeypatch.delenv("AIRFLOW_VAR_DAILY_PROVISIONING")
    result = revoke.revoke_ended(now=now)
    assert result["revoked"] == 1 and list(result["meetings"]) == ["R3"], result
    assert series_room in _rooms(emulator) and one_off not in _rooms(emulator)
    rows = table_rows(table)
    assert rows["S1"]["dialin_pin"] and rows["S2"]["dialin_pin"], "the series keeps its PIN for the next occurrence"
    assert _dial_status(emulator, rows["S1"]["dialin_pin"]) == "waiting"


def test_presence_unknown_defers_and_a_room_already_gone_is_done(daily_webhooks, calls_db):
    table, store = calls_db
    emulator, start = daily_webhooks, _start()
    ends_at = start + timedelta(minutes=20)
    rows = [_row(mid, start - timedelta(minutes=10), ends_at) for mid in ("R4", "R5")]
    stored = _provisioned(table, rows, now=start - timedelta(minutes=30))
    rooms = {mid: stored[mid]["room_name"] for mid in ("R4", "R5")}
    store_all(store, [meeting_ended(room, start.timestamp() - 300, start.timestamp()) for room in rooms.values()])
    now = _advance(emulator, start, ends_at + GRACE + timedelta(minutes=1))

    emulator.admin.script_faults([{"kind": "503", "method": "GET", "path": "/presence"}] * 6)
    result = revoke.revoke_ended(now=now)
    assert (result["revoked"], result["deferred"]) == (0, 2), result
    assert set(rooms.values()) <= _rooms(emulator), "presence unknown: nothing deleted"
    assert table_rows(table)["R4"]["last_error"].startswith("revoke deferred: presence unknown (GET /presence failed")
    emulator.admin.clear_faults()

    emulator.admin.delete_room(rooms["R4"])  # gone behind the client's back: its delete is a 404
    result = revoke.revoke_ended(now=now + timedelta(minutes=2))
    assert (result["revoked"], result["deferred"], result["failed"]) == (2, 0, 0), result
    assert _rooms(emulator) == set()
    assert {table_rows(table)[mid]["last_error"] for mid in rooms} == {"revoked: the meeting ended"}


def test_the_revoke_watcher_fires_when_a_room_becomes_due(calls_db):
    """No new event arrives after ``meeting.ended``: the watcher fires once the room is due (then
    not again at once), a count only in its event."""
    import asyncio
    import contextlib

    table, store = calls_db
    start = _start()
    ends_at = start - GRACE - timedelta(minutes=5)  # already due at the real now
    pin = "12345678901"
    insert_rows(
        table,
        [
            _row(
                "R6",
                ends_at - timedelta(hours=1),
                ends_at,
                room_name="mtg-R6",
                dialin_pin=pin,
                provisioned_at=f"{ends_at - timedelta(days=1):{FMT}}"
                if table.engine.dialect.name == "sqlite"
                else ends_at - timedelta(days=1),
            )
        ],
    )

    async def scenario():
        trigger = RevokeDueTrigger(poll_seconds=0.05, refire_seconds=60)
        events = trigger.run()
        first = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.3)
        assert not first.done(), "no meeting.ended stored: nothing is due"
        await asyncio.to_thread(
            store_all, store, [meeting_ended("mtg-R6", ends_at.timestamp() - 600, ends_at.timestamp() - 60)]
        )
        fired = await asyncio.wait_for(first, 10)
        assert fired.payload == {"due": 1, "refire": 0} and pin not in repr(fired.payload)
        again = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.3)
        assert not again.done(), "the same due room does not fire again at once"
        again.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await again
        await events.aclose()
        await trigger.cleanup()

    asyncio.run(scenario())
