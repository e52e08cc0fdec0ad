"""BulkRoomCreator against the emulator: isolation of bad rooms, reuse, quota, PIN fallback."""

from __future__ import annotations

import time

import pytest

from airflow_provider_daily.bulk import BulkRoomCreator
from tests.hooks.helpers import dialin_spec
from tests.support.daily import OTHER_NUMBER


def live_rooms(emulator) -> dict[str, dict]:
    return {r["name"]: r for r in emulator.admin.snapshot()["rooms"] if not r.get("expired")}


def test_one_batch_for_valid_rooms(hook, emulator):
    specs = [dialin_spec(f"ok-{i}") for i in range(40)]
    outcomes = BulkRoomCreator(hook=hook).ensure_rooms(specs)
    assert all(o.ok and o.outcome == "created" for o in outcomes.values())
    stored = live_rooms(emulator)
    assert {name: o.room.pin for name, o in outcomes.items()} == {
        name: r["config"]["dialin_code"] for name, r in stored.items()
    }
    assert emulator.admin.counters()["requests"] == {"POST /batch/rooms": 1}


def test_a_room_daily_refuses_fails_alone(hook, emulator):
    specs = [dialin_spec(f"r-{i}") for i in range(40)]
    specs[17] = dialin_spec("r-17", number=OTHER_NUMBER)  # purchased, but not on the PIN flow
    creator = BulkRoomCreator(hook=hook)
    outcomes = creator.ensure_rooms(specs)
    assert not outcomes["r-17"].ok
    assert OTHER_NUMBER in outcomes["r-17"].error
    assert "Daily refused room r-17" in outcomes["r-17"].error
    assert sum(o.ok for o in outcomes.values()) == 39
    assert set(live_rooms(emulator)) == {s.name for s in specs} - {"r-17"}
    batches = emulator.admin.counters()["requests"]["POST /batch/rooms"]
    assert batches <= 2 * 6 + 1, f"bisection, not one call per room ({batches})"


def test_locally_invalid_room_fails_without_a_call(hook, emulator):
    specs = [dialin_spec("good"), dialin_spec("too-late", hours=366 * 24)]
    outcomes = BulkRoomCreator(hook=hook).ensure_rooms(specs)
    assert outcomes["good"].ok
    assert "365 days" in outcomes["too-late"].error
    assert emulator.admin.counters()["requests"] == {"POST /batch/rooms": 1}


@pytest.mark.parametrize("count", [10, 40])
def test_rooms_that_already_exist_are_reused(hook, emulator, count):
    """A task retried after a crash before write-back: every room exists already."""
    specs = [dialin_spec(f"again-{i}") for i in range(count)]
    first = BulkRoomCreator(hook=hook).ensure_rooms(specs)
    again = BulkRoomCreator(hook=hook).ensure_rooms(specs)
    assert {o.outcome for o in again.values()} == {"reused"}
    assert {n: o.room.pin for n, o in again.items()} == {n: o.room.pin for n, o in first.items()}
    assert emulator.admin.counters()["rooms_created"] == count


def test_mix_of_existing_and_new_rooms(hook, emulator):
    specs = [dialin_spec(f"mix-{i}") for i in range(30)]  # one exp for both calls: a new second is no drift
    BulkRoomCreator(hook=hook).ensure_rooms(specs[:10])
    specs[3] = _renamed(specs[3])
    outcomes = BulkRoomCreator(hook=hook).ensure_rooms(specs)
    kinds = [outcomes[f"mix-{i}"].outcome for i in range(30)]
    assert kinds == ["reused"] * 3 + ["updated"] + ["reused"] * 6 + ["created"] * 20
    assert live_rooms(emulator)["mix-3"]["config"]["dialin"]["display_name"] == "Renamed"
    assert emulator.admin.counters()["rooms_created"] == 30


def test_quota_creates_what_fits_then_stops(hook, emulator):
    emulator.admin.configure(room_quota=5)
    specs = [dialin_spec(f"q-{i}") for i in range(12)]
    outcomes = BulkRoomCreator(hook=hook).ensure_rooms(specs)
    created = [n for n, o in outcomes.items() if o.ok]
    assert len(created) == 5
    failed = [o for o in outcomes.values() if not o.ok]
    assert len(failed) == 7
    assert all("quota reached" in o.error for o in failed)
    assert emulator.admin.counters()["requests"]["POST /batch/rooms"] <= 8


def test_batch_without_pin_gets_one_through_update(hook, emulator):
    emulator.admin.configure(batch_returns_pin=False)
    outcomes = BulkRoomCreator(hook=hook).ensure_rooms([dialin_spec(f"np-{i}") for i in range(4)])
    assert all(o.ok and len(o.room.pin) == 11 for o in outcomes.values())
    assert emulator.admin.counters()["requests"]["POST /rooms/:name"] == 4


