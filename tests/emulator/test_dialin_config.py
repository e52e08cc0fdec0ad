"""/domain-dialin-config (one number, one config; flow-specific fields) and /purchased-phone-numbers."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.emulator.helpers import NUMBERS, Api, assert_error


def _seeded(api):
    data = api.get("/domain-dialin-config").json()["data"]
    assert len(data) == 1
    return data[0]


def test_seeded_pin_config(api):
    config = _seeded(api)
    assert config["type"] == "pin_dialin"
    assert config["config"]["phone_number"] == NUMBERS[0]
    assert uuid.UUID(config["id"])


def test_create_pin_config(api):
    body = {
        "type": "pin_dialin",
        "phone_number": NUMBERS[1],
        "name_prefix": "acme-pin",
        "ivr_greeting": {"message": "Please enter the PIN from your invite"},
    }
    response = api.post("/domain-dialin-config", body)
    assert response.status_code == 200, response.text
    created = response.json()
    assert set(created) == {"id", "type", "config"}
    assert created["type"] == "pin_dialin"
    assert created["config"] == {
        "phone_number": NUMBERS[1],
        "name_prefix": "acme-pin",
        "ivr_greeting": {"message": "Please enter the PIN from your invite"},
    }
    assert api.get(f"/domain-dialin-config/{created['id']}").json() == created


def test_create_pinless_config_with_integer_number(api):
    body = {"type": "pinless_dialin", "phone_number": int(NUMBERS[2][1:]), "hmac": "secret",
            "room_creation_api": "http://example.invalid/hook", "hold_music_url": "http://example.invalid/m.mp3",
            "timeout_config": {"message": "bye"}}  # fmt: skip
    created = api.post("/domain-dialin-config", body).json()
    assert created["type"] == "pinless_dialin"
    assert created["config"]["phone_number"] == NUMBERS[2]
    assert created["config"]["hmac"] == "secret"


def test_one_number_one_config(api):
    assert_error(
        api.post("/domain-dialin-config", {"type": "pinless_dialin", "phone_number": NUMBERS[0]}),
        400,
        "invalid-request-error",
        "already in a dial-in config",
    )
    assert_error(
        api.post("/domain-dialin-config", {"type": "pin_dialin", "phone_number": NUMBERS[0]}),
        400,
        "invalid-request-error",
        "already in a dial-in config",
    )


def test_number_must_be_purchased(api):
    body = {"type": "pin_dialin", "phone_number": "+14155550123"}
    assert_error(api.post("/domain-dialin-config", body), 400, "invalid-request-error", "purchased")


@pytest.mark.parametrize(
    "body",
    [
        {"type": "pin_dialin", "phone_number": NUMBERS[1], "hmac": "x"},
        {"type": "pin_dialin", "phone_number": NUMBERS[1], "room_creation_api": "http://x.invalid"},
        {"type": "pin_dialin", "phone_number": NUMBERS[1], "hold_music_url": "http://x.invalid"},
        {"type": "pin_dialin", "phone_number": NUMBERS[1], "timeout_config": {}},
        {"type": "pinless_dialin", "phone_number": NUMBERS[1], "ivr_greeting": {"message": "hi"}},
    ],
)
def test_wrong_flow_fields(api, body):
    assert_error(api.post("/domain-dialin-config", body), 400, "invalid-request-error")


@pytest.mark.parametrize(
    "body",
    [
        {"phone_number": NUMBERS[1]},
        {"type": "sip", "phone_number": NUMBERS[1]},
        {"type": "pin_dialin"},
        {"type": "pin_dialin", "phone_number": "call me"},
        {"type": "pin_dialin", "phone_number": NUMBERS[1], "ivr_greeting": "hello"},
        {"type": "pin_dialin", "phone_number": NUMBERS[1], "name_prefix": 7},
    ],
)
def test_create_validation(api, body):
    assert_error(api.post("/domain-dialin-config", body), 400, "invalid-request-error")


def test_put_updates_fields_but_not_type(api):
    config_id = _seeded(api)["id"]
    updated = api.put(f"/domain-dialin-config/{config_id}", {"name_prefix": "new", "ivr_greeting": {"message": "m"}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["config"] == {
        "phone_number": NUMBERS[0],
        "name_prefix": "new",
        "ivr_greeting": {"message": "m"},
    }
    assert api.put(f"/domain-dialin-config/{config_id}", {"type": "pin_dialin"}).status_code == 200
    assert_error(
        api.put(f"/domain-dialin-config/{config_id}", {"type": "pinless_dialin"}), 400, "invalid-request-error", "type"
    )
    assert_error(api.put(f"/domain-dialin-config/{config_id}", {"hmac": "x"}), 400, "invalid-request-error")


def test_put_phone_number(api):
    seeded = _seeded(api)
    other = api.post("/domain-dialin-config", {"type": "pinless_dialin", "phone_number": NUMBERS[2]}).json()
    assert_error(
        api.put(f"/domain-dialin-config/{seeded['id']}", {"phone_number": NUMBERS[2]}),
        400,
        "invalid-request-error",
        "already in a dial-in config",
    )
    moved = api.put(f"/domain-dialin-config/{seeded['id']}", {"phone_number": NUMBERS[1]}).json()
    assert moved["config"]["phone_number"] == NUMBERS[1]
    assert api.get(f"/domain-dialin-config/{other['id']}").json()["config"]["phone_number"] == NUMBERS[2]


def test_delete_config_and_unknown_ids(api):
    config_id = _seeded(api)["id"]
    assert api.delete(f"/domain-dialin-config/{config_id}").json() == {"status": "deleted"}
    assert_error(api.get(f"/domain-dialin-config/{config_id}"), 404, "not-found")
    assert_error(api.delete(f"/domain-dialin-config/{config_id}"), 404, "not-found")
    assert_error(api.put(f"/domain-dialin-config/{config_id}", {"name_prefix": "x"}), 404, "not-found")
    # The number is free again, e.g. to move it to the pinless flow.
    body = {"type": "pinless_dialin", "phone_number": NUMBERS[0]}
    assert api.post("/domain-dialin-config", body).status_code == 200


def test_list_filters_and_pagination(api):
    api.post("/domain-dialin-config", {"type": "pin_dialin", "phone_number": NUMBERS[1], "name_prefix": "p"})
    api.post("/domain-dialin-config", {"type": "pinless_dialin", "phone_number": NUMBERS[2], "name_prefix": "p"})
    listing = api.get("/domain-dialin-config").json()
    assert listing["total_count"] == 3
    numbers = [c["config"]["phone_number"] for c in listing["data"]]
    assert numbers == NUMBERS
    assert [c["type"] for c in api.get("/domain-dialin-config", params={"type": "pin_dialin"}).json()["data"]] == [
        "pin_dialin",
        "pin_dialin",
    ]
    by_number = api.get("/domain-dialin-config", params={"phone_number": NUMBERS[2]}).json()
    assert by_number["total_count"] == 1
    assert by_number["data"][0]["type"] == "pinless_dialin"
    assert api.get("/domain-dialin-config", params={"name_prefix": "p"}).json()["total_count"] == 2
    ids = [c["id"] for c in listing["data"]]
    page = api.get("/domain-dialin-config", params={"limit": 1, "starting_after": ids[0]}).json()["data"]
    assert [c["id"] for c in page] == [ids[1]]
    page = api.get("/domain-dialin-config", params={"limit": 2, "ending_before": ids[2]}).json()["data"]
    assert [c["id"] for c in page] == ids[:2]


# ---------------------------------------------------------------- phone numbers

MANY = [f"+1209555{i:04d}" for i in range(7)]


def test_purchased_numbers_shape(api):
    listing = api.get("/purchased-phone-numbers").json()
    assert listing["total_count"] == 3
    first = listing["data"][0]
    assert set(first) == {"id", "number", "name", "type", "status", "created_date"}
    assert first["number"] == NUMBERS[0]
    assert first["type"] == "purchased_phone_number"
    assert first["status"] == "verified"
    assert re.match(r"^\d{4}-\d\d-\d\dT", first["created_date"])
    dates = [item["created_date"] for item in listing["data"]]
    assert dates == sorted(dates)


def test_purchased_numbers_paging_and_filter(make_server):
    server = make_server(purchased_numbers=MANY)
    api = Api(base_url=server.base_url)

    def numbers(**params):
        response = api.get("/purchased-phone-numbers", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    page1 = numbers(limit=3)
    assert page1["total_count"] == 7
    assert [n["number"] for n in page1["data"]] == MANY[:3]
    page2 = numbers(limit=3, starting_after=page1["data"][-1]["id"])
    assert [n["number"] for n in page2["data"]] == MANY[3:6]
    page3 = numbers(limit=3, starting_after=page2["data"][-1]["id"])
    assert [n["number"] for n in page3["data"]] == MANY[6:]
    back = numbers(limit=3, ending_before=page2["data"][0]["id"])
    assert [n["number"] for n in back["data"]] == MANY[:3]
    filtered = numbers(filter_number="55500")
    assert [n["number"] for n in filtered["data"]] == MANY
    assert [n["number"] for n in numbers(filter_number=MANY[4])["data"]] == [MANY[4]]
    assert_error(api.get("/purchased-phone-numbers", params={"limit": 51}), 400, "invalid-request-error")
