"""Shared helpers of the invitations tests: rows, settings, parsing files back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar

from daily_dialin.invitations.settings import InvitationSettings
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import room_exp_for
from daily_dialin.rows import MeetingRow

PIN = "01234567890"
OWN_NUMBER = "+12095550100"
US, CA = "+12095038039", "+12268078039"
START = datetime(2026, 12, 15, 14, 0, tzinfo=UTC)


def row(meeting_id: str = "M1", *, start: datetime = START, minutes: int = 90, **changes: Any) -> dict[str, Any]:
    """A provisioned row (logical column names), as the table returns it from SQLite."""
    end = start + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "meeting_id": meeting_id,
        "title": "Board call",
        "starts_at": f"{start:%Y-%m-%d %H:%M:%S}",
        "ends_at": f"{end:%Y-%m-%d %H:%M:%S}",
        "timezone": "America/New_York",
        "dialin_display_name": None,
        "wait_for_meeting_start": 1,
        "requested_phone_number": None,
        "status": "scheduled",
        "room_name": f"mtg-{meeting_id}",
        "room_url": f"https://acme.daily.co/mtg-{meeting_id}",
        "dialin_pin": PIN,
        "dialin_number": OWN_NUMBER,
        "dial_string": f"tel:{OWN_NUMBER},,{PIN}",
        "provisioned_at": "2026-11-27 10:00:00",
        "room_exp": room_exp_for(end, ProvisioningConfig()),
        "last_error": None,
        "attempts": 1,
    }
    values.update(changes)
    return values


def meeting_row(meeting_id: str = "M1", **changes: Any) -> MeetingRow:
    """:func:`row` read as the table hands rows to the invitations (default settings)."""
    return MeetingRow.from_record(row(meeting_id, **changes), config=ProvisioningConfig())


def settings(**values: Any) -> InvitationSettings:
    return InvitationSettings(**values)


def parse(data: bytes) -> tuple[Calendar, Any]:
    """The calendar and its one event."""
    calendar = Calendar.from_ical(data)
    events = calendar.events
    assert len(events) == 1
    return calendar, events[0]


# -- series: occurrences sharing one room, as the provisioning DAG writes them back ---------------
SERIES_ROOM = "mtg_s-S1"
WEEK = timedelta(days=7)


def series_rows(
    series_id: str = "S1",
    *,
    count: int = 4,
    start: datetime = START,
    every: timedelta = WEEK,
    minutes: int = 90,
    room_exp: int | None = None,
    **changes: Any,
) -> list[dict[str, Any]]:
    """``count`` provisioned occurrences ``<series>-<n>``, one room, one PIN; the room's exp covers
    the last one (or ``room_exp``)."""
    starts = [start + every * n for n in range(count)]
    room = f"mtg_s-{series_id}"
    exp = (
        room_exp
        if room_exp is not None
        else room_exp_for(starts[-1] + timedelta(minutes=minutes), ProvisioningConfig())
    )
    shared = {
        "series_id": series_id,
        "room_name": room,
        "room_url": f"https://acme.daily.co/{room}",
        "room_exp": exp,
        **changes,
    }
    return [row(f"{series_id}-{n}", start=s, minutes=minutes, **shared) for n, s in enumerate(starts)]
