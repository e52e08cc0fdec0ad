"""Property: whoever is in which room, whatever deletion is planned and whatever presence answers,
no live room is ever deleted without ``force_live``.

Each example, against the emulator over real HTTP (reset per example): a few dial-in rooms, random
people in them (web participants, phone callers who dial in with the room's PIN), people who join
right after the one ``GET /presence`` (between it and the per-room checks), random presence faults
(``GET /presence`` or one room's ``GET /rooms/:name/presence`` answering 500/429 past the retries),
and a random deletion plan (duplicates, unknown names, invalid names). Then
:class:`~airflow_provider_daily.bulk.BulkRoomDeleter` deletes it. Afterwards:

* without ``force_live``: every room someone was in when the deleter ran still exists, and is
  reported deferred - never deleted, never failed;
* every result is exactly one of deleted / deferred / failed, and a room reported deleted is gone;
* with no fault and nobody joining late, every empty planned room is deleted (the guard is no
  excuse for keeping rooms) - and with ``force_live``, every planned room is;
* presence adds at most 1 + the rooms to delete in API calls.

Deterministic unless ``PROPERTY_RANDOM=1``; ``PROPERTY_EXAMPLES`` (default 25) sets the examples.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from airflow_provider_daily.bulk import BulkRoomDeleter
from airflow_provider_daily.hooks.daily import DailyHook
from tests.hooks.helpers import dialin_spec
from tests.support.daily import PIN_NUMBER, daily_connection_uri

ROOMS = [f"pr-{i}" for i in range(6)]
CALLER = "+15550003333"
FAULTS = ("none", "global_500", "global_429", "room_503")

people = st.fixed_dictionaries({room: st.tuples(st.integers(0, 2), st.integers(0, 1)) for room in ROOMS})
plans = st.lists(st.sampled_from([*ROOMS, "pr-never", "bad name"]), max_size=10)


class World:
    """The emulator (reset per example) and a hook with quick retries."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def reset(self, present: dict[str, tuple[int, int]]) -> DailyHook:
        self.server.admin.reset()
        hook = DailyHook()
        hook.create_rooms_batch([dialin_spec(room, number=PIN_NUMBER) for room in ROOMS])
        for room, (web, phone) in present.items():
            self.fill(hook, room, web=web, phone=phone)
        return hook

    def fill(self, hook: DailyHook, room: str, *, web: int, phone: int) -> None:
        """``web`` people join ``room`` on the web, then ``phone`` callers dial in (a caller needs
        someone there: the rooms wait for the meeting to start)."""
        if not web and not phone:
            return
        admin = self.server.admin
        host = None if web else admin.join(room, user_name="host")
        for i in range(web):
            admin.join(room, user_name=f"web {i}")
        for _ in range(phone):
            call = admin.dial(number=PIN_NUMBER, pin=hook.get_room(room).pin, caller=CALLER)
            assert call["status"] == "connected", call
        if host is not None:
            admin.leave(room, host)  # only the callers stay

    def existing(self) -> set[str]:
        return {r["name"] for r in self.server.admin.snapshot()["rooms"] if not r.get("expired")}

    def fault(self, kind: str, room: str) -> None:
        admin = self.server.admin
        if kind == "global_500":
            admin.script_faults([{"kind": "500", "method": "GET", "path": "/presence"}] * 2)
        elif kind == "global_429":
            admin.script_faults([{"kind": "429", "method": "GET", "path": "/presence"}] * 2)
        elif kind == "room_503":
            admin.script_faults([{"kind": "503", "method": "GET", "path": f"/rooms/{room}/presence"}] * 2)


@pytest.fixture(scope="module")
def world(emulator_server):
    with pytest.MonkeyPatch.context() as mp:
        quick = {"max_attempts": 2, "retry_deadline": 2, "timeout": 2}
        mp.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator_server.base_url, **quick))
        yield World(emulator_server)
        emulator_server.admin.clear_faults()


EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "25"))


@settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("PROPERTY_RANDOM") != "1",
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    present=people,
    late=st.lists(st.sampled_from(ROOMS), max_size=2, unique=True),
    plan=plans,
    fault=st.sampled_from(FAULTS),
    faulty_room=st.sampled_from(ROOMS),
    force_live=st.booleans(),
)
def test_no_live_room_is_ever_deleted_without_force_live(
    world: World,
    present: dict[str, tuple[int, int]],
    late: list[str],
    plan: list[str],
    fault: str,
    faulty_room: str,
    force_live: bool,
) -> None:
    hook = world.reset(present)
    world.server.admin.clear_faults()
    world.fault(fault, faulty_room)
    joined: list[str] = []
    real = hook.get_presence

    def late_joiners(*args: Any, **kwargs: Any) -> Any:
        answer = real(*args, **kwargs)
        for room in late:  # Daily's state changes between the one GET /presence and the per-room checks
            world.fill(hook, room, web=1, phone=0)
            joined.append(room)
        return answer

    hook.get_presence = late_joiners  # type: ignore[method-assign]
    deleter = BulkRoomDeleter(hook=hook, force_live=force_live)
    results = deleter.delete(plan)
    live = {room for room, (web, phone) in present.items() if web or phone} | set(joined)
    existing = world.existing()
    note(f"live={sorted(live)} plan={plan} fault={fault}:{faulty_room} force={force_live} results={dict(results)}")

    planned = [name for name in dict.fromkeys(plan) if name != "bad name"]
    assert list(results) == list(dict.fromkeys(plan))
    for name in results:
        kinds = [name in results.deleted, name in results.deferred, name in results.failed]
        assert kinds.count(True) == 1, name
    assert set(results.deleted).isdisjoint(existing), "a room reported deleted is gone"
    if not force_live:
        for room in live & set(planned):
            assert room in existing, f"live room {room} deleted"
            assert room in results.deferred
    quiet = fault == "none" and not joined
    if quiet or force_live:
        assert set(results.deleted) == {name for name in planned if force_live or name not in live}
    presence_calls = deleter.calls["presence"] + deleter.calls["room_presence"]
    assert presence_calls <= 1 + len(planned)
