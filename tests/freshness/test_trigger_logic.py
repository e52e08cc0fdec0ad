"""The watcher's own rules without a database: when it fires (token, re-fire back-off), how it rides
out failed polls, how it resumes from the asset state store, and that the triggerer can rebuild it
from its serialized form.

A stand-in ``poll`` replays a script of results; the table itself is in ``test_trigger_table.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from daily_dialin.freshness.trigger import STATE_KEY, FireGate, MeetingsTableTrigger, backoff_delay
from tests.freshness.conftest import Pump, recorded, run_async


@dataclass(frozen=True)
class StubWork:
    new: int = 0
    changed: int = 0
    cancelled: int = 0
    token: str = ""

    @property
    def any(self) -> bool:
        return bool(self.new or self.changed or self.cancelled)


NONE = StubWork(token="none")
A = StubWork(new=1, token="a")
B = StubWork(new=1, changed=1, token="b")


def scripted(trigger: MeetingsTableTrigger, script: list[Any]) -> None:
    """``trigger.poll`` returns (or raises) the script's items in turn, then repeats the last."""
    items: Iterator[Any] = iter(script)
    last: list[Any] = [NONE]

    def poll() -> Any:
        item = next(items, last[0])
        last[0] = item
        if isinstance(item, BaseException):
            raise item
        return item

    trigger.poll = poll  # type: ignore[method-assign]


def fast(**kwargs: Any) -> MeetingsTableTrigger:
    defaults = {"poll_seconds": 0.01, "refire_seconds": 60.0, "max_backoff_seconds": 0.05}
    return MeetingsTableTrigger(**{**defaults, **kwargs})


# -- the gate ------------------------------------------------------------------------------------
def test_gate_fires_once_per_token_and_refires_with_doubling_interval():
    gate = FireGate(refire_seconds=10, refire_max_seconds=35)
    assert gate.decide(token="a", pending=True, now=0)
    assert not gate.decide(token="a", pending=True, now=9.9)
    assert gate.decide(token="a", pending=True, now=10)  # re-fire 1 after 10 s
    assert not gate.decide(token="a", pending=True, now=29.9)
    assert gate.decide(token="a", pending=True, now=30)  # then after 20 s
    assert gate.interval() == 35  # 40, capped
    assert not gate.decide(token="a", pending=True, now=64.9)
    assert gate.decide(token="a", pending=True, now=65)
    assert gate.decide(token="b", pending=True, now=66)  # different work: at once, interval reset
    assert gate.interval() == 10


def test_gate_forgets_done_work_and_fires_when_a_clock_goes_back():
    gate = FireGate(refire_seconds=10, refire_max_seconds=100)
    assert gate.decide(token="a", pending=True, now=100)
    assert not gate.decide(token="x", pending=False, now=101)  # no work: nothing to fire, token forgotten
    assert gate.snapshot() is None
    assert gate.decide(token="a", pending=True, now=102)  # the same work again is news again
    assert gate.decide(token="a", pending=True, now=50)  # wall clock set back: do not wait for it


def test_gate_restores_only_a_well_formed_snapshot():
    gate = FireGate(refire_seconds=10, refire_max_seconds=100)
    for bad in (None, "a", {"work": 3}, {"work": "a", "fired_at": "x"}, {"work": "a", "refires": -1}):
        gate.restore(bad)
        assert gate.token is None, bad
    gate.restore({"work": "a", "fired_at": 5.0, "refires": 2})
    assert (gate.token, gate.fired_at, gate.refires, gate.interval()) == ("a", 5.0, 2, 40)
    assert FireGate(refire_seconds=10, refire_max_seconds=100, token="a", fired_at=5.0, refires=2).snapshot() == {
        "work": "a",
        "fired_at": 5.0,
        "refires": 2,
    }


def test_backoff_doubles_from_the_poll_interval_up_to_the_cap():
    delays = [backoff_delay(n, poll_seconds=10, max_backoff_seconds=300) for n in range(1, 8)]
    assert delays == [20, 40, 80, 160, 300, 300, 300]
    assert backoff_delay(10_000, poll_seconds=10, max_backoff_seconds=300) == 300


