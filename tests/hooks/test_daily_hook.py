"""DailyHook against the emulator over real HTTP: endpoints, errors, retries, idempotency, pacing."""

from __future__ import annotations

import json
import logging
import time

import pytest
import requests

from airflow_provider_daily.errors import (
    DailyAuthError,
    DailyInvalidRequestError,
    DailyInvalidSpecsError,
    DailyNotFoundError,
    DailyQuotaReachedError,
    DailyRateLimitedError,
    DailyRoomAlreadyExistsError,
    DailyServerError,
    DailyTransportError,
    DailyValidationError,
)
from airflow_provider_daily.hooks.daily import DailyHook
from airflow_provider_daily.models import RoomCreate, RoomProperties, dial_string
from tests.hooks.helpers import dialin_spec
from tests.support.daily import OTHER_NUMBER, PIN_NUMBER, TEST_KEY, daily_connection_uri


def rooms_in_emulator(emulator) -> list[dict]:
    return [r for r in emulator.admin.snapshot()["rooms"] if not r.get("expired")]


# -- rooms ------------------------------------------------------------------------------------
def test_create_room_returns_pin_and_number(hook, emulator):
    room = hook.create_room(dialin_spec("mtg-1", number=PIN_NUMBER))
    assert room.name == "mtg-1"
    assert room.url == "https://acme.daily.co/mtg-1"
    assert room.pin is not None and len(room.pin) == 11 and room.pin.isdigit()
    assert room.dialin_number() == PIN_NUMBER
    stored = rooms_in_emulator(emulator)
    assert [r["config"]["dialin_code"] for r in stored] == [room.pin]
    assert dial_string(room.dialin_number(), room.pin) == f"tel:{PIN_NUMBER},,{room.pin}"


def test_get_update_delete_room(hook):
    created = hook.create_room(dialin_spec("mtg-2"))
    fetched = hook.get_room("mtg-2")
    assert fetched.pin == created.pin
    updated = hook.update_room("mtg-2", properties={"max_participants": 7})
    assert updated.config.max_participants == 7
    assert updated.pin == created.pin, "updating other properties keeps the PIN"
    assert hook.delete_room("mtg-2") is True
    assert hook.delete_room("mtg-2") is False, "404 on delete means already gone"
    with pytest.raises(DailyNotFoundError) as info:
        hook.get_room("mtg-2")
    assert info.value.status == 404 and info.value.path == "/rooms/mtg-2"


def test_update_room_can_enable_dialin(hook):
    exp = int(time.time()) + 3600
    plain = hook.create_room(RoomCreate(name="plain", properties=RoomProperties(exp=exp)))
    assert plain.pin is None
    room = hook.update_room("plain", properties={"dialin": {"display_name": "Phone"}, "exp": exp})
    assert room.pin and len(room.pin) == 11


def test_list_and_iterate_rooms_across_pages(hook):
    specs = [dialin_spec(f"page-{i:03d}") for i in range(230)]
    hook.create_rooms_batch(specs)
    first = hook.list_rooms(limit=100)
    assert first.total_count == 230 and len(first.data) == 100
    names = [room.name for room in hook.iter_rooms(page_size=100)]
    assert len(names) == 230 and len(set(names)) == 230
    assert names[0] == "page-229", "newest first"
    small_pages = [room.name for room in hook.iter_rooms(page_size=7)]
    assert small_pages == names


def test_batch_create_and_delete(hook, emulator):
    rooms = hook.create_rooms_batch([dialin_spec(f"b-{i}") for i in range(5)])
    assert [r.name for r in rooms] == [f"b-{i}" for i in range(5)]
    assert all(r.pin and len(r.pin) == 11 for r in rooms)
    assert len({r.pin for r in rooms}) == 5
    assert hook.delete_rooms_batch(["b-0", "b-1", "nope"]) == 2
    assert sorted(r["name"] for r in rooms_in_emulator(emulator)) == ["b-2", "b-3", "b-4"]


def test_batch_is_all_or_nothing(hook, emulator):
    hook.create_room(dialin_spec("taken"))
    with pytest.raises(DailyRoomAlreadyExistsError):
        hook.create_rooms_batch([dialin_spec("fresh-1"), dialin_spec("taken"), dialin_spec("fresh-2")])
    assert [r["name"] for r in rooms_in_emulator(emulator)] == ["taken"]


