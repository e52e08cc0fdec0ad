from __future__ import annotations

import time

from airflow_provider_daily.models import DialinProperties, RoomCreate, RoomProperties


def test_smoke(hook):
    spec = RoomCreate(
        name="mtg-1",
        properties=RoomProperties(exp=int(time.time()) + 3600, dialin=DialinProperties(display_name="Board")),
    )
    ensured = hook.ensure_room(spec)
    assert ensured.outcome == "created"
    assert len(ensured.room.pin) == 11
    again = hook.ensure_room(spec)
    assert again.outcome == "reused"
    assert again.room.pin == ensured.room.pin
