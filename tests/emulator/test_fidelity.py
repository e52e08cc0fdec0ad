"""Fidelity to real Daily: defaults left out of ``config``, fractional ``exp``/``nbf``, the quota error's
shape, and what an update does to the PIN (incl. the ``resend_dialin_new_pin`` setting)."""

from __future__ import annotations

import re
import time

import pytest

from daily_emulator.defaults import DIALIN_DEFAULTS, PROPERTY_DEFAULTS, is_default
from tests.emulator.helpers import NUMBERS, assert_error, dialin_room, in_hours

PIN = re.compile(r"^[0-9]{11}$")


def _stored(emu, name):
    return next(room for room in emu.admin.snapshot()["rooms"] if room["name"] == name)


# ------------------------------------------------------------- defaults left out


def test_defaults_table():
    assert PROPERTY_DEFAULTS["eject_at_room_exp"] is False
    assert DIALIN_DEFAULTS["wait_for_meeting_start"] is False
    assert is_default("eject_at_room_exp", False, PROPERTY_DEFAULTS)
    assert not is_default("eject_at_room_exp", 0, PROPERTY_DEFAULTS)  # same value, other type
    assert not is_default("eject_at_room_exp", True, PROPERTY_DEFAULTS)
    for absent in ("nbf", "exp", "max_participants"):
        assert not is_default(absent, 0, PROPERTY_DEFAULTS)
    assert not is_default("enable_chat", False, PROPERTY_DEFAULTS)  # unknown: always listed


def test_create_leaves_default_values_out_of_config(api):
    exp = in_hours(2)
    body = {
        "name": "defaults",
        "properties": {
            "exp": exp,
            "eject_at_room_exp": False,
            "dialin": {"display_name": "Board", "wait_for_meeting_start": False},
        },
    }
    room = api.create_room(**body)
    config = room["config"]
    assert set(config) == {"exp", "dialin", "dialin_code", "dialin_number"}
    assert config["dialin"] == {"display_name": "Board"}
    assert PIN.match(config["dialin_code"])
    assert config["dialin_number"] == NUMBERS[0]
    assert api.get("/rooms/defaults").json()["config"] == config
    assert api.get("/rooms").json()["data"][0]["config"] == config


def test_non_default_values_are_listed(api):
    room = api.create_room(
        name="set",
        properties={
            "exp": in_hours(2),
            "nbf": int(time.time()),
            "max_participants": 7,
            "eject_at_room_exp": True,
            "dialin": {"wait_for_meeting_start": True, "room_numbers": [{"phone_number": NUMBERS[0]}]},
        },
    )
    config = room["config"]
    assert config["eject_at_room_exp"] is True
    assert config["max_participants"] == 7
    assert "nbf" in config
    assert config["dialin"] == {"wait_for_meeting_start": True, "room_numbers": [{"phone_number": NUMBERS[0]}]}


def test_dialin_echoes_only_the_fields_that_were_set(api):
    room = api.create_room(
        name="only-wait", properties={"exp": in_hours(1), "dialin": {"wait_for_meeting_start": False}}
    )
    assert room["config"]["dialin"] == {}
    assert PIN.match(room["config"]["dialin_code"])
    room = api.create_room(name="only-name", properties={"exp": in_hours(1), "dialin": {"display_name": "x"}})
    assert room["config"]["dialin"] == {"display_name": "x"}  # no default filled in


def test_batch_leaves_defaults_out(api):
    body = dialin_room("b-def", wait_for_meeting_start=False)
    body["properties"]["eject_at_room_exp"] = False
    rooms = api.post("/batch/rooms", {"rooms": [body]}).json()["data"]
    assert rooms[0]["config"]["dialin"] == {"display_name": "b-def"}
    assert "eject_at_room_exp" not in rooms[0]["config"]


def test_update_to_default_value_leaves_config(api):
    api.create_room(**dialin_room("upd-def", wait_for_meeting_start=True))
    room = api.post("/rooms/upd-def", {"properties": {"eject_at_room_exp": True}}).json()
    assert room["config"]["eject_at_room_exp"] is True
    room = api.post("/rooms/upd-def", {"properties": {"eject_at_room_exp": False}}).json()
    assert "eject_at_room_exp" not in room["config"]
    dialin = {"display_name": "upd-def", "wait_for_meeting_start": False}
    room = api.post("/rooms/upd-def", {"properties": {"dialin": dialin}}).json()
    assert room["config"]["dialin"] == {"display_name": "upd-def"}
    assert api.get("/rooms/upd-def").json()["config"] == room["config"]
    assert PIN.match(room["config"]["dialin_code"])


