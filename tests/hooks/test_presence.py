"""Presence through DailyHook against the emulator over real HTTP: the documented shapes, web and
phone participants, "don't know" when presence fails, and the exp floor of the one update path."""

from __future__ import annotations

import time

import pytest

from airflow_provider_daily.errors import DailyAuthError, DailyError
from airflow_provider_daily.hooks.daily import DailyHook
from airflow_provider_daily.models import Participant, RoomPresence
from airflow_provider_daily.presence import Live, presence_check, room_check
from tests.hooks.helpers import dialin_spec
from tests.support.daily import PIN_NUMBER, daily_connection_uri

CALLER = "+15550001111"


def requests_made(emulator, prefix: str) -> int:
    """Requests whose route (``GET /rooms/{name}/presence``: the template, not the name) starts with ``prefix``."""
    return sum(n for key, n in emulator.admin.counters()["requests"].items() if key.startswith(prefix))


def room_presence_calls(emulator) -> int:
    return sum(
        n
        for key, n in emulator.admin.counters()["requests"].items()
        if key.startswith("GET /rooms/") and key.endswith("/presence")
    )


def people_in(emulator, hook, name: str, *, web: int = 1, phone: int = 0) -> None:
    """``web`` web participants join ``name``, then ``phone`` callers dial in with its PIN."""
    room = hook.get_room(name)
    for i in range(web):
        emulator.admin.join(name, user_name=f"guest {i}")
    for _ in range(phone):
        call = emulator.admin.dial(number=PIN_NUMBER, pin=room.pin, caller=CALLER)
        assert call["status"] == "connected", call


def test_presence_lists_web_and_phone_participants_by_room(hook, emulator):
    hook.create_rooms_batch([dialin_spec("p-1", number=PIN_NUMBER), dialin_spec("p-2"), dialin_spec("p-3")])
    people_in(emulator, hook, "p-1", web=1, phone=1)
    people_in(emulator, hook, "p-2", web=2)
    present = hook.get_presence()
    assert sorted(present) == ["p-1", "p-2"], "an empty room is not listed"
    assert [len(present["p-1"]), len(present["p-2"])] == [2, 2]
    assert all(isinstance(p, Participant) and p.room in ("p-1", "p-2") and p.id for ps in present.values() for p in ps)
    # Daily's presence has no field saying a participant is on the phone [doc]: never guessed
    assert sum(p.on_phone for p in present["p-1"]) == 0
    assert CALLER not in repr(present), "a caller's number never appears in a repr"


def test_room_presence_answers_total_count_and_data(hook, emulator):
    hook.create_rooms_batch([dialin_spec("r-1"), dialin_spec("r-2")])
    people_in(emulator, hook, "r-1", web=3)
    live = hook.room_presence("r-1")
    assert isinstance(live, RoomPresence) and live.total_count == 3 and live.count == 3
    assert len(hook.get_room_presence("r-1")) == 3
    assert hook.room_presence("r-2").count == 0


def test_phone_flag_is_read_only_when_the_data_says_so():
    """[assumed] a field saying "phone" (none is documented) is honoured; without one, nobody is on the phone."""
    assert Participant.model_validate({"id": "a", "userName": "x"}).on_phone is False
    assert Participant.model_validate({"id": "a", "type": "PSTN"}).on_phone is True
    assert Participant.model_validate({"id": "a", "onPhone": True}).on_phone is True
    presence = RoomPresence.model_validate({"total_count": 4, "data": [{"id": "a", "type": "sip"}, {"id": "b"}]})
    assert (presence.count, presence.on_phone) == (4, 1)
    assert Live.of(presence.data, presence.count).describe() == "live (4 participants, 1 on the phone)"
    assert Live(participants=1).describe() == "live (1 participant, 0 on the phone)"


def test_presence_check_sorts_names_into_live_and_empty_with_one_call(hook, emulator):
    hook.create_rooms_batch([dialin_spec(f"c-{i}") for i in range(4)])
    people_in(emulator, hook, "c-2", web=2)
    before = requests_made(emulator, "GET /presence")
    rooms = presence_check(hook, ["c-0", "c-1", "c-2", "c-3", "never-was"])
    assert requests_made(emulator, "GET /presence") == before + 1
    assert rooms.live == {"c-2": Live(participants=2, on_phone=0)}
    assert sorted(rooms.empty) == ["c-0", "c-1", "c-3", "never-was"]
    assert rooms.reason("c-2") == "deferred: live (2 participants, 0 on the phone)"
    assert rooms.reason("c-0") is None