def test_batch_limits_and_local_validation(hook, emulator):
    with pytest.raises(ValueError, match="1 to 1000"):
        hook.create_rooms_batch([])
    with pytest.raises(DailyValidationError, match="invalid room name"):
        hook.create_rooms_batch([dialin_spec("ok"), dialin_spec("not ok!")])
    assert emulator.admin.counters()["requests"].get("POST /batch/rooms", 0) == 0, "refused before any call"


def test_batch_refusal_names_every_invalid_spec(hook, emulator):
    specs = [dialin_spec("fine"), dialin_spec("bad name"), dialin_spec("late", hours=366 * 24)]
    with pytest.raises(DailyInvalidSpecsError) as info:
        hook.create_rooms_batch(specs)
    assert set(info.value.reasons) == {"bad name", "late"}
    assert "invalid room name" in info.value.reasons["bad name"] and "365 days" in info.value.reasons["late"]
    assert isinstance(info.value, DailyValidationError)
    assert emulator.admin.counters()["requests"] == {}


# -- client-side validation (before any call) ---------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (dialin_spec("has space"), "invalid room name"),
        (dialin_spec("x" * 129), "invalid room name"),
        (dialin_spec("past", hours=-1), "not in the future"),
        (dialin_spec("too-far", hours=365 * 24), "365 days"),
        (RoomCreate(name="no-exp", properties={"dialin": {"display_name": "x"}}), "needs an exp"),
    ],
)
def test_invalid_specs_are_refused_before_any_call(hook, emulator, spec, reason):
    with pytest.raises(DailyValidationError, match=reason):
        hook.create_room(spec)
    assert emulator.admin.counters()["requests"] == {}


# -- errors -----------------------------------------------------------------------------------
def test_already_exists_is_typed(hook):
    hook.create_room(dialin_spec("dup"))
    with pytest.raises(DailyRoomAlreadyExistsError) as info:
        hook.create_room(dialin_spec("dup"))
    assert info.value.status == 400 and info.value.error == "invalid-request-error"
    assert "already exists" in info.value.info


def test_quota_reached_is_typed_and_not_retried(hook, emulator):
    emulator.admin.configure(room_quota=2)
    hook.create_rooms_batch([dialin_spec("q-1"), dialin_spec("q-2")])
    with pytest.raises(DailyQuotaReachedError):
        hook.create_room(dialin_spec("q-3"))
    assert emulator.admin.counters()["requests"]["POST /rooms"] == 1


def test_number_not_on_pin_flow_is_invalid_request(hook):
    with pytest.raises(DailyInvalidRequestError) as info:
        hook.create_room(dialin_spec("wrong-number", number=OTHER_NUMBER))
    assert not isinstance(info.value, DailyRoomAlreadyExistsError)
    assert OTHER_NUMBER in (info.value.info or "")


def test_unknown_key_is_auth_error(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url, key="wrong"))
    with pytest.raises(DailyAuthError) as info:
        DailyHook().list_rooms()
    assert info.value.status == 401 and info.value.error == "authentication-error"
    assert "wrong" not in str(info.value)


def test_missing_key_is_refused_locally(emulator, monkeypatch):
    uri = json.dumps({"conn_type": "daily", "host": emulator.base_url})
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", uri)
    with pytest.raises(Exception, match="no API key"):
        DailyHook().list_rooms()


def test_non_bearer_header_is_authorization_header_error(emulator):
    response = requests.get(f"{emulator.base_url}/rooms", headers={"Authorization": TEST_KEY}, timeout=5)
    from airflow_provider_daily.errors import error_from_response

    error = error_from_response(status=response.status_code, body=response.json(), method="GET", path="/rooms")
    assert isinstance(error, DailyAuthError) and error.error == "authorization-header-error"


# -- retries ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "reset"])
def test_retry_then_success(hook, emulator, kind):
    emulator.admin.script_faults([{"kind": kind, "method": "GET", "path": "/rooms"}] * 2)
    page = hook.list_rooms()
    assert page.total_count == 0
    counters = emulator.admin.counters()
    assert counters["requests"]["GET /rooms"] == 3
    assert counters["faults"][kind] == 2


def test_timeout_is_retried(hook, emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url, timeout=0.5))
    emulator.admin.configure(faults={"hang_seconds": 3})
    emulator.admin.script_faults([{"kind": "hang", "method": "GET", "path": "/rooms"}])
    assert DailyHook().list_rooms().total_count == 0


def test_retries_are_bounded(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url, max_attempts=3))
    emulator.admin.script_faults([{"kind": "503", "path": "/rooms"}] * 5)
    with pytest.raises(DailyServerError) as info:
        DailyHook().list_rooms()
    assert info.value.status == 503
    assert emulator.admin.counters()["requests"]["GET /rooms"] == 3


