"""Rooms: create, validation rules, get, update, delete, listing and pagination, expiry, quota."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from tests.emulator.helpers import DOMAIN, NUMBERS, Api, assert_error, dialin_room, in_hours

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DAY = 24 * 3600


# ----------------------------------------------------------------------- create


def test_create_room_object_shape(api):
    exp = in_hours(2)
    room = api.create_room(name="mtg-1", privacy="private", properties={"exp": exp, "eject_at_room_exp": True})
    assert set(room) == {"id", "name", "api_created", "privacy", "url", "created_at", "config"}
    assert uuid.UUID(room["id"]).version == 4
    assert room["name"] == "mtg-1"
    assert room["api_created"] is True
    assert room["privacy"] == "private"
    assert room["url"] == f"https://{DOMAIN}.daily.co/mtg-1"
    assert ISO_MS.match(room["created_at"])
    assert room["config"] == {"exp": exp, "eject_at_room_exp": True}


def test_config_lists_only_non_default_properties(api):
    room = api.create_room(name="plain", properties={"eject_at_room_exp": False, "nbf": None})
    assert room["config"] == {}
    assert room["privacy"] == "public"


def test_unknown_properties_pass_through(api):
    props = {"enable_chat": True, "some_future_flag": {"nested": [1, 2]}, "max_participants": 12}
    room = api.create_room(name="extra", properties=props)
    assert room["config"] == props
    assert api.get("/rooms/extra").json()["config"] == props


def test_random_name_when_omitted(api):
    names = {api.create_room()["name"] for _ in range(3)}
    assert len(names) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9]{20}", name) for name in names)


@pytest.mark.parametrize("name", ["a", "A-b_9", "x" * 128])
def test_valid_names(api, name):
    assert api.create_room(name=name)["name"] == name


@pytest.mark.parametrize("name", ["", "has space", "dot.name", "slash/name", "ümlaut", "x" * 129, 42])
def test_invalid_names(api, name):
    assert_error(api.post("/rooms", {"name": name}), 400, "invalid-request-error")
    assert api.get("/rooms").json()["total_count"] == 0


def test_invalid_privacy(api):
    assert_error(api.post("/rooms", {"name": "p", "privacy": "secret"}), 400, "invalid-request-error", "privacy")


@pytest.mark.parametrize(
    ("properties", "word"),
    [
        ("not-an-object", "properties"),
        ({"exp": "tomorrow"}, "exp"),
        ({"nbf": True}, "nbf"),
        ({"exp": [1]}, "exp"),
        ({"eject_at_room_exp": "yes"}, "eject_at_room_exp"),
        ({"max_participants": 0}, "max_participants"),
    ],
)
def test_invalid_property_types(api, properties, word):
    assert_error(api.post("/rooms", {"name": "p", "properties": properties}), 400, "invalid-request-error", word)


def test_duplicate_name_exact_info(api):
    api.create_room(name="dup")
    body = assert_error(api.post("/rooms", {"name": "dup"}), 400, "invalid-request-error")
    assert body["info"] == "a room named dup already exists"


# ------------------------------------------------------------------------ dial-in


def test_dialin_room_gets_pin_and_default_number(api):
    room = api.create_room(**dialin_room("pin-1", wait_for_meeting_start=True))
    config = room["config"]
    assert re.fullmatch(r"[1-9][0-9]{10}", config["dialin_code"])
    assert config["dialin_number"] == NUMBERS[0]  # the only number on the PIN flow
    assert config["dialin"] == {"display_name": "pin-1", "wait_for_meeting_start": True}
    assert api.get("/rooms/pin-1").json()["config"]["dialin_code"] == config["dialin_code"]


def test_pins_are_unique(api):
    pins = [api.create_room(**dialin_room(f"u-{i}"))["config"]["dialin_code"] for i in range(30)]
    assert len(set(pins)) == 30


def test_integer_phone_number_is_normalized(api):
    body = dialin_room("int-number", room_numbers=[{"phone_number": int(NUMBERS[0][1:])}])
    config = api.create_room(**body)["config"]
    assert config["dialin"]["room_numbers"] == [{"phone_number": NUMBERS[0]}]
    assert config["dialin_number"] == NUMBERS[0]


def test_dialin_requires_exp(api):
    body = {"name": "no-exp", "properties": {"dialin": {"display_name": "x"}}}
    assert_error(api.post("/rooms", body), 400, "invalid-request-error", "exp")


def test_dialin_exp_in_the_past(api):
    body = {"name": "past", "properties": {"exp": int(time.time()) - 10, "dialin": {}}}
    assert_error(api.post("/rooms", body), 400, "invalid-request-error", "past")


def test_dialin_exp_365_days_or_more(api):
    body = {"name": "far", "properties": {"exp": int(time.time()) + 365 * DAY + 60, "dialin": {}}}
    assert_error(api.post("/rooms", body), 400, "invalid-request-error", "365 days")
    body["properties"]["exp"] = int(time.time()) + 364 * DAY
    assert api.post("/rooms", body).status_code == 200


def test_dialin_must_be_object(api):
    body = {"name": "d", "properties": {"exp": in_hours(1), "dialin": True}}
    assert_error(api.post("/rooms", body), 400, "invalid-request-error", "dialin")


@pytest.mark.parametrize(
    "dialin",
    [
        {"display_name": 5},
        {"wait_for_meeting_start": "yes"},
        {"room_numbers": "+12095550100"},
        {"room_numbers": [{"number": "+12095550100"}]},
        {"room_numbers": [{"phone_number": "not-a-number"}]},
    ],
)
def test_dialin_field_types(api, dialin):
    body = {"name": "d", "properties": {"exp": in_hours(1), "dialin": dialin}}
    assert_error(api.post("/rooms", body), 400, "invalid-request-error")


def test_room_number_not_purchased(api):
    body = dialin_room("np", room_numbers=[{"phone_number": "+14155550199"}])
    assert_error(api.post("/rooms", body), 400, "invalid-request-error", "not a purchased number")


def test_room_number_not_on_pin_flow(api):
    body = dialin_room("npf", room_numbers=[{"phone_number": NUMBERS[1]}])
    assert_error(api.post("/rooms", body), 400, "invalid-request-error", "PIN")
    config = api.post("/domain-dialin-config", {"type": "pin_dialin", "phone_number": NUMBERS[1]})
    assert config.status_code == 200
    room = api.create_room(**body)
    assert room["config"]["dialin_number"] == NUMBERS[1]


def test_room_number_on_pinless_flow_is_rejected(api):
    assert api.post("/domain-dialin-config", {"type": "pinless_dialin", "phone_number": NUMBERS[2]}).ok
    body = dialin_room("pinless", room_numbers=[{"phone_number": NUMBERS[2]}])
    assert_error(api.post("/rooms", body), 400, "invalid-request-error", "PIN")


def test_dialin_number_can_be_omitted(emu, api):
    emu.admin.configure(return_dialin_number=False)
    config = api.create_room(**dialin_room("nonum"))["config"]
    assert "dialin_number" not in config
    assert "dialin_code" in config
    stored = next(r for r in emu.admin.snapshot()["rooms"] if r["name"] == "nonum")
    assert stored["config"]["dialin_number"] == NUMBERS[0]


def test_default_dialin_number_without_pin_flow(make_server):
    server = make_server(pin_dialin_numbers=[])
    client = Api(base_url=server.base_url)
    room = client.create_room(**dialin_room("fallback"))
    assert room["config"]["dialin_number"] == NUMBERS[0]
    server2 = make_server(pin_dialin_numbers=[NUMBERS[2], NUMBERS[1]])
    room = Api(base_url=server2.base_url).create_room(**dialin_room("earliest"))
    assert room["config"]["dialin_number"] == NUMBERS[1]  # earliest purchased number on the PIN flow


# ------------------------------------------------------------------------- update


def test_update_unknown_room(api):
    assert_error(api.post("/rooms/ghost", {"privacy": "private"}), 404, "not-found")


def test_update_merges_and_null_resets(api):
    api.create_room(name="upd", properties={"max_participants": 5, "enable_chat": True})
    room = api.post("/rooms/upd", {"privacy": "private", "properties": {"max_participants": None, "nbf": 1}}).json()
    assert room["privacy"] == "private"
    assert room["config"] == {"enable_chat": True, "nbf": 1}
    assert api.get("/rooms/upd").json()["config"] == {"enable_chat": True, "nbf": 1}


def test_update_validates(api):
    api.create_room(name="v")
    assert_error(api.post("/rooms/v", {"privacy": "nope"}), 400, "invalid-request-error")
    assert_error(api.post("/rooms/v", {"properties": {"exp": "x"}}), 400, "invalid-request-error")
    assert_error(api.post("/rooms/v", {"properties": {"dialin": {}}}), 400, "invalid-request-error", "exp")


def test_update_turns_dialin_on_keeps_and_frees_pin(emu, api):
    api.create_room(name="late", properties={"exp": in_hours(3)})
    room = api.post("/rooms/late", {"properties": {"dialin": {"display_name": "Board"}}}).json()
    pin = room["config"]["dialin_code"]
    assert re.fullmatch(r"[1-9][0-9]{10}", pin)
    assert room["config"]["dialin_number"] == NUMBERS[0]

    room = api.post("/rooms/late", {"properties": {"max_participants": 9}}).json()
    assert room["config"]["dialin_code"] == pin
    room = api.post("/rooms/late", {"properties": {"dialin": {"display_name": "Renamed"}}}).json()
    assert room["config"]["dialin_code"] == pin

    room = api.post("/rooms/late", {"properties": {"dialin": None}}).json()
    assert "dialin_code" not in room["config"]
    assert "dialin" not in room["config"]
    assert pin not in emu.state.live_pins()


def test_update_dialin_with_exp_in_same_body(api):
    api.create_room(name="same-body")
    body = {"properties": {"exp": in_hours(1), "dialin": {"display_name": "x"}}}
    assert "dialin_code" in api.post("/rooms/same-body", body).json()["config"]


def test_update_exp_of_dialin_room_is_checked(api):
    api.create_room(**dialin_room("exp-check"))
    too_far = int(time.time()) + 400 * DAY
    assert_error(api.post("/rooms/exp-check", {"properties": {"exp": too_far}}), 400, "invalid-request-error")
    assert_error(api.post("/rooms/exp-check", {"properties": {"exp": None}}), 400, "invalid-request-error")


# -------------------------------------------------------------------- get, delete


def test_get_unknown_room(api):
    assert_error(api.get("/rooms/nothing-here"), 404, "not-found")


def test_delete_room_frees_pin(emu, api):
    pin = api.create_room(**dialin_room("del"))["config"]["dialin_code"]
    assert pin in emu.state.live_pins()
    assert api.delete("/rooms/del").json() == {"deleted": True, "name": "del"}
    assert pin not in emu.state.live_pins()
    assert_error(api.get("/rooms/del"), 404, "not-found")
    assert_error(api.delete("/rooms/del"), 404, "not-found")
    assert api.create_room(name="del")["name"] == "del"


def test_pin_allocation_skips_taken_pins(emu):
    store = emu.state
    state = store._rng.getstate()
    first = store._new_pin(set())
    store._rng.setstate(state)
    second = store._new_pin({first})
    assert second != first
    assert re.fullmatch(r"[1-9][0-9]{10}", second)


# ------------------------------------------------------------------------ listing


def _names(response):
    assert response.status_code == 200, response.text
    return [room["name"] for room in response.json()["data"]]


def test_list_newest_first_and_paginate_both_ways(api):
    rooms = [api.create_room(name=f"r{i}") for i in range(1, 8)]
    ids = {room["name"]: room["id"] for room in rooms}
    first = api.get("/rooms", params={"limit": 3})
    assert first.json()["total_count"] == 7
    assert _names(first) == ["r7", "r6", "r5"]
    assert _names(api.get("/rooms", params={"limit": 3, "starting_after": ids["r5"]})) == ["r4", "r3", "r2"]
    assert _names(api.get("/rooms", params={"limit": 3, "starting_after": ids["r2"]})) == ["r1"]
    assert _names(api.get("/rooms", params={"limit": 3, "starting_after": ids["r1"]})) == []
    assert _names(api.get("/rooms", params={"limit": 3, "ending_before": "OLDEST"})) == ["r3", "r2", "r1"]
    assert _names(api.get("/rooms", params={"limit": 3, "ending_before": ids["r3"]})) == ["r6", "r5", "r4"]
    assert _names(api.get("/rooms", params={"limit": 3, "ending_before": ids["r6"]})) == ["r7"]
    assert _names(api.get("/rooms")) == [f"r{i}" for i in range(7, 0, -1)]


def test_list_cursor_of_deleted_room_still_works(api):
    rooms = [api.create_room(name=f"c{i}") for i in range(4)]
    api.delete("/rooms/c2")
    assert _names(api.get("/rooms", params={"starting_after": rooms[2]["id"]})) == ["c1", "c0"]


def test_list_order_uses_sequence_not_timestamps(api):
    response = api.post("/batch/rooms", {"rooms": [{"name": f"b{i}"} for i in range(5)]})
    created_at = {room["created_at"] for room in response.json()["data"]}
    assert len(created_at) == 1  # one batch, one timestamp
    assert _names(api.get("/rooms")) == ["b4", "b3", "b2", "b1", "b0"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"starting_after": "nope"}])
def test_list_bad_parameters(api, params):
    assert_error(api.get("/rooms", params=params), 400, "invalid-request-error")


# ------------------------------------------------------------------ expiry, quota


def test_expired_room_is_gone(emu, api):
    api.create_room(name="short", properties={"exp": int(time.time()) + 60})
    pin = api.create_room(**dialin_room("short-pin"))["config"]["dialin_code"]
    api.create_room(name="forever")
    emu.admin.advance_clock(3 * 3600)
    assert_error(api.get("/rooms/short"), 404, "not-found")
    assert_error(api.post("/rooms/short", {"privacy": "private"}), 404, "not-found")
    listing = api.get("/rooms").json()
    assert listing["total_count"] == 1
    assert [room["name"] for room in listing["data"]] == ["forever"]
    assert pin not in emu.state.live_pins()
    expired = {room["name"]: room["expired"] for room in emu.admin.snapshot()["rooms"]}
    assert expired == {"short": True, "short-pin": True, "forever": False}
    assert api.create_room(name="short")["name"] == "short"  # the name is free again


def test_quota_counts_live_rooms_only(emu, api):
    emu.admin.configure(room_quota=2)
    api.create_room(name="q1", properties={"exp": int(time.time()) + 60})
    api.create_room(name="q2")
    assert_error(api.post("/rooms", {"name": "q3"}), 400, "invalid-request-error", "rooms reached")
    emu.admin.advance_clock(120)
    assert api.create_room(name="q3")["name"] == "q3"
    assert_error(api.post("/rooms", {"name": "q4"}), 400, "invalid-request-error", "rooms reached")
    api.delete("/rooms/q2")
    assert api.create_room(name="q4")["name"] == "q4"
