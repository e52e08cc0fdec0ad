"""Room life over real HTTP: web participants, phone calls by PIN, presence, meetings, eject, and how
deleting a room and its ``exp`` end sessions (on the emulator's clock)."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.emulator.helpers import NUMBERS, Api, assert_error, dialin_room, in_hours

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PIN_NUMBER = NUMBERS[0]  # on the PIN flow (test settings)
OTHER_NUMBER = NUMBERS[1]  # purchased, not on the PIN flow
US_GLOBAL = "+12095038039"
CALLER = "+4915112345678"
PRESENCE_KEYS = {"room", "id", "userId", "userName", "mtgSessionId", "joinTime", "duration"}


def _pin(api: Api, name: str, **dialin) -> str:
    return api.create_room(**dialin_room(name, **dialin))["config"]["dialin_code"]


def _presence_ids(api: Api) -> dict[str, set[str]]:
    response = api.get("/presence")
    assert response.status_code == 200, response.text
    return {room: {p["id"] for p in people} for room, people in response.json().items()}


def _calls(emu) -> dict[str, dict]:
    return {call["session_id"]: call for call in emu.admin.snapshot()["calls"]}


# ----------------------------------------------------------------- web participants


def test_join_shows_in_presence_in_the_documented_shape(emu, api):
    api.create_room(**dialin_room("r1"))
    api.create_room(**dialin_room("empty"))
    pid = emu.admin.join("r1", user_name="Ann", user_id="ann-1")
    assert uuid.UUID(pid)
    emu.admin.advance_clock(42)
    body = api.get("/presence").json()
    assert list(body) == ["r1"]  # only rooms with someone in them
    [entry] = body["r1"]
    assert set(entry) == PRESENCE_KEYS
    assert (entry["room"], entry["id"], entry["userId"], entry["userName"]) == ("r1", pid, "ann-1", "Ann")
    assert ISO_MS.match(entry["joinTime"])
    assert 42 <= entry["duration"] <= 60


def test_user_id_defaults_to_the_participant_id(emu, api):
    api.create_room(name="r1")
    pid = emu.admin.join("r1")
    [entry] = api.get("/presence").json()["r1"]
    assert entry["userId"] == pid
    assert entry["userName"] == "Guest"


def test_leave_removes_from_presence(emu, api):
    api.create_room(name="r1")
    a, b = emu.admin.join("r1", user_name="A"), emu.admin.join("r1", user_name="B")
    assert _presence_ids(api) == {"r1": {a, b}}
    emu.admin.leave("r1", a)
    assert _presence_ids(api) == {"r1": {b}}
    emu.admin.leave("r1", b)
    assert _presence_ids(api) == {}
    with pytest.raises(requests.HTTPError) as info:
        emu.admin.leave("r1", b)
    assert info.value.response.status_code == 404


def test_join_unknown_or_expired_room_is_404(emu, api):
    api.create_room(name="short", properties={"exp": in_hours(1)})
    emu.admin.advance_clock(2 * 3600)
    for name in ("nope", "short"):
        with pytest.raises(requests.HTTPError) as info:
            emu.admin.join(name)
        assert info.value.response.status_code == 404


def test_full_room_refuses_a_join(emu, api):
    api.create_room(name="small", properties={"max_participants": 2})
    emu.admin.join("small")
    emu.admin.join("small")
    with pytest.raises(requests.HTTPError) as info:
        emu.admin.join("small")
    assert info.value.response.status_code == 400


def test_default_max_participants_is_a_setting(emu, api):
    emu.admin.configure(default_max_participants=1)
    api.create_room(name="r1")
    emu.admin.join("r1")
    with pytest.raises(requests.HTTPError):
        emu.admin.join("r1")


# ----------------------------------------------------------------- room presence


def test_room_presence_filters_and_limit(emu, api):
    api.create_room(name="r1")
    api.create_room(name="quiet")
    ids = [emu.admin.join("r1", user_name=f"U{i}", user_id=f"u{i}") for i in range(3)]
    body = api.get("/rooms/r1/presence").json()
    assert body["total_count"] == 3
    assert {p["id"] for p in body["data"]} == set(ids)
    assert set(body["data"][0]) == PRESENCE_KEYS
    page = api.get("/rooms/r1/presence", params={"limit": 2}).json()
    assert (page["total_count"], len(page["data"])) == (3, 2)
    by_user = api.get("/rooms/r1/presence", params={"userId": "u1"}).json()
    assert [p["id"] for p in by_user["data"]] == [ids[1]]
    by_name = api.get("/rooms/r1/presence", params={"userName": "U2"}).json()
    assert [p["id"] for p in by_name["data"]] == [ids[2]]
    assert api.get("/rooms/quiet/presence").json() == {"total_count": 0, "data": []}
    assert_error(api.get("/rooms/nope/presence"), 404, "not-found")


def test_presence_needs_the_api_key_and_is_counted(emu, api):
    assert_error(Api(base_url=emu.base_url, key=None).get("/presence"), 400, "authorization-header-error")
    assert_error(Api(base_url=emu.base_url, key="wrong").get("/presence"), 401, "authentication-error")
    api.create_room(name="r1")
    api.get("/presence")
    api.get("/rooms/r1/presence")
    requests_seen = emu.admin.counters()["requests"]
    assert requests_seen["GET /presence"] == 3
    assert requests_seen["GET /rooms/:name/presence"] == 1


def test_presence_rate_limited_like_other_endpoints(emu, api):
    emu.admin.configure(rate_limits={"default": [{"requests": 2, "per_seconds": 3600}]})
    assert api.get("/presence").status_code == 200
    assert api.get("/presence").status_code == 200
    assert_error(api.get("/presence"), 429, "rate-limit-error")


def test_presence_lag_shows_joins_and_leaves_later(emu, api):
    emu.admin.configure(presence_lag_seconds=15)
    api.create_room(name="r1")
    pid = emu.admin.join("r1")
    assert _presence_ids(api) == {}
    emu.admin.advance_clock(16)
    assert _presence_ids(api) == {"r1": {pid}}
    emu.admin.leave("r1", pid)
    assert _presence_ids(api) == {"r1": {pid}}  # still shown for the lag
    emu.admin.advance_clock(16)
    assert _presence_ids(api) == {}


# ----------------------------------------------------------------- phone calls


def test_right_pin_with_a_meeting_running_connects(emu, api):
    pin = _pin(api, "r1")
    web = emu.admin.join("r1")
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    assert call["status"] == "connected"
    assert call["room"] == "r1"
    assert "reason" not in call
    assert _presence_ids(api) == {"r1": {web, call["session_id"]}}
    entry = next(p for p in api.get("/presence").json()["r1"] if p["id"] == call["session_id"])
    assert entry["userName"] == "r1"  # the room's dialin.display_name
    stored = _calls(emu)[call["session_id"]]
    assert (stored["caller"], stored["number"]) == (CALLER, PIN_NUMBER)


def test_caller_without_display_name_is_shown_masked(emu, api):
    room = api.create_room(name="r1", properties={"exp": in_hours(2), "dialin": {"wait_for_meeting_start": True}})
    emu.admin.join("r1")
    call = emu.admin.dial(number=PIN_NUMBER, pin=room["config"]["dialin_code"], caller=CALLER)
    entry = next(p for p in api.get("/presence").json()["r1"] if p["id"] == call["session_id"])
    assert entry["userName"] == "+49*********78"
    assert CALLER not in str(api.get("/presence").json())


def test_waiting_caller_joins_when_the_meeting_starts(emu, api):
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    assert (call["status"], call["room"]) == ("waiting", "r1")
    assert _presence_ids(api) == {}  # on hold: not in a meeting (default)
    assert api.get("/meetings").json()["total_count"] == 0
    web = emu.admin.join("r1")
    assert _presence_ids(api) == {"r1": {web, call["session_id"]}}
    assert _calls(emu)[call["session_id"]]["status"] == "connected"


def test_waiting_callers_can_be_shown_in_presence(emu, api):
    emu.admin.configure(waiting_callers_in_presence=True)
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    assert _presence_ids(api) == {"r1": {call["session_id"]}}
    assert api.get("/rooms/r1/presence").json()["total_count"] == 1


def test_no_wait_and_empty_room_disconnects(emu, api):
    pin = _pin(api, "r1", wait_for_meeting_start=False)
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    assert call["status"] == "disconnected"
    assert call["reason"] == "meeting has not started"
    assert _presence_ids(api) == {}


def test_wrong_pin_disconnects(emu, api):
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    wrong = f"{(int(pin) + 1) % 10**11:011d}"
    call = emu.admin.dial(number=PIN_NUMBER, pin=wrong, caller=CALLER)
    assert (call["status"], call["room"], call["reason"]) == ("disconnected", None, "wrong PIN")
    assert uuid.UUID(call["session_id"])


def test_pin_of_a_deleted_or_expired_room_disconnects(emu, api):
    deleted = _pin(api, "gone", wait_for_meeting_start=True)
    assert api.delete("/rooms/gone").status_code == 200
    expired = api.create_room(name="old", properties={"exp": in_hours(1), "dialin": {"wait_for_meeting_start": True}})[
        "config"
    ]["dialin_code"]
    emu.admin.advance_clock(2 * 3600)
    for pin in (deleted, expired):
        call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
        assert (call["status"], call["reason"]) == ("disconnected", "wrong PIN")


def test_number_must_be_on_the_pin_flow_or_global(emu, api):
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    refused = emu.admin.dial(number=OTHER_NUMBER, pin=pin, caller=CALLER)
    assert (refused["status"], refused["reason"]) == ("disconnected", "number not on the PIN flow")
    assert emu.admin.dial(number="+15555550123", pin=pin, caller=CALLER)["status"] == "disconnected"
    assert emu.admin.dial(number=US_GLOBAL, pin=pin, caller=CALLER)["status"] == "waiting"
    assert emu.admin.dial(number="+12268078039", pin=pin, caller=CALLER)["status"] == "waiting"


def test_dial_validates_its_input(emu):
    for body in ({"number": "x", "pin": "12345678901", "caller": CALLER}, {"number": PIN_NUMBER, "pin": "12"}):
        response = requests.post(f"{emu.url}/_emulator/calls", json=body, timeout=10)
        assert_error(response, 400, "invalid-request-error")


def test_sixth_phone_session_is_disconnected(emu, api):
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    emu.admin.join("r1")
    statuses = [emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER) for _ in range(6)]
    assert [c["status"] for c in statuses] == ["connected"] * 5 + ["disconnected"]
    assert "5" in statuses[-1]["reason"]
    emu.admin.hang_up(statuses[0]["session_id"])  # a line frees up
    assert emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)["status"] == "connected"


def test_waiting_calls_count_against_the_phone_limit(emu, api):
    emu.admin.configure(max_sip_pstn_sessions_per_room=2)
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    calls = [emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)["status"] for _ in range(3)]
    assert calls == ["waiting", "waiting", "disconnected"]


def test_hang_up_leaves_and_ends_the_meeting(emu, api):
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    web = emu.admin.join("r1")
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    emu.admin.leave("r1", web)
    assert _presence_ids(api) == {"r1": {call["session_id"]}}  # the caller keeps the meeting going
    emu.admin.hang_up(call["session_id"])
    assert _presence_ids(api) == {}
    assert _calls(emu)[call["session_id"]]["status"] == "disconnected"
    [meeting] = api.get("/meetings").json()["data"]
    assert meeting["ongoing"] is False
    emu.admin.hang_up(call["session_id"])  # an ended call stays ended
    with pytest.raises(requests.HTTPError) as info:
        emu.admin.hang_up(str(uuid.uuid4()))
    assert info.value.response.status_code == 404


def test_hang_up_while_waiting(emu, api):
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    emu.admin.hang_up(call["session_id"])
    emu.admin.join("r1")
    assert len(_presence_ids(api)["r1"]) == 1
    assert _calls(emu)[call["session_id"]]["status"] == "disconnected"


def test_phone_caller_leaves_by_its_session_id(emu, api):
    pin = _pin(api, "r1")
    emu.admin.join("r1")
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    emu.admin.leave("r1", call["session_id"])
    assert _calls(emu)[call["session_id"]]["status"] == "disconnected"


# ----------------------------------------------------------------- meetings


def test_meeting_lifecycle_and_shape(emu, api):
    pin = _pin(api, "r1")
    a = emu.admin.join("r1", user_name="Ann", user_id="ann")
    emu.admin.advance_clock(30)
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    ongoing = api.get("/meetings").json()
    assert ongoing["total_count"] == 1
    [meeting] = ongoing["data"]
    assert set(meeting) == {"id", "room", "start_time", "duration", "ongoing", "max_participants", "participants"}
    assert (meeting["room"], meeting["ongoing"], meeting["max_participants"]) == ("r1", True, 2)
    emu.admin.advance_clock(60)
    emu.admin.leave("r1", a)
    emu.admin.hang_up(call["session_id"])
    [ended] = api.get("/meetings").json()["data"]
    assert ended["id"] == meeting["id"]
    assert ended["ongoing"] is False
    assert 90 <= ended["duration"] <= 120
    parts = {p["participant_id"]: p for p in ended["participants"]}
    assert set(parts) == {a, call["session_id"]}
    assert set(parts[a]) == {"user_id", "participant_id", "user_name", "join_time", "duration"}
    assert (parts[a]["user_id"], parts[a]["user_name"]) == ("ann", "Ann")
    assert 90 <= parts[a]["duration"] <= 120
    assert 60 <= parts[call["session_id"]]["duration"] <= 90
    assert parts[call["session_id"]]["join_time"] >= parts[a]["join_time"] + 30


def test_rejoin_after_the_end_is_a_new_meeting(emu, api):
    api.create_room(name="r1")
    emu.admin.leave("r1", emu.admin.join("r1"))
    emu.admin.advance_clock(60)
    emu.admin.join("r1")
    data = api.get("/meetings").json()["data"]
    assert [m["ongoing"] for m in data] == [True, False]  # newest first
    assert data[0]["id"] != data[1]["id"]


def test_meetings_filters(emu, api):
    for name in ("a", "b"):
        api.create_room(name=name)
    emu.admin.leave("a", emu.admin.join("a"))
    start_b = int(emu.admin.advance_clock(100)["now"])
    emu.admin.join("b")
    assert [m["room"] for m in api.get("/meetings", params={"room": "a"}).json()["data"]] == ["a"]
    assert [m["room"] for m in api.get("/meetings", params={"ongoing": "true"}).json()["data"]] == ["b"]
    assert [m["room"] for m in api.get("/meetings", params={"ongoing": "false"}).json()["data"]] == ["a"]
    after = api.get("/meetings", params={"timeframe_start": start_b - 1}).json()
    assert [m["room"] for m in after["data"]] == ["b"]
    before = api.get("/meetings", params={"timeframe_end": start_b - 1}).json()
    assert [m["room"] for m in before["data"]] == ["a"]
    bare = api.get("/meetings", params={"no_participants": "true"}).json()["data"]
    assert all("participants" not in m for m in bare)
    assert_error(api.get("/meetings", params={"ongoing": "maybe"}), 400, "invalid-request-error")
    assert_error(api.get("/meetings", params={"timeframe_start": "soon"}), 400, "invalid-request-error")


def test_meetings_cursor_pagination(emu, api):
    api.create_room(name="r1")
    for _ in range(5):
        emu.admin.leave("r1", emu.admin.join("r1"))
        emu.admin.advance_clock(10)
    every = [m["id"] for m in api.get("/meetings").json()["data"]]
    assert len(every) == 5
    first = api.get("/meetings", params={"limit": 2}).json()
    assert first["total_count"] == 5
    seen = [m["id"] for m in first["data"]]
    while True:
        page = api.get("/meetings", params={"limit": 2, "starting_after": seen[-1]}).json()["data"]
        if not page:
            break
        seen += [m["id"] for m in page]
    assert seen == every
    back = api.get("/meetings", params={"limit": 2, "ending_before": every[2]}).json()["data"]
    assert [m["id"] for m in back] == every[:2]
    assert_error(api.get("/meetings", params={"starting_after": "nope"}), 400, "invalid-request-error")


def test_meeting_participants_pages_then_404(emu, api):
    api.create_room(name="r1")
    ids = []
    for i in range(3):
        ids.append(emu.admin.join("r1", user_name=f"P{i}"))
        emu.admin.advance_clock(1)
    [meeting] = api.get("/meetings").json()["data"]
    path = f"/meetings/{meeting['id']}/participants"
    page = api.get(path, params={"limit": 2}).json()
    assert [p["participant_id"] for p in page["data"]] == ids[:2]
    rest = api.get(path, params={"limit": 2, "joined_after": ids[1]}).json()
    assert [p["participant_id"] for p in rest["data"]] == ids[2:]
    assert_error(api.get(path, params={"joined_after": ids[2]}), 404, "not-found")
    before = api.get(path, params={"joined_before": ids[2]}).json()
    assert [p["participant_id"] for p in before["data"]] == ids[:2]
    assert_error(api.get(f"/meetings/{uuid.uuid4()}/participants"), 404, "not-found")


# ----------------------------------------------------------------- eject


def test_eject_by_id_and_user_id(emu, api):
    pin = _pin(api, "r1")
    a = emu.admin.join("r1", user_id="ua")
    b = emu.admin.join("r1", user_id="ub")
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    response = api.post("/rooms/r1/eject", {"ids": [a, call["session_id"], "not-there"], "user_ids": ["ub"]})
    assert response.status_code == 200, response.text
    assert set(response.json()["ejectedIds"]) == {a, b, call["session_id"]}
    assert _presence_ids(api) == {}
    assert _calls(emu)[call["session_id"]]["status"] == "disconnected"


def test_eject_of_unknown_ids_succeeds(emu, api):
    api.create_room(name="r1")
    response = api.post("/rooms/r1/eject", {"ids": ["x"], "ban": True})
    assert response.status_code == 200
    assert response.json() == {"ejectedIds": []}


def test_eject_bad_input(emu, api):
    api.create_room(name="r1")
    assert_error(api.post("/rooms/nope/eject", {"ids": ["x"]}), 404, "not-found")
    assert_error(api.post("/rooms/r1/eject", {"ids": "x"}), 400, "invalid-request-error")
    assert_error(api.post("/rooms/r1/eject", {"ids": [str(i) for i in range(101)]}), 400, "invalid-request-error")
    assert_error(api.post("/rooms/r1/eject", {}), 400, "invalid-request-error")


# ----------------------------------------------------------------- deletion and exp


@pytest.mark.parametrize("how", ["api", "batch", "admin"])
def test_deleting_a_room_ends_every_session(emu, api, how):
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    other_pin = _pin(api, "r2", wait_for_meeting_start=True)
    web = emu.admin.join("r1")
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    waiting = emu.admin.dial(number=PIN_NUMBER, pin=other_pin, caller=CALLER)
    assert waiting["status"] == "waiting"
    if how == "api":
        assert api.delete("/rooms/r1").status_code == 200
        assert api.delete("/rooms/r2").status_code == 200
    elif how == "batch":
        assert api.delete("/batch/rooms", {"room_names": ["r1", "r2"]}).json() == {"deleted_count": 2}
    else:
        emu.admin.delete_room("r1")
        emu.admin.delete_room("r2")
    assert _presence_ids(api) == {}
    calls = _calls(emu)
    assert calls[call["session_id"]]["status"] == calls[waiting["session_id"]]["status"] == "disconnected"
    [meeting] = api.get("/meetings").json()["data"]
    assert meeting["ongoing"] is False
    assert {p["participant_id"] for p in meeting["participants"]} == {web, call["session_id"]}


def test_exp_with_eject_removes_everyone_at_exp(emu, api):
    exp = in_hours(1)
    room = api.create_room(
        name="r1", properties={"exp": exp, "eject_at_room_exp": True, "dialin": {"display_name": "x"}}
    )
    emu.admin.join("r1")
    call = emu.admin.dial(number=PIN_NUMBER, pin=room["config"]["dialin_code"], caller=CALLER)
    assert call["status"] == "connected"
    emu.admin.advance_clock(2 * 3600)
    assert _presence_ids(api) == {}
    [meeting] = api.get("/meetings").json()["data"]
    assert meeting["ongoing"] is False
    assert meeting["start_time"] + meeting["duration"] <= exp
    assert _calls(emu)[call["session_id"]]["status"] == "disconnected"


def test_exp_without_eject_lets_people_stay(emu, api):
    room = api.create_room(name="r1", properties={"exp": in_hours(1), "dialin": {"display_name": "x"}})
    pid = emu.admin.join("r1")
    emu.admin.advance_clock(2 * 3600)
    assert _presence_ids(api) == {"r1": {pid}}
    assert_error(api.get("/rooms/r1"), 404, "not-found")  # expired rooms 404, people or not
    assert api.get("/rooms/r1/presence").json()["total_count"] == 1
    call = emu.admin.dial(number=PIN_NUMBER, pin=room["config"]["dialin_code"], caller=CALLER)
    assert call["status"] == "disconnected"  # the PIN died with exp
    with pytest.raises(requests.HTTPError):
        emu.admin.join("r1")
    assert api.post("/rooms/r1/eject", {"ids": [pid]}).json() == {"ejectedIds": [pid]}
    assert _presence_ids(api) == {}
    assert_error(api.get("/rooms/r1/presence"), 404, "not-found")


# ----------------------------------------------------------------- faults, reset, state


@pytest.mark.parametrize(("kind", "status"), [("503", 503), ("500", 500), ("429", 429)])
def test_presence_can_fail_on_purpose(emu, api, kind, status):
    emu.admin.script_faults([{"kind": kind, "method": "GET", "path": "/presence"}])
    api.get("/rooms")  # another path does not take the fault
    assert api.get("/presence").status_code == status
    assert api.get("/presence").status_code == 200


def test_presence_can_hang(emu, api):
    emu.admin.script_faults([{"kind": "hang", "path": "/presence", "hang_seconds": 5}])
    with pytest.raises(requests.Timeout):
        api.get("/presence", timeout=0.5)


def test_reset_clears_room_life_and_state_shows_it(emu, api):
    pin = _pin(api, "r1")
    pid = emu.admin.join("r1")
    call = emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)
    state = emu.admin.snapshot()
    assert {p["id"] for p in state["participants"]} == {pid, call["session_id"]}
    phone = next(p for p in state["participants"] if p["id"] == call["session_id"])
    assert (phone["session_id"], phone["sip_from"], phone["dialled"]) == (call["session_id"], CALLER, PIN_NUMBER)
    assert len(state["calls"]) == 1
    assert len(state["meetings"]) == 1
    emu.admin.reset()
    state = emu.admin.snapshot()
    assert (state["participants"], state["calls"], state["meetings"]) == ([], [], [])


def test_admin_room_life_routes_are_not_counted(emu, api):
    pin = _pin(api, "r1")
    pid = emu.admin.join("r1")
    emu.admin.hang_up(emu.admin.dial(number=PIN_NUMBER, pin=pin, caller=CALLER)["session_id"])
    emu.admin.leave("r1", pid)
    assert set(emu.admin.counters()["requests"]) == {"POST /rooms"}


def test_short_visits_can_be_left_out_of_meetings(emu, api):
    emu.admin.configure(meetings_min_participation_seconds=10)
    api.create_room(name="r1")
    stay = emu.admin.join("r1")
    emu.admin.leave("r1", emu.admin.join("r1"))  # a few milliseconds: not recorded
    emu.admin.advance_clock(20)
    [meeting] = api.get("/meetings").json()["data"]
    assert [p["participant_id"] for p in meeting["participants"]] == [stay]  # ongoing ones are listed
    emu.admin.leave("r1", stay)
    data = api.get(f"/meetings/{meeting['id']}/participants").json()["data"]
    assert [p["participant_id"] for p in data] == [stay]