@pytest.mark.parametrize(
    "kwargs",
    [{"poll_seconds": 0}, {"poll_seconds": -1}, {"refire_seconds": float("nan")}, {"horizon_days": 0}],
)
def test_bad_settings_fail_when_the_dag_is_parsed(kwargs):
    with pytest.raises(ValueError, match="must be"):
        MeetingsTableTrigger(**kwargs)


# -- the loop, with a scripted poll ------------------------------------------------------------
def test_fires_for_new_work_not_again_for_the_same_token_and_again_for_new_work():
    trigger = fast()
    scripted(trigger, [NONE, NONE, A, A, A, A, B])
    log = recorded(trigger)

    async def scenario() -> None:
        async with Pump(trigger) as pump:
            first = await pump.next(2)
            assert first == {"work": "a", "new": 1, "changed": 0, "cancelled": 0, "refire": 0}
            second = await pump.next(2)
            assert second == {"work": "b", "new": 1, "changed": 1, "cancelled": 0, "refire": 0}
            assert await pump.quiet(0.2) == []  # b stays pending: not again within refire_seconds

    run_async(scenario())
    assert log.at("warning") == []
    assert len([line for line in log.at("info") if "firing" in line]) == 2


def test_refires_unchanged_work_after_the_refire_interval_doubling():
    trigger = fast(refire_seconds=0.2, refire_max_seconds=0.4)
    scripted(trigger, [A])
    recorded(trigger)

    async def scenario() -> list[tuple[float, int]]:
        loop = asyncio.get_running_loop()
        start, fired = loop.time(), []
        async with Pump(trigger) as pump:
            for _ in range(4):
                payload = await pump.next(2)
                fired.append((loop.time() - start, payload["refire"]))
        return fired

    fired = run_async(scenario())
    assert [refire for _, refire in fired] == [0, 1, 2, 3]
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(fired)]
    # 0.2 s, then 0.4 s (capped): never sooner; later only by what a busy machine adds
    assert 0.18 <= gaps[0] < 2 and gaps[1] >= 0.38 and gaps[2] >= 0.38, gaps


def test_an_outage_is_logged_once_backed_off_and_recovered_from_without_losing_the_work():
    outage = [ConnectionError("database is down")] * 6
    bad_variable = [ValueError("Variable 'daily_provisioning' is not valid JSON")] * 3
    trigger = fast()
    scripted(trigger, [NONE, *outage, A, A, *bad_variable, A, B])
    log = recorded(trigger)
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        # only the trigger's own waits: the pump and the event loop's helpers sleep too, and on a
        # busy machine their calls would interleave with the back-off being checked
        if sys._getframe(1).f_globals.get("__name__") == "daily_dialin.freshness.trigger":
            slept.append(seconds)
        await real_sleep(0)

    async def scenario() -> None:
        async with Pump(trigger) as pump:
            assert (await pump.next(2))["work"] == "a"  # the work waiting behind the outage
            assert (await pump.next(2))["work"] == "b"  # a was not fired again after the second failure
            assert await pump.quiet(0.05) == []

    asyncio.sleep = sleep  # type: ignore[assignment]
    try:
        run_async(scenario())
    finally:
        asyncio.sleep = real_sleep  # type: ignore[assignment]
    warnings = log.at("warning")
    assert len(warnings) == 2, warnings  # one per outage
    assert "ConnectionError: database is down" in warnings[0]
    assert "ValueError" in warnings[1]
    assert len([line for line in log.at("info") if "polling again" in line]) == 2
    assert slept[1:6] == [0.02, 0.04, 0.05, 0.05, 0.05]  # after the first poll: 0.01 * 2**n, capped at 0.05


