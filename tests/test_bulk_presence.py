"""BulkRoomDeleter and presence against the emulator over real HTTP: live rooms (web and phone)
leave the ``DELETE /batch/rooms`` set and are reported deferred, a room filled since the one
``GET /presence`` is caught by the per-room check, presence failing deletes nothing, ``force_live``
deletes anyway, and the calls added stay within 1 + the rooms deleted."""

from __future__ import annotations

import pytest

from airflow_provider_daily.bulk import BulkRoomDeleter, DeleteResults, delete_rooms
from airflow_provider_daily.hooks.daily import DailyHook
from tests.hooks.helpers import dialin_spec
from tests.support.daily import PIN_NUMBER, daily_connection_uri

CALLER = "+15550002222"


def live_names(emulator) -> set[str]:
    return {r["name"] for r in emulator.admin.snapshot()["rooms"] if not r.get("expired")}


def calls_made(emulator) -> dict[str, int]:
    return {key: n for key, n in emulator.admin.counters()["requests"].items() if "presence" in key or "DELETE" in key}


def make_rooms(hook, names) -> None:
    hook.create_rooms_batch([dialin_spec(name, number=PIN_NUMBER) for name in names])


def join_web(emulator, room: str, n: int = 1) -> list[str]:
    return [emulator.admin.join(room, user_name=f"guest {i}") for i in range(n)]


def dial_in(emulator, hook, room: str) -> str:
    call = emulator.admin.dial(number=PIN_NUMBER, pin=hook.get_room(room).pin, caller=CALLER)
    assert call["status"] == "connected", call
    return call["session_id"]


def test_live_rooms_leave_the_batch_and_are_reported_deferred(hook, emulator):
    names = [f"d-{i}" for i in range(6)]
    make_rooms(hook, names)
    join_web(emulator, "d-1", 2)
    join_web(emulator, "d-4")
    dial_in(emulator, hook, "d-4")  # web + phone
    deleter = BulkRoomDeleter(hook=hook)
    results = deleter.delete(names)
    assert isinstance(results, DeleteResults)
    assert results.deleted == ["d-0", "d-2", "d-3", "d-5"]
    assert results.deferred == {
        "d-1": "deferred: live (2 participants, 0 on the phone)",
        "d-4": "deferred: live (2 participants, 0 on the phone)",  # Daily marks no caller as such [doc]
    }
    assert results.failed == {}
    assert results["d-1"] == results.deferred["d-1"], "a plain dict reader never sees a deferred room as deleted"
    assert live_names(emulator) == {"d-1", "d-4"}
    # bulk stays bulk: one batch call; presence added 1 + the rooms deleted
    assert deleter.calls["batch"] == 1 and deleter.calls["presence"] == 1 and deleter.calls["room_presence"] == 4
    assert deleter.calls["presence"] + deleter.calls["room_presence"] <= 1 + len(results.deleted)


def test_after_they_leave_the_next_run_deletes_exactly_those_rooms(hook, emulator):
    make_rooms(hook, ["e-1", "e-2", "e-3"])
    web = join_web(emulator, "e-2")[0]
    host = join_web(emulator, "e-3")[0]  # wait_for_meeting_start: a caller alone waits on hold music
    session = dial_in(emulator, hook, "e-3")
    emulator.admin.leave("e-3", host)  # only the caller is left in e-3
    first = delete_rooms(hook=hook, names=["e-1", "e-2", "e-3"])
    assert first.deleted == ["e-1"] and sorted(first.deferred) == ["e-2", "e-3"]
    emulator.admin.leave("e-2", web)
    emulator.admin.hang_up(session)
    second = delete_rooms(hook=hook, names=sorted(first.deferred))
    assert second.deleted == ["e-2", "e-3"] and second.deferred == {}
    assert live_names(emulator) == set()


def test_a_room_filled_after_the_presence_call_is_caught_right_before_the_delete(daily_conn):
    hook = DailyHook()
    make_rooms(hook, ["f-1", "f-2"])
    real = hook.get_presence

    def someone_joins_right_after(*args, **kwargs):
        answer = real(*args, **kwargs)
        daily_conn.admin.join("f-2", user_name="late")  # Daily's own state changes between the calls
        return answer

    hook.get_presence = someone_joins_right_after  # type: ignore[method-assign]
    results = BulkRoomDeleter(hook=hook).delete(["f-1", "f-2"])
    assert results.deleted == ["f-1"]
    assert results.deferred == {"f-2": "deferred: live (1 participant, 0 on the phone)"}
    assert live_names(daily_conn) == {"f-2"}


