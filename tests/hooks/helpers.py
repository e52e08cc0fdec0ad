"""Small builders shared by the hook and provisioning tests."""

from __future__ import annotations

import time

from airflow_provider_daily.models import DialinProperties, DialinRoomNumber, RoomCreate, RoomProperties


def dialin_spec(name: str, *, hours: float = 2, number: str | None = None, display: str = "Board call") -> RoomCreate:
    numbers = [DialinRoomNumber(phone_number=number)] if number else None
    return RoomCreate(
        name=name,
        properties=RoomProperties(
            exp=int(time.time() + hours * 3600),
            eject_at_room_exp=True,
            dialin=DialinProperties(display_name=display, wait_for_meeting_start=True, room_numbers=numbers),
        ),
    )