# ------------------------------------------------------------ fractional exp/nbf


def test_fractional_exp_and_nbf_are_stored_and_echoed_as_sent(api):
    exp = time.time() + 3600.25
    nbf = time.time() - 0.5
    room = api.create_room(name="frac", properties={"exp": exp, "nbf": nbf, "dialin": {}})
    assert room["config"]["exp"] == exp
    assert room["config"]["nbf"] == nbf
    assert isinstance(room["config"]["exp"], float)
    assert PIN.match(room["config"]["dialin_code"])
    assert api.get("/rooms/frac").json()["config"]["exp"] == exp
    assert api.get("/rooms").json()["data"][0]["config"]["exp"] == exp


def test_whole_float_stays_a_float(api):
    exp = float(int(time.time()) + 7200)
    response = api.post("/rooms", {"name": "whole", "properties": {"exp": exp}})
    assert response.status_code == 200, response.text
    assert f'"exp":{exp!r}' in response.text.replace(" ", "")  # e.g. 1795798405.0, not 1795798405
    assert isinstance(response.json()["config"]["exp"], float)
    integer = api.create_room(name="int-exp", properties={"exp": int(exp)})["config"]["exp"]
    assert isinstance(integer, int)


def test_fractional_exp_in_batch_and_update(api):
    exp = time.time() + 7200.75
    body = {"name": "b-frac", "properties": {"exp": exp, "dialin": {"display_name": "b"}}}
    room = api.post("/batch/rooms", {"rooms": [body]}).json()["data"][0]
    assert room["config"]["exp"] == exp
    assert PIN.match(room["config"]["dialin_code"])
    later = exp + 1800.5
    updated = api.post("/rooms/b-frac", {"properties": {"exp": later, "nbf": 12.5}}).json()
    assert updated["config"]["exp"] == later
    assert updated["config"]["nbf"] == 12.5
    assert updated["config"]["dialin_code"] == room["config"]["dialin_code"]


def test_fractional_exp_expires_the_room(emu, api):
    api.create_room(name="short-frac", properties={"exp": time.time() + 30.5})
    assert api.get("/rooms/short-frac").status_code == 200
    emu.admin.advance_clock(31)
    assert_error(api.get("/rooms/short-frac"), 404, "not-found")


def test_fractional_exp_still_follows_the_365_day_rule(api):
    body = {"name": "far", "properties": {"exp": time.time() + 365 * 24 * 3600 + 0.5, "dialin": {}}}
    assert_error(api.post("/rooms", body), 400, "invalid-request-error", "365 days")