def test_a_large_batch_is_checked_again_with_one_fresh_presence_call(daily_conn):
    """Past ``per_room_checks`` rooms, the check right before the delete is one more ``GET /presence``
    (1 call, not one per room): a room filled since the first answer is still caught."""
    hook = DailyHook()
    names = [f"big-{i:02d}" for i in range(15)]
    make_rooms(hook, names)
    real = hook.get_presence
    answers = []

    def someone_joins_after_the_first(*args, **kwargs):
        answer = real(*args, **kwargs)
        if not answers:
            daily_conn.admin.join("big-07", user_name="late")
        answers.append(answer)
        return answer

    hook.get_presence = someone_joins_after_the_first  # type: ignore[method-assign]
    deleter = BulkRoomDeleter(hook=hook, per_room_checks=10)
    results = deleter.delete(names)
    assert results.deferred == {"big-07": "deferred: live (1 participant, 0 on the phone)"}
    assert len(results.deleted) == 14 and live_names(daily_conn) == {"big-07"}
    assert deleter.calls["presence"] == 2 and deleter.calls["room_presence"] == 0 and deleter.calls["batch"] == 1


@pytest.mark.parametrize("kind", ["500", "429", "hang"])
def test_presence_failing_deletes_nothing_and_says_so_once(daily_conn, monkeypatch, caplog, kind):
    extra = {"timeout": 0.5, "max_attempts": 2, "retry_deadline": 2}
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, **extra))
    hook = DailyHook()
    names = [f"g-{i}" for i in range(5)]
    make_rooms(hook, names)
    daily_conn.admin.script_faults([{"kind": kind, "method": "GET", "path": "/presence", "hang_seconds": 3}] * 2)
    deleter = BulkRoomDeleter(hook=hook)
    with caplog.at_level("WARNING", logger="airflow_provider_daily.presence"):
        results = deleter.delete(names)
    assert results.deleted == [] and results.failed == {}
    assert set(results.deferred) == set(names)
    assert len(set(results.deferred.values())) == 1, "one reason for the whole set"
    assert next(iter(results.deferred.values())).startswith("deferred: presence unknown (GET /presence failed")
    assert len([r for r in caplog.records if "Presence of" in r.getMessage()]) == 1, "reported once"
    assert live_names(daily_conn) == set(names)
    assert deleter.calls["room_presence"] == 0 and deleter.calls["batch"] == 0 and deleter.calls["single"] == 0


def test_a_failing_per_room_check_holds_that_room_only(hook, emulator):
    make_rooms(hook, ["h-1", "h-2"])
    emulator.admin.script_faults([{"kind": "503", "method": "GET", "path": "/rooms/h-2/presence"}] * 6)
    results = BulkRoomDeleter(hook=hook).delete(["h-1", "h-2"])
    assert results.deleted == ["h-1"]
    assert results.deferred["h-2"].startswith("deferred: presence unknown (GET /rooms/h-2/presence failed")
    assert live_names(emulator) == {"h-2"}


def test_force_live_deletes_live_rooms_and_ends_their_calls(hook, emulator, caplog):
    make_rooms(hook, ["k-1", "k-2"])
    join_web(emulator, "k-1")
    dial_in(emulator, hook, "k-1")
    deleter = BulkRoomDeleter(hook=hook, force_live=True)
    with caplog.at_level("WARNING", logger="airflow_provider_daily.bulk"):
        results = deleter.delete(["k-1", "k-2"])
    assert results.deleted == ["k-1", "k-2"] and results.deferred == {}
    assert "force_live: deleting 1 room(s)" in caplog.text and "k-1: deferred: live (2 participants" in caplog.text
    assert live_names(emulator) == set()
    assert hook.get_presence() == {}, "deleting a room ends every session in it"
    assert deleter.calls["presence"] == 1 and deleter.calls["room_presence"] == 0


def test_nothing_to_delete_costs_no_presence_call(hook, emulator):
    deleter = BulkRoomDeleter(hook=hook)
    assert deleter.delete(["bad name"]).failed
    assert calls_made(emulator) == {}
