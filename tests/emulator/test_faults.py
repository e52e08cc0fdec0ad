"""Fault injection: each kind, scripted queue matching, seeded random faults, latency."""

from __future__ import annotations

import time

import pytest
import requests

from daily_emulator import FaultSettings
from tests.emulator.helpers import Api, assert_error, dialin_room

BROKEN = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


def test_scripted_429_with_retry_after(emu, api):
    emu.admin.script_faults([{"kind": "429", "method": "POST", "path": "/rooms", "retry_after": 1}])
    response = api.post("/rooms", {"name": "r"})
    assert_error(response, 429, "rate-limit-error")
    assert response.headers["Retry-After"] == "1"
    assert api.get("/rooms").json()["total_count"] == 0
    assert api.post("/rooms", {"name": "r"}).status_code == 200  # consumed
    assert emu.admin.counters()["faults"] == {"429": 1}


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_scripted_server_errors_are_not_applied(emu, api, kind):
    emu.admin.script_faults([{"kind": kind, "path": "/rooms"}])
    assert_error(api.post("/rooms", {"name": "r"}), int(kind), "server-error")
    assert_error(api.get("/rooms/r"), 404, "not-found")


def test_reset_breaks_connection_before_the_operation(emu, api):
    emu.admin.script_faults([{"kind": "reset", "method": "POST", "path": "/rooms"}])
    with pytest.raises(BROKEN):
        api.post("/rooms", {"name": "r"})
    assert_error(api.get("/rooms/r"), 404, "not-found")
    assert emu.admin.counters()["faults"] == {"reset": 1}


def test_lost_create_applies_then_breaks(emu, api):
    emu.admin.script_faults([{"kind": "lost_create", "method": "POST", "path": "/rooms"}])
    with pytest.raises(BROKEN):
        api.post("/rooms", dialin_room("lost"))
    room = api.get("/rooms/lost")
    assert room.status_code == 200
    assert room.json()["config"]["dialin_code"]
    body = assert_error(api.post("/rooms", dialin_room("lost")), 400, "invalid-request-error")
    assert body["info"] == "a room named lost already exists"
    assert emu.admin.counters()["faults"] == {"lost_create": 1}


def test_lost_create_on_batch(emu, api):
    emu.admin.script_faults([{"kind": "lost_create", "method": "POST", "path": "/batch/rooms"}])
    with pytest.raises(BROKEN):
        api.post("/batch/rooms", {"rooms": [{"name": "a"}, {"name": "b"}]})
    assert api.get("/rooms").json()["total_count"] == 2


def test_lost_create_elsewhere_acts_as_reset(emu, api):
    api.create_room(name="u")
    emu.admin.script_faults([{"kind": "lost_create", "method": "POST", "path": "/rooms/u"}])
    with pytest.raises(BROKEN):
        api.post("/rooms/u", {"privacy": "private"})
    assert api.get("/rooms/u").json()["privacy"] == "public"
    assert emu.admin.counters()["faults"] == {"reset": 1}


def test_hang_times_out_client(emu, api):
    emu.admin.configure(faults={"hang_seconds": 3})
    emu.admin.script_faults([{"kind": "hang", "path": "/rooms"}])
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        api.post("/rooms", {"name": "h"}, timeout=0.2)
    assert time.monotonic() - started < 2
    # A patient client sees the connection break when the hang ends; nothing was applied.
    emu.admin.script_faults([{"kind": "hang", "path": "/rooms", "hang_seconds": 0.2}])
    with pytest.raises(BROKEN):
        api.post("/rooms", {"name": "h"}, timeout=5)
    assert api.get("/rooms").json()["total_count"] == 0


def test_scripted_fault_matching_and_order(emu, api):
    api.create_room(name="x")
    emu.admin.script_faults(
        [
            {"kind": "500", "method": "DELETE", "path": "/rooms/x"},
            {"kind": "502", "method": "GET"},
            {"kind": "503"},
        ]
    )
    assert api.post("/rooms", {"name": "z"}).status_code == 503  # only the unrestricted one matches
    assert api.get("/rooms/x").status_code == 502
    assert api.get("/rooms/x").status_code == 200
    assert api.delete("/rooms/y").status_code == 404  # path differs
    assert api.delete("/rooms/x").status_code == 500
    assert api.delete("/rooms/x").status_code == 200
    assert emu.admin.queued_faults() == []


def test_clear_scripted_faults(emu, api):
    emu.admin.script_faults([{"kind": "500"}, {"kind": "500"}])
    assert len(emu.admin.queued_faults()) == 2
    emu.admin.clear_faults()
    assert api.get("/rooms").status_code == 200


def test_bad_scripted_fault_is_rejected(emu):
    with pytest.raises(requests.HTTPError):
        emu.admin.script_faults([{"kind": "teapot"}])


def test_auth_and_rate_limits_come_before_faults(emu):
    emu.admin.script_faults([{"kind": "500"}])
    assert Api(base_url=emu.base_url, key="nope").get("/rooms").status_code == 401
    emu.admin.configure(rate_limits={"default": [{"requests": 1, "per_seconds": 60}]})
    good = Api(base_url=emu.base_url)
    assert good.get("/rooms").status_code == 500
    assert good.get("/rooms").status_code == 429
    emu.admin.script_faults([{"kind": "503"}])
    assert good.get("/rooms").status_code == 429  # a rate-limited request does not consume faults
    assert len(emu.admin.queued_faults()) == 1


def _statuses(api, count):
    result = []
    for index in range(count):
        try:
            result.append(api.post("/rooms", {"name": f"s{index}"}).status_code)
        except BROKEN:
            result.append("broken")
    return result


def test_seeded_random_faults_are_reproducible(emu, api):
    faults = FaultSettings(seed=42, rate_429=0.2, rate_500=0.1, rate_503=0.1, rate_reset=0.1, rate_lost_create=0.1)
    emu.admin.configure(faults=faults)
    first = _statuses(api, 40)
    assert {429, 500, 503, "broken", 200} <= set(first)
    counters = emu.admin.counters()
    emu.admin.reset()  # re-seeds the fault generator
    assert _statuses(api, 40) == first
    assert emu.admin.counters()["faults"] == counters["faults"]
    emu.admin.reset()
    emu.admin.configure(faults={"seed": 7})
    assert _statuses(api, 40) != first


def test_random_fault_rates_apply(emu, api):
    emu.admin.configure(faults={"rate_500": 1.0})
    assert [api.get("/rooms").status_code for _ in range(5)] == [500] * 5
    emu.admin.configure(faults={"rate_500": 0.0})
    assert api.get("/rooms").status_code == 200


def test_fault_rates_must_not_exceed_one(emu):
    with pytest.raises(requests.HTTPError):
        emu.admin.configure(faults={"rate_500": 0.6, "rate_502": 0.6})


def test_latency(emu, api):
    emu.admin.configure(latency_ms=300)
    started = time.monotonic()
    api.get("/rooms")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    emu.admin.counters()  # admin calls have no latency
    assert time.monotonic() - started < 0.3