def test_lost_batch_response_makes_no_duplicate(hook, emulator):
    emulator.admin.script_faults([{"kind": "lost_create", "method": "POST", "path": "/batch/rooms"}])
    specs = [dialin_spec(f"lost-{i}") for i in range(30)]
    outcomes = BulkRoomCreator(hook=hook).ensure_rooms(specs)
    stored = live_rooms(emulator)
    assert len(stored) == 30
    assert all(o.ok and o.room.pin == stored[n]["config"]["dialin_code"] for n, o in outcomes.items())
    assert emulator.admin.counters()["rooms_created"] == 30


def test_duplicate_names_in_one_call_fail_alone(hook, emulator):
    """Two requests for one room never share it: both fail with the reason, their neighbour is made."""
    outcomes = BulkRoomCreator(hook=hook).ensure_rooms([dialin_spec("same"), dialin_spec("other"), dialin_spec("same")])
    assert "requested more than once" in outcomes["same"].error
    assert outcomes["other"].ok
    assert set(live_rooms(emulator)) == {"other"}


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_full_batch_is_sent_before_the_next_spec_is_built(hook, emulator, concurrency):
    """Specs are read lazily: the caller's building of batch k+1 overlaps batch k's call (issue 8)."""
    seen_by_daily: list[int] = []

    def specs():
        for i in range(12):
            if i % 4 == 0 and i:
                deadline = time.monotonic() + 10
                while emulator.admin.counters()["requests"].get("POST /batch/rooms", 0) < i // 4:
                    assert time.monotonic() < deadline, f"batch {i // 4} was not sent before spec {i} was asked for"
                    time.sleep(0.01)
                seen_by_daily.append(i)
            yield dialin_spec(f"lazy-{i:02d}")

    outcomes = BulkRoomCreator(hook=hook, batch_size=4, concurrency=concurrency).ensure_rooms(specs())
    assert all(o.ok for o in outcomes.values()) and len(outcomes) == 12
    assert seen_by_daily == [4, 8]
    assert emulator.admin.counters()["requests"] == {"POST /batch/rooms": 3}


@pytest.mark.parametrize("per_room", [False, True])
def test_concurrent_calls_make_each_room_once(hook, emulator, per_room):
    """Several calls in flight (batches, or single creates) under faults: one room per name."""
    emulator.admin.configure(faults={"rate_503": 0.1, "rate_lost_create": 0.1, "seed": 3})
    specs = [dialin_spec(f"c{i:03d}") for i in range(60)]
    creator = BulkRoomCreator(hook=hook, batch_size=7, concurrency=4, per_room=per_room)
    outcomes = creator.ensure_rooms(specs)
    assert all(o.ok and o.room.pin for o in outcomes.values())
    rooms = live_rooms(emulator)
    assert set(rooms) == {s.name for s in specs}
    assert {o.room.pin for o in outcomes.values()} == {r["config"]["dialin_code"] for r in rooms.values()}
    assert creator.calls["single" if per_room else "batch"] >= (60 if per_room else 9)


@pytest.mark.parametrize("count", [10, 40])
def test_reuse_of_a_room_in_hand_makes_no_second_get(hook, emulator, count):
    """A name clash looks each room up once (GET per name, or one listing above 25 names); a drifted
    room is then updated from the room in hand, never fetched again (issue "Shape", item 5)."""
    first = [dialin_spec(f"hand-{i}") for i in range(count)]
    BulkRoomCreator(hook=hook).ensure_rooms(first)
    drifted = {"hand-1", "hand-4", "hand-7"}
    specs = [  # the same exp as before (dialin_spec's moves with the clock), another name shown for three
        spec.model_copy(deep=True) if spec.name not in drifted else _renamed(spec) for spec in first
    ]
    before = emulator.admin.counters()["requests"]
    outcomes = BulkRoomCreator(hook=hook).ensure_rooms(specs)
    after = emulator.admin.counters()["requests"]
    assert {n for n, o in outcomes.items() if o.outcome == "updated"} == drifted
    assert all(o.ok for o in outcomes.values())
    gets = after.get("GET /rooms/:name", 0) - before.get("GET /rooms/:name", 0)
    assert gets == (count if count <= 25 else 0), "one lookup per room at most, none after a listing"
    assert after.get("POST /rooms/:name", 0) - before.get("POST /rooms/:name", 0) == len(drifted)
    stored = live_rooms(emulator)
    assert {n: o.room.pin for n, o in outcomes.items()} == {n: r["config"]["dialin_code"] for n, r in stored.items()}


def _renamed(spec):
    renamed = spec.model_copy(deep=True)
    renamed.properties.dialin.display_name = "Renamed"
    return renamed