@pytest.mark.parametrize("kind", ["503", "429", "hang"])
def test_a_presence_call_that_fails_means_dont_know_never_empty(daily_conn, monkeypatch, kind):
    """5xx, 429 or no answer, after the hook's retries: every room unknown, held like a live one."""
    extra = {"timeout": 0.5, "max_attempts": 2, "retry_deadline": 2}
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, **extra))
    hook = DailyHook()
    hook.create_rooms_batch([dialin_spec("u-1"), dialin_spec("u-2")])
    fault = {"kind": kind, "method": "GET", "path": "/presence", "hang_seconds": 3}
    daily_conn.admin.script_faults([fault] * 2)
    rooms = presence_check(hook, ["u-1", "u-2"])
    assert rooms.empty == [] and rooms.live == {}
    assert set(rooms.unknown) == {"u-1", "u-2"} and rooms.held("u-1") and rooms.held("u-2")
    assert rooms.reason("u-1").startswith("deferred: presence unknown (GET /presence failed")
    daily_conn.admin.script_faults([{**fault, "path": "/rooms/u-1/presence"}] * 2)
    one = room_check(hook, "u-1")
    assert one.held("u-1") and "GET /rooms/u-1/presence failed" in one.reason("u-1")


def test_an_unreadable_presence_answer_is_an_error_not_empty():
    from airflow_provider_daily.hooks.daily import _presence_by_room

    with pytest.raises(DailyError):
        _presence_by_room(["not", "a", "map"])
    with pytest.raises(DailyError):
        _presence_by_room({"r": "nobody"})
    assert _presence_by_room({}) == {} and _presence_by_room(None) == {}


def test_a_wrong_key_is_raised_not_taken_for_unknown(daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, key="wrong"))
    with pytest.raises(DailyAuthError):
        presence_check(DailyHook(), ["a-1"])


def test_room_check_of_a_room_that_does_not_exist_is_empty(hook, emulator):
    assert room_check(hook, "gone-1").empty == ["gone-1"]


# -- the exp floor on the one update path ---------------------------------------------------------
def moved_earlier(name: str, minutes: float):
    """``name``'s spec with its exp ``minutes`` from now (the meeting's end edited to earlier)."""
    spec = dialin_spec(name)
    return spec.model_copy(
        update={"properties": spec.properties.model_copy(update={"exp": int(time.time() + minutes * 60)})}
    )


def test_exp_moved_earlier_into_the_margin_is_kept_while_the_room_is_live(hook, emulator):
    """Kept as it is, not set to now + the margin: a meeting outlasting the margin is not cut when
    the next try comes late."""
    hook.create_room(dialin_spec("live-1", hours=3))
    exp = emulator.admin.room("live-1")["config"]["exp"]
    people_in(emulator, hook, "live-1", web=1)
    ensured = hook.reconcile_room(moved_earlier("live-1", 1))
    assert (ensured.deferred or "").startswith("deferred: live (1 participant, 0 on the phone): exp kept")
    assert ensured.outcome == "reused", "nothing else differed: no update at all"
    assert emulator.admin.room("live-1")["config"]["exp"] == exp
    assert emulator.admin.room("live-1")["config"]["dialin_code"] == ensured.room.pin


def test_exp_moved_earlier_on_an_empty_room_is_applied(hook, emulator):
    hook.create_room(dialin_spec("empty-1", hours=3))
    spec = moved_earlier("empty-1", 1)
    ensured = hook.reconcile_room(spec)
    assert ensured.deferred is None and ensured.outcome == "updated"
    assert emulator.admin.room("empty-1")["config"]["exp"] == spec.properties.exp


def test_exp_moved_earlier_with_presence_failing_is_held_too(hook, emulator):
    hook.create_room(dialin_spec("unk-1", hours=3))
    emulator.admin.script_faults([{"kind": "503", "method": "GET", "path": "/rooms/unk-1/presence"}] * 6)
    exp = emulator.admin.room("unk-1")["config"]["exp"]
    ensured = hook.reconcile_room(moved_earlier("unk-1", 1))
    assert ensured.deferred is not None and ensured.deferred.startswith("deferred: presence unknown")
    assert emulator.admin.room("unk-1")["config"]["exp"] == exp


def test_presence_is_asked_only_when_exp_moves_earlier_into_the_margin(hook, emulator):
    hook.create_room(dialin_spec("x-1", hours=3))
    people_in(emulator, hook, "x-1", web=1)
    before = room_presence_calls(emulator)
    later = hook.reconcile_room(moved_earlier("x-1", 4 * 60))  # later: no question
    earlier_but_far = hook.reconcile_room(moved_earlier("x-1", 2 * 60))  # earlier, beyond the margin
    assert later.deferred is None and earlier_but_far.deferred is None
    assert room_presence_calls(emulator) == before
    assert hook.reconcile_room(moved_earlier("x-1", 5)).deferred is not None
    assert room_presence_calls(emulator) == before + 1
