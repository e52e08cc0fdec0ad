"""The audit's series rule: rows may share a room and a PIN only as occurrences of one series, and
every occurrence is on its series' room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow_provider_daily.rooms import room_name_for, series_room_name_for
from tests.properties.audit import audit

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _row(meeting_id: str, room: str, pin: str, series: str | None = None) -> dict:
    start = NOW + timedelta(days=2)
    return {
        "meeting_id": meeting_id,
        "series_id": series,
        "status": "scheduled",
        "starts_at": f"{start:%Y-%m-%d %H:%M:%S}",
        "ends_at": f"{start + timedelta(hours=1):%Y-%m-%d %H:%M:%S}",
        "room_name": room,
        "room_url": f"https://x.daily.co/{room}",
        "dialin_pin": pin,
        "dialin_number": "+1",
        "dial_string": f"tel:+1,,{pin}",
        "provisioned_at": "2026-12-01 00:00:00",
        "room_exp": 1,
    }


def _room(name: str, pin: str) -> dict:
    return {"name": name, "url": f"https://x.daily.co/{name}", "config": {"dialin_code": pin, "exp": 1}}


def test_occurrences_of_one_series_may_share_its_room():
    room = series_room_name_for("W1", "mtg")
    rows = [_row("A", room, "11111111111", "W1"), _row("B", room, "11111111111", "W1")]
    assert audit(rows, [_room(room, "11111111111")], now=NOW).problems() == []


def test_a_meeting_on_a_series_room_or_two_series_on_one_room_is_flagged():
    room = series_room_name_for("W1", "mtg")
    rows = [_row("A", room, "11111111111", "W1"), _row("B", room, "11111111111", None)]
    found = audit(rows, [_room(room, "11111111111")], now=NOW)
    assert found.shared_rooms == [room] and found.shared_pins == 1
    assert ("'B'", "room name is not the one of this row's id") in found.mismatches


def test_an_occurrence_on_its_own_room_is_flagged():
    own = room_name_for("A", "mtg")
    found = audit([_row("A", own, "11111111111", "W1")], [_room(own, "11111111111")], now=NOW)
    assert ("'A'", "room name is not the one of this row's series") in found.mismatches
    assert found.orphans == []  # series rooms (mtg_s-) are of the prefix too
    stray = audit([], [_room(series_room_name_for("W9", "mtg"), "2")], now=NOW)
    assert stray.orphans == ["mtg_s-W9"]