def test_rate_limited_after_exhausted_retries_is_typed(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url, max_attempts=2))
    emulator.admin.script_faults([{"kind": "429", "path": "/rooms"}] * 2)
    with pytest.raises(DailyRateLimitedError):
        DailyHook().list_rooms()


def test_retry_after_is_honoured(hook, emulator):
    emulator.admin.script_faults([{"kind": "429", "path": "/rooms", "retry_after": 1}])
    started = time.monotonic()
    hook.list_rooms()
    assert time.monotonic() - started >= 0.95, "waited at least Retry-After, not the 10 ms backoff"


def test_connection_refused_is_transport_error(monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(f"http://127.0.0.1:{port}/v1", max_attempts=2)
    )
    with pytest.raises(DailyTransportError) as info:
        DailyHook().list_rooms()
    assert info.value.method == "GET" and info.value.path == "/rooms"


# -- idempotent create --------------------------------------------------------------------------
def test_lost_create_response_makes_no_duplicate(hook, emulator):
    emulator.admin.script_faults([{"kind": "lost_create", "method": "POST", "path": "/rooms"}])
    ensured = hook.ensure_room(dialin_spec("lost-1"))
    stored = rooms_in_emulator(emulator)
    assert [r["name"] for r in stored] == ["lost-1"]
    assert ensured.room.pin == stored[0]["config"]["dialin_code"]
    counters = emulator.admin.counters()
    assert counters["faults"]["lost_create"] == 1
    assert counters["rooms_created"] == 1


def test_ensure_room_reuses_and_updates_drifted_room(hook):
    first = hook.ensure_room(dialin_spec("meet"))
    assert first.outcome == "created"
    same = hook.ensure_room(dialin_spec("meet"))
    assert same.outcome == "reused" and same.room.pin == first.room.pin
    changed = hook.ensure_room(dialin_spec("meet", display="Renamed", hours=3))
    assert changed.outcome == "updated"
    assert changed.room.pin == first.room.pin
    assert changed.room.config.dialin.display_name == "Renamed"


def test_reconcile_a_room_in_hand_makes_no_request_when_nothing_differs(hook, emulator):
    room = hook.create_room(dialin_spec("held"))
    before = emulator.admin.counters()["requests"]
    ensured = hook.reconcile_room(dialin_spec("held"), room=room)
    assert ensured.outcome == "reused" and ensured.room.pin == room.pin
    assert emulator.admin.counters()["requests"] == before


def test_reconcile_a_room_in_hand_updates_only_what_differs(hook, emulator):
    room = hook.create_room(dialin_spec("held-2"))
    ensured = hook.reconcile_room(dialin_spec("held-2", display="Renamed"), room=room)
    assert ensured.outcome == "updated" and ensured.room.pin == room.pin
    requests_made = emulator.admin.counters()["requests"]
    assert "GET /rooms/:name" not in requests_made and requests_made["POST /rooms/:name"] == 1
    assert rooms_in_emulator(emulator)[0]["config"]["dialin"]["display_name"] == "Renamed"


def test_reconcile_a_room_in_hand_that_is_gone_creates_it_again(hook, emulator):
    room = hook.create_room(dialin_spec("gone"))
    emulator.admin.delete_room("gone")  # deleted between the listing and the update
    ensured = hook.reconcile_room(dialin_spec("gone", display="Renamed"), room=room)
    assert ensured.outcome == "created"
    stored = rooms_in_emulator(emulator)
    assert [r["name"] for r in stored] == ["gone"] and ensured.room.pin == stored[0]["config"]["dialin_code"]


def test_reconcile_without_a_room_fetches_it_and_validates_first(hook, emulator):
    hook.create_room(dialin_spec("fetch-me"))
    assert hook.reconcile_room(dialin_spec("fetch-me")).outcome == "reused"
    assert emulator.admin.counters()["requests"]["GET /rooms/:name"] == 1
    with pytest.raises(DailyValidationError, match="365 days"):
        hook.reconcile_room(dialin_spec("fetch-me", hours=366 * 24))
    assert emulator.admin.counters()["requests"]["GET /rooms/:name"] == 1


def test_ensure_room_adds_pin_to_existing_room_without_one(hook):
    exp = int(time.time()) + 3600
    hook.create_room(RoomCreate(name="no-pin", properties=RoomProperties(exp=exp)))
    ensured = hook.ensure_room(dialin_spec("no-pin"))
    assert ensured.room.pin and len(ensured.room.pin) == 11


