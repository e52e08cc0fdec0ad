"""The admin routes for rooms (GET/PATCH/DELETE /_emulator/rooms/{name}) and their AdminClient methods:
rooms read, changed and deleted behind the client's back, with no rate limit and no counting."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.emulator.helpers import NUMBERS, Api, assert_error, dialin_room, in_hours

PIN = re.compile(r"^[0-9]{11}$")
DAY = 24 * 3600


def _admin_error(emu, method, path, status, info=None, json=None):
    response = requests.request(method, f"{emu.url}/_emulator{path}", json=json, timeout=5)
    code = "not-found" if status == 404 else "invalid-request-error"
    return assert_error(response, status, code, info)


def test_admin_room_shows_live_and_expired_rooms(emu, api):
    pin = api.create_room(**dialin_room("seen"))["config"]["dialin_code"]
    room = emu.admin.room("seen")
    assert room["config"]["dialin_code"] == pin
    assert room["expired"] is False
    emu.admin.advance_clock(3 * 3600)
    assert emu.admin.room("seen")["expired"] is True
    assert_error(api.get("/rooms/seen"), 404, "not-found")
    _admin_error(emu, "GET", "/rooms/never", 404, "never")


def test_admin_delete_is_not_rate_limited_or_counted(emu, api):
    emu.admin.configure(rate_limits={"delete": [{"requests": 1, "per_seconds": 600}]})
    api.post("/batch/rooms", {"rooms": [dialin_room("a"), dialin_room("b"), dialin_room("c")]})
    pin_b = emu.admin.room("b")["config"]["dialin_code"]
    assert api.delete("/rooms/a").status_code == 200
    assert_error(api.delete("/rooms/b"), 429, "rate-limit-error")  # the API's delete class is used up
    before = emu.admin.counters()
    assert emu.admin.delete_room("b") == {"deleted": True, "name": "b"}
    assert emu.admin.delete_room("c") == {"deleted": True, "name": "c"}
    assert emu.admin.counters() == before
    assert_error(api.get("/rooms/b"), 404, "not-found")
    assert pin_b not in emu.state.live_pins()
    assert emu.admin.snapshot()["rooms"] == []
    with pytest.raises(requests.HTTPError) as excinfo:
        emu.admin.delete_room("b")
    assert excinfo.value.response.status_code == 404
    assert api.create_room(name="b")["name"] == "b"  # the name is free


def test_admin_delete_removes_an_expired_room(emu, api):
    api.create_room(name="old", properties={"exp": int(time.time()) + 10})
    emu.admin.advance_clock(60)
    assert emu.admin.delete_room("old")["deleted"] is True
    assert emu.admin.snapshot()["rooms"] == []


def test_set_room_pin(emu, api):
    first = api.create_room(**dialin_room("p-1"))["config"]["dialin_code"]
    api.create_room(**dialin_room("p-2"))
    room = emu.admin.set_room_pin("p-2", "12345678901")
    assert room["config"]["dialin_code"] == "12345678901"
    assert api.get("/rooms/p-2").json()["config"]["dialin_code"] == "12345678901"
    assert "12345678901" in emu.state.live_pins()
    assert emu.admin.set_room_pin("p-2", 42)["config"]["dialin_code"] == "00000000042"
    _admin_error(emu, "PATCH", "/rooms/p-2", 400, "another live room", json={"dialin_code": first})
    for bad in ("123", "1234567890a", "123456789012", True, 1.5):
        _admin_error(emu, "PATCH", "/rooms/p-2", 400, "dialin_code", json={"dialin_code": bad})
    assert api.get("/rooms/p-2").json()["config"]["dialin_code"] == "00000000042"
    room = emu.admin.set_room_pin("p-2", None)
    assert "dialin_code" not in room["config"]
    assert "dialin_code" not in api.get("/rooms/p-2").json()["config"]


def test_new_room_pin(emu, api):
    old = api.create_room(**dialin_room("renew"))["config"]["dialin_code"]
    new = emu.admin.new_room_pin("renew")
    assert PIN.match(new)
    assert new != old
    assert api.get("/rooms/renew").json()["config"]["dialin_code"] == new
    assert old not in emu.state.live_pins()
    _admin_error(emu, "PATCH", "/rooms/renew", 400, "not both", json={"new_pin": True, "dialin_code": old})
    _admin_error(emu, "PATCH", "/rooms/renew", 400, "new_pin", json={"new_pin": "yes"})


def test_set_room_exp_bypasses_the_dialin_rules(emu, api):
    api.create_room(**dialin_room("exp"))
    far = time.time() + 400 * DAY
    assert_error(api.post("/rooms/exp", {"properties": {"exp": far}}), 400, "invalid-request-error", "365 days")
    room = emu.admin.set_room_exp("exp", far)
    assert room["config"]["exp"] == far
    assert api.get("/rooms/exp").json()["config"]["exp"] == far
    assert "exp" not in emu.admin.set_room_exp("exp", None)["config"]
    emu.admin.set_room_exp("exp", time.time() - 1)
    assert_error(api.get("/rooms/exp"), 404, "not-found")
    assert emu.admin.room("exp")["expired"] is True
    emu.admin.set_room_exp("exp", in_hours(1))  # back to life, PIN kept
    assert PIN.match(api.get("/rooms/exp").json()["config"]["dialin_code"])


def test_update_room_other_fields(emu, api):
    api.create_room(**dialin_room("misc"))
    room = emu.admin.update_room(
        "misc", privacy="private", dialin_number=NUMBERS[2], properties={"max_participants": 2}
    )
    assert room["privacy"] == "private"
    assert room["config"]["dialin_number"] == NUMBERS[2]
    assert room["config"]["max_participants"] == 2
    assert api.get("/rooms/misc").json() == {key: value for key, value in room.items() if key != "expired"}
    room = emu.admin.update_room("misc", properties={"dialin": None})
    assert "dialin_code" not in room["config"]
    assert "dialin" not in room["config"]
    _admin_error(emu, "PATCH", "/rooms/misc", 400, "unknown fields", json={"pin": "12345678901"})
    _admin_error(emu, "PATCH", "/rooms/misc", 400, "exp", json={"properties": {"exp": "later"}})
    _admin_error(emu, "PATCH", "/rooms/misc", 400, "privacy", json={"privacy": "hidden"})
    _admin_error(emu, "PATCH", "/rooms/misc", 400, "dialin_number", json={"dialin_number": "not-a-number"})
    _admin_error(emu, "PATCH", "/rooms/ghost", 404, "ghost", json={"privacy": "private"})


def test_pin_on_a_room_without_one_gets_the_default_number(emu, api):
    api.create_room(name="plain", properties={"exp": in_hours(1)})
    room = emu.admin.set_room_pin("plain", "55555555555")
    assert room["config"]["dialin_number"] == NUMBERS[0]


def test_admin_room_changes_are_not_counted(emu, api):
    api.create_room(**dialin_room("quiet"))
    before = emu.admin.counters()
    emu.admin.room("quiet")
    emu.admin.new_room_pin("quiet")
    emu.admin.set_room_exp("quiet", in_hours(4))
    assert emu.admin.counters() == before


def test_admin_room_changes_are_saved(tmp_path, make_server):
    state_file = tmp_path / "state.json"
    server = make_server(state_file=state_file)
    Api(base_url=server.base_url).create_room(**dialin_room("saved"))
    pin = server.admin.new_room_pin("saved")
    server.stop()
    again = make_server(state_file=state_file)
    assert Api(base_url=again.base_url).get("/rooms/saved").json()["config"]["dialin_code"] == pin
