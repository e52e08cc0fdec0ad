"""``batch_room_latency_ms``: ``POST /batch/rooms`` takes longer the more rooms it carries."""

from __future__ import annotations

import time

from tests.emulator.helpers import dialin_room


def _timed_batch(api, names: list[str]) -> float:
    started = time.monotonic()
    response = api.post("/batch/rooms", {"rooms": [dialin_room(name) for name in names]})
    assert response.status_code == 200, response.text
    return time.monotonic() - started


def test_batch_latency_grows_with_the_rooms_in_the_batch(emu, api):
    emu.admin.configure(batch_room_latency_ms=20)
    assert _timed_batch(api, [f"few-{i}" for i in range(2)]) < 0.3
    assert _timed_batch(api, [f"many-{i}" for i in range(20)]) >= 0.4  # 20 rooms x 20 ms
    started = time.monotonic()
    assert api.post("/rooms", {"name": "single"}).status_code == 200  # other endpoints: no per-room time
    assert time.monotonic() - started < 0.3
    assert emu.admin.settings()["batch_room_latency_ms"] == 20


def test_batch_latency_is_off_by_default(emu, api):
    assert emu.admin.settings()["batch_room_latency_ms"] == 0
    assert _timed_batch(api, [f"room-{i}" for i in range(50)]) < 1.0