# -- dial-in configs and numbers ------------------------------------------------------------------
def test_dialin_config_crud(hook):
    configs = list(hook.iter_dialin_configs())
    assert [(c.type, c.config.phone_number) for c in configs] == [("pin_dialin", PIN_NUMBER)]
    created = hook.create_dialin_config(
        {"type": "pin_dialin", "phone_number": OTHER_NUMBER, "name_prefix": "acme", "ivr_greeting": {"message": "Hi"}}
    )
    assert created.config.phone_number == OTHER_NUMBER and created.config.ivr_greeting.message == "Hi"
    with pytest.raises(DailyInvalidRequestError):
        hook.create_dialin_config({"type": "pinless_dialin", "phone_number": OTHER_NUMBER})
    updated = hook.update_dialin_config(created.id, {"name_prefix": "other"})
    assert updated.config.name_prefix == "other"
    assert hook.get_dialin_config(created.id).config.name_prefix == "other"
    hook.delete_dialin_config(created.id)
    with pytest.raises(DailyNotFoundError):
        hook.get_dialin_config(created.id)


def test_purchased_numbers(hook):
    numbers = [n.number for n in hook.iter_purchased_phone_numbers()]
    assert sorted(numbers) == sorted([PIN_NUMBER, OTHER_NUMBER, "+12095550102"])


def test_purchased_numbers_paginate():
    from daily_emulator import EmulatorServer, EmulatorSettings

    many = [f"+1209555{n:04d}" for n in range(120)]
    settings = EmulatorSettings(api_keys=[TEST_KEY], purchased_numbers=many, rate_limits={})
    with EmulatorServer(settings=settings) as emu, pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emu.base_url))
        hook = DailyHook()
        assert len(hook.list_purchased_phone_numbers().data) == 50
        assert sorted(n.number for n in hook.iter_purchased_phone_numbers()) == sorted(many)
        assert emu.admin.counters()["requests"]["GET /purchased-phone-numbers"] == 1 + 3


# -- pacing -----------------------------------------------------------------------------------
def test_burst_of_200_creates_at_documented_limit_gets_no_429(hook, emulator):
    """The emulator enforces Daily's documented 20/s and 100/5 s; the client paces under them."""
    for i in range(200):
        hook.create_room(dialin_spec(f"burst-{i}"))
    counters = emulator.admin.counters()
    assert counters["requests"]["POST /rooms"] == 200
    assert counters["rate_limited"] == {} or sum(counters["rate_limited"].values()) == 0


def test_unpaced_burst_does_get_429(emulator):
    """Control for the pacing test: the same burst without a pacer is rate limited."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TEST_KEY}"
    statuses = [session.get(f"{emulator.base_url}/rooms", timeout=5).status_code for _ in range(60)]
    assert 429 in statuses


# -- connection, secrets ------------------------------------------------------------------------
def test_test_connection(hook, emulator, monkeypatch):
    ok, message = hook.test_connection()
    assert ok and "0 live rooms" in message
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url, key="bad"))
    ok, message = DailyHook().test_connection()
    assert not ok and "authentication-error" in message


def test_key_never_in_logs_errors_or_repr(emulator, monkeypatch, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url, max_attempts=2))
    hook = DailyHook()
    emulator.admin.script_faults([{"kind": "500", "path": "/rooms"}])
    hook.list_rooms()
    emulator.admin.script_faults([{"kind": "503", "path": "/rooms"}] * 2)
    with pytest.raises(DailyServerError) as info:
        hook.list_rooms()
    room = hook.create_room(dialin_spec("secret-test"))
    text = "\n".join([caplog.text, *capsys.readouterr(), str(info.value), repr(info.value), repr(hook), repr(room)])
    assert "Daily request failed" in text, "the retries were logged"
    assert TEST_KEY not in text
    assert room.pin not in text, "the PIN is not in the room's repr"


def test_settings_extras_do_not_become_headers(hook):
    session = hook.get_conn()
    assert "max_attempts" not in session.headers and "timeout" not in session.headers
    assert session.headers["Authorization"].startswith("Bearer ")


def test_a_login_on_the_connection_adds_no_basic_auth(emulator, monkeypatch):
    """HttpHook would turn login/password into basic auth; Daily takes only the Bearer key."""
    uri = json.loads(daily_connection_uri(emulator.base_url))
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", json.dumps({**uri, "login": "someone"}))
    hook = DailyHook()
    session = hook.get_conn()
    assert session.auth is None
    assert session.headers["Authorization"] == f"Bearer {TEST_KEY}"
    assert hook.list_rooms().total_count == 0
