"""POST /batch/rooms (all or nothing, up to 1000 rooms) and DELETE /batch/rooms."""

from __future__ import annotations

import re

import pytest

from tests.emulator.helpers import assert_error, dialin_room


def test_batch_creates_rooms_in_request_order(api):
    bodies = [dialin_room("b-1"), {"name": "b-2", "privacy": "private"}, dialin_room("b-3")]
    response = api.post("/batch/rooms", {"rooms": bodies})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data"}
    rooms = body["data"]
    assert [room["name"] for room in rooms] == ["b-1", "b-2", "b-3"]
    assert rooms[1]["privacy"] == "private"
    assert "dialin_code" not in rooms[1]["config"]
    pins = [rooms[0]["config"]["dialin_code"], rooms[2]["config"]["dialin_code"]]
    assert all(re.fullmatch(r"[1-9][0-9]{10}", pin) for pin in pins)
    assert pins[0] != pins[1]
    assert api.get("/rooms/b-3").json()["config"]["dialin_code"] == pins[1]


def test_batch_random_names(api):
    rooms = api.post("/batch/rooms", {"rooms": [{}, {}, {"name": "named"}]}).json()["data"]
    assert len({room["name"] for room in rooms}) == 3


def _assert_nothing_created(api):
    assert api.get("/rooms").json()["total_count"] == 0


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ({"name": "bad name"}, "rooms[1]"),
        ({"name": "p", "privacy": "hidden"}, "rooms[1]"),
        ({"name": "x", "properties": {"dialin": {}}}, "rooms[1] (x)"),
        ({"name": "y", "properties": {"exp": "soon"}}, "rooms[1] (y)"),
        ("not-an-object", "rooms[1]"),
    ],
)
def test_batch_one_bad_room_fails_all(api, bad, fragment):
    rooms = [{"name": "ok-0"}, bad, {"name": "ok-2"}]
    assert_error(api.post("/batch/rooms", {"rooms": rooms}), 400, "invalid-request-error", fragment)
    _assert_nothing_created(api)


def test_batch_names_the_first_offending_room(api):
    rooms = [{"name": "fine"}, {"name": "bad!"}, {"name": "fine"}]
    assert_error(api.post("/batch/rooms", {"rooms": rooms}), 400, "invalid-request-error", "rooms[1]")


def test_batch_duplicate_within_batch(api):
    rooms = [{"name": "twice"}, {"name": "other"}, {"name": "twice"}]
    body = assert_error(api.post("/batch/rooms", {"rooms": rooms}), 400, "invalid-request-error")
    assert body["info"] == "a room named twice already exists"
    _assert_nothing_created(api)


def test_batch_duplicate_of_live_room(api):
    api.create_room(name="live")
    body = assert_error(
        api.post("/batch/rooms", {"rooms": [{"name": "new"}, {"name": "live"}]}), 400, "invalid-request-error"
    )
    assert body["info"] == "a room named live already exists"
    assert api.get("/rooms").json()["total_count"] == 1


@pytest.mark.parametrize("rooms", [[], None, "rooms", {"name": "x"}])
def test_batch_rooms_must_be_a_non_empty_list(api, rooms):
    assert_error(api.post("/batch/rooms", {"rooms": rooms}), 400, "invalid-request-error")


def test_batch_limit_is_1000(api):
    too_many = [{"name": f"n{i}"} for i in range(1001)]
    assert_error(api.post("/batch/rooms", {"rooms": too_many}), 400, "invalid-request-error", "1000")
    _assert_nothing_created(api)
    response = api.post("/batch/rooms", {"rooms": too_many[:1000]})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 1000
    assert api.get("/rooms").json()["total_count"] == 1000


def test_batch_quota_covers_the_whole_batch(emu, api):
    emu.admin.configure(room_quota=3)
    api.create_room(name="first")
    rooms = [{"name": "a"}, {"name": "b"}, {"name": "c"}]
    assert_error(api.post("/batch/rooms", {"rooms": rooms}), 400, "invalid-request-error", "rooms reached")
    assert api.get("/rooms").json()["total_count"] == 1
    assert api.post("/batch/rooms", {"rooms": rooms[:2]}).status_code == 200


def test_batch_without_pins_then_update_issues_pin(emu, api):
    emu.admin.configure(batch_returns_pin=False)
    rooms = api.post("/batch/rooms", {"rooms": [dialin_room("np-1"), dialin_room("np-2")]}).json()["data"]
    for room in rooms:
        assert "dialin_code" not in room["config"]
        assert "dialin" in room["config"]
    assert "dialin_code" not in api.get("/rooms/np-1").json()["config"]
    # Updating another property does not issue a PIN; setting dialin does.
    assert "dialin_code" not in api.post("/rooms/np-1", {"properties": {"max_participants": 4}}).json()["config"]
    dialin = rooms[0]["config"]["dialin"]
    updated = api.post("/rooms/np-1", {"properties": {"dialin": dialin}}).json()
    assert re.fullmatch(r"[1-9][0-9]{10}", updated["config"]["dialin_code"])
    assert api.get("/rooms/np-1").json()["config"]["dialin_code"] == updated["config"]["dialin_code"]
    # Single creates still get a PIN.
    assert "dialin_code" in api.create_room(**dialin_room("single"))["config"]


def test_batch_delete(emu, api):
    api.post("/batch/rooms", {"rooms": [{"name": "d1"}, {"name": "d2"}, {"name": "d3"}]})
    response = api.delete("/batch/rooms", {"room_names": ["d1", "d3", "missing"]})
    assert response.json() == {"deleted_count": 2}
    assert [room["name"] for room in api.get("/rooms").json()["data"]] == ["d2"]
    assert_error(api.delete("/batch/rooms", {"room_names": "d2"}), 400, "invalid-request-error")
    assert emu.admin.counters()["rooms_deleted"] == 2