def test_a_failure_of_another_kind_during_an_outage_is_logged_too():
    trigger = fast()
    scripted(trigger, [ConnectionError("down"), ConnectionError("down"), KeyError("x"), KeyError("x"), A])
    log = recorded(trigger)

    async def scenario() -> None:
        async with Pump(trigger) as pump:
            assert (await pump.next(3))["work"] == "a"

    run_async(scenario())
    assert [w.split(":")[1].strip() for w in log.at("warning")] == [
        "cannot poll (ConnectionError",
        "cannot poll (KeyError",
    ]


# -- resuming across instances (triggerer restart) -----------------------------------------------
class FakeStore:
    """The part of ``AssetStateStoreAccessors`` the trigger uses."""

    def __init__(self, values: dict[str, Any] | None = None, *, broken: bool = False) -> None:
        self.values = dict(values or {})
        self.broken = broken

    async def aget(self, key: str, default: Any = None) -> Any:
        if self.broken:
            raise RuntimeError("no state store")
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        if self.broken:
            raise RuntimeError("no state store")
        self.values[key] = value

    async def adelete(self, key: str) -> None:
        self.values.pop(key, None)


def test_a_new_instance_resumes_from_the_state_store_instead_of_firing_again():
    store = FakeStore()

    async def first_instance() -> None:
        trigger = fast()
        scripted(trigger, [A])
        recorded(trigger)
        trigger.asset_state_store = store
        async with Pump(trigger) as pump:
            assert (await pump.next(2))["work"] == "a"
            await pump.quiet(0.05)

    async def second_instance(script: list[Any]) -> list[Any]:
        trigger = fast()
        scripted(trigger, script)
        recorded(trigger)
        trigger.asset_state_store = store
        async with Pump(trigger) as pump:
            return await pump.quiet(0.15)

    run_async(first_instance())
    assert store.values[STATE_KEY]["work"] == "a"
    assert run_async(second_instance([A])) == []  # same work, fired already: wait for the re-fire interval
    assert [e["work"] for e in run_async(second_instance([B]))] == ["b"]
    run_async(second_instance([NONE]))
    assert STATE_KEY not in store.values  # work done: state cleared


def test_a_broken_state_store_changes_nothing_but_the_memory():
    trigger = fast()
    scripted(trigger, [A])
    log = recorded(trigger)
    trigger.asset_state_store = FakeStore(broken=True)

    async def scenario() -> None:
        async with Pump(trigger) as pump:
            assert (await pump.next(2))["work"] == "a"
            assert await pump.quiet(0.1) == []

    run_async(scenario())
    assert log.at("warning") == []


# -- serialization: what the DAG processor stores and the triggerer rebuilds ---------------------
def test_serialize_round_trip_through_airflows_trigger_encoding():
    import importlib

    from airflow.serialization.decoders import smart_decode_trigger_kwargs
    from airflow.serialization.encoders import encode_trigger
    from airflow.triggers.base import BaseEventTrigger

    trigger = MeetingsTableTrigger(
        config_overrides={"horizon_days": 3, "columns": {"status": "state"}},
        poll_seconds=5,
        look_ahead_hours=12,
        horizon_days=3,
        refire_seconds=120,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "daily_dialin.freshness.trigger.MeetingsTableTrigger"
    encoded = encode_trigger(trigger)
    assert encoded["classpath"] == classpath
    decoded = {k: smart_decode_trigger_kwargs(v) for k, v in encoded["kwargs"].items()}
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**decoded)
    assert rebuilt.serialize() == (classpath, kwargs)
    # the identity Airflow keeps the trigger row by: stable, and changed by any setting
    assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*rebuilt.serialize())
    assert BaseEventTrigger.hash(classpath, kwargs) != BaseEventTrigger.hash(
        *MeetingsTableTrigger(**{**kwargs, "poll_seconds": 6}).serialize()
    )


def test_the_trigger_module_costs_the_triggerer_nothing_beyond_the_trigger_base():
    import json
    import subprocess
    import sys

    code = (
        "import json, sys; import airflow.triggers.base; before = set(sys.modules); "
        "import daily_dialin.freshness.trigger; print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    added = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(added) <= {"daily_dialin", "daily_dialin.freshness", "daily_dialin.freshness.trigger"}, added