@pytest.mark.parametrize("value", [True, False, "1767225600", [1767225600], {"at": 1}])
@pytest.mark.parametrize("key", ["exp", "nbf"])
def test_non_numbers_and_booleans_are_refused(api, key, value):
    body = {"name": "bad", "properties": {key: value}}
    assert_error(api.post("/rooms", body), 400, "invalid-request-error", key)
    assert_error(api.post("/batch/rooms", {"rooms": [body]}), 400, "invalid-request-error", key)
    api.create_room(name="target")
    assert_error(api.post("/rooms/target", {"properties": {key: value}}), 400, "invalid-request-error", key)
    assert [room["name"] for room in api.get("/rooms").json()["data"]] == ["target"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_not_json(api, constant):
    raw = '{"name": "nan", "properties": {"exp": ' + constant + "}}"
    response = api.post("/rooms", data=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "json-parsing-error")
    assert api.get("/rooms").json()["total_count"] == 0


# -------------------------------------------------------------------- quota error


def _assert_quota_error(response):
    body = assert_error(response, 400, "invalid-request-error", "rooms reached")
    assert set(body) == {"error", "info"}
    return body


def test_quota_error_shape_on_single_create(emu, api):
    emu.admin.configure(room_quota=1)
    api.create_room(**dialin_room("q-1"))
    pins = emu.state.live_pins()
    _assert_quota_error(api.post("/rooms", dialin_room("q-2")))
    assert_error(api.get("/rooms/q-2"), 404, "not-found")
    assert emu.state.live_pins() == pins  # no PIN was handed out
    assert emu.admin.counters()["rooms_created"] == 1


def test_quota_error_shape_on_batch_is_all_or_nothing(emu, api):
    emu.admin.configure(room_quota=3)
    api.post("/batch/rooms", {"rooms": [dialin_room("l-1"), dialin_room("l-2")]})
    body = _assert_quota_error(api.post("/batch/rooms", {"rooms": [dialin_room("n-1"), dialin_room("n-2")]}))
    assert not body["info"].startswith("rooms[")  # about the whole batch, not one room
    assert sorted(room["name"] for room in emu.admin.snapshot()["rooms"]) == ["l-1", "l-2"]
    assert len(emu.state.live_pins()) == 2
    assert emu.admin.counters()["rooms_created"] == 2
    assert [r["name"] for r in api.post("/batch/rooms", {"rooms": [dialin_room("n-1")]}).json()["data"]] == ["n-1"]


def test_quota_zero_refuses_every_create(emu, api):
    emu.admin.configure(room_quota=0)
    _assert_quota_error(api.post("/rooms", {"name": "none"}))
    _assert_quota_error(api.post("/batch/rooms", {"rooms": [{"name": "none"}]}))
    assert emu.admin.snapshot()["rooms"] == []


# --------------------------------------------------------------- PIN on update


def test_resending_dialin_keeps_the_pin_by_default(emu, api):
    assert emu.admin.settings()["resend_dialin_new_pin"] is False
    pin = api.create_room(**dialin_room("keep"))["config"]["dialin_code"]
    room = api.post("/rooms/keep", {"properties": {"dialin": {"display_name": "keep"}}}).json()
    assert room["config"]["dialin_code"] == pin


def test_resend_dialin_new_pin_issues_a_new_pin(emu, api):
    settings = emu.admin.configure(resend_dialin_new_pin=True)
    assert settings["resend_dialin_new_pin"] is True
    assert emu.admin.settings()["resend_dialin_new_pin"] is True
    first = api.create_room(**dialin_room("fresh"))["config"]
    room = api.post("/rooms/fresh", {"properties": {"dialin": {"display_name": "fresh"}}}).json()
    second = room["config"]
    assert PIN.match(second["dialin_code"])
    assert second["dialin_code"] != first["dialin_code"]
    assert second["dialin_number"] == first["dialin_number"]
    assert api.get("/rooms/fresh").json()["config"]["dialin_code"] == second["dialin_code"]
    assert first["dialin_code"] not in emu.state.live_pins()
    third = api.post("/rooms/fresh", {"properties": {"exp": in_hours(3), "dialin": {}}}).json()["config"]
    assert third["dialin_code"] not in (first["dialin_code"], second["dialin_code"])


def test_resend_dialin_new_pin_on_a_room_without_pin_gives_one(emu, api):
    emu.admin.configure(resend_dialin_new_pin=True, batch_returns_pin=False)
    api.post("/batch/rooms", {"rooms": [dialin_room("late-pin")]})
    room = api.post("/rooms/late-pin", {"properties": {"dialin": {"display_name": "x"}}}).json()
    assert PIN.match(room["config"]["dialin_code"])


def test_removing_dialin_drops_the_pin_even_with_the_setting(emu, api):
    emu.admin.configure(resend_dialin_new_pin=True)
    pin = api.create_room(**dialin_room("off"))["config"]["dialin_code"]
    room = api.post("/rooms/off", {"properties": {"dialin": None}}).json()
    assert "dialin_code" not in room["config"]
    assert pin not in emu.state.live_pins()


@pytest.mark.parametrize("new_pin_on_resend", [False, True])
@pytest.mark.parametrize(
    "body",
    [
        {"privacy": "private"},
        {"properties": {"max_participants": 3}},
        {"properties": {"exp": time.time() + 5 * 3600.5}},
        {"properties": {"eject_at_room_exp": True}},
        {"properties": {"nbf": 1}},
        {"properties": {"enable_chat": True}},
        {"properties": {"max_participants": None}},
        {"properties": {}},
        {},
    ],
)
def test_update_without_dialin_never_changes_the_pin(emu, api, body, new_pin_on_resend):
    emu.admin.configure(resend_dialin_new_pin=new_pin_on_resend)
    created = api.create_room(**dialin_room("stable"))["config"]
    response = api.post("/rooms/stable", body)
    assert response.status_code == 200, response.text
    assert response.json()["config"]["dialin_code"] == created["dialin_code"]
    assert response.json()["config"]["dialin_number"] == created["dialin_number"]
    assert _stored(emu, "stable")["config"]["dialin_code"] == created["dialin_code"]
