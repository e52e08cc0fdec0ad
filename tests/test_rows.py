"""The read model of a meetings-table row: the status rule, exact ids, secrets out of ``repr``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from daily_dialin.errors import BadMeetingRow
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import Meeting, needs_room, room_fingerprint
from daily_dialin.rows import MeetingRow, StatusKind, normalize_status, series_key

# the clock is frozen (time-machine) at NOW for every test here; the meeting starts 3 days later
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
START = NOW + timedelta(days=3)
PIN = "01234567890"
CONFIG = ProvisioningConfig()


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def values(**changes):
    base = {
        "meeting_id": "M1",
        "title": "Board call",
        "starts_at": f"{START:%Y-%m-%d %H:%M:%S}",
        "ends_at": f"{START + timedelta(hours=1):%Y-%m-%d %H:%M:%S}",
        "timezone": "Europe/Berlin",
        "dialin_display_name": None,
        "wait_for_meeting_start": 1,
        "requested_phone_number": None,
        "status": "scheduled",
        "room_name": "mtg-M1",
        "dialin_pin": f" {PIN} ",
        "provisioned_at": "2026-11-27 10:00:00",
        "room_fingerprint": None,
        "host_token": "eyJsecret.token.value",
    }
    return {**base, **changes}


def read(**changes) -> MeetingRow:
    return MeetingRow.from_record(values(**changes), config=CONFIG)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("scheduled", "scheduled"), (" Scheduled ", "scheduled"), ("SCHEDULED\t\n", "scheduled"), (None, ""), (7, "7")],
)
def test_normalize_status(raw, normalized):
    assert normalize_status(raw) == normalized


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (" Scheduled", StatusKind.PROVISIONABLE),
        ("CANCELED ", StatusKind.CANCELLED),
        ("Draft", StatusKind.IGNORED),
        ("postponed", StatusKind.UNKNOWN),
        (None, StatusKind.UNKNOWN),
        ("", StatusKind.UNKNOWN),
    ],
)
def test_statuses_are_classified_against_the_configured_lists(status, kind):
    row = read(status=status)
    assert row.status == normalize_status(status)
    assert row.status_kind is kind


def test_configured_statuses_follow_the_same_rule():
    config = ProvisioningConfig(provisionable_statuses=[" Live "], cancelled_statuses=["OFF"], ignored_statuses=[])
    assert config.provisionable_statuses == ["live"]
    kinds = [MeetingRow.from_record(values(status=s), config=config).status_kind for s in ("LIVE", "off", "scheduled")]
    assert kinds == [StatusKind.PROVISIONABLE, StatusKind.CANCELLED, StatusKind.UNKNOWN]


@pytest.mark.parametrize(("raw", "text"), [(" M1 ", " M1 "), ("M1", "M1"), (42, "42"), (None, "")])
def test_meeting_ids_are_exact_text(raw, text):
    assert read(meeting_id=raw).meeting_id == text


def test_secrets_stay_out_of_repr():
    row = read()
    assert PIN not in repr(row) and "eyJsecret" not in repr(row)
    assert "M1" in repr(row)


def test_pin_and_provisioned():
    assert read().pin == PIN
    assert read(dialin_pin="  ").pin is None
    assert read(dialin_pin=None).pin is None
    assert read().is_provisioned
    assert not read(provisioned_at="").is_provisioned
    assert not read(provisioned_at=None).is_provisioned


def test_fingerprint_and_needs_room_are_the_meetings_rules():
    row = read()
    assert row.fingerprint(CONFIG) == room_fingerprint(row.values, CONFIG)
    assert row.needs_room(CONFIG) is needs_room(row.values, CONFIG) is True, "no fingerprint stored yet"
    current = read(room_fingerprint=row.fingerprint(CONFIG))
    assert current.needs_room(CONFIG) is False
    assert current.needs_room(CONFIG, force=True) is True
    assert read(room_fingerprint=row.fingerprint(CONFIG), title="Moved").needs_room(CONFIG) is True


def test_meeting_is_parsed_and_cleaned():
    meeting = Meeting.from_row(read(title="Board\x1b[31m call\x00", meeting_id=" M1 "))
    assert (meeting.meeting_id, meeting.title, meeting.display_name) == (" M1 ", "Board call", "Board call")
    with pytest.raises(BadMeetingRow, match="timezone"):
        Meeting.from_row(read(timezone="Mars/Olympus"))


def test_rows_are_frozen_and_slotted():
    row = read()
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.meeting_id = "M2"  # type: ignore[misc]
    assert not hasattr(row, "__dict__")
    assert row.get("room_name") == "mtg-M1" and row.get("missing", "x") == "x"


def test_rows_are_built_from_records_with_their_status_kind():
    converted = MeetingRow.from_record(values(status=" Scheduled "), config=CONFIG)
    assert isinstance(converted, MeetingRow)
    assert converted.status_kind is StatusKind.PROVISIONABLE


def test_a_provisioned_rooms_repr_shows_no_pin():
    from daily_dialin.provisioning.table import Provisioned

    pin = "12345678901"
    room = Provisioned(
        meeting_id="M1",
        room_name="mtg-M1",
        room_url=None,
        pin=pin,
        number="+12095038039",
        dial_string=f"tel:+12095038039,,{pin}",
        room_exp=0,
        fingerprint="f",
    )
    assert pin not in repr(room) and "mtg-M1" in repr(room)


LONG_ID = "S" * 5000
NFC, NFD = "\u00dc-1", "U\u0308-1"  # one letter, two spellings: two series, as the database compares text


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        pytest.param(None, None, id="NULL: a one-off"),
        pytest.param("S1", "S1", id="text"),
        pytest.param(" S1 ", " S1 ", id="text, exact (never stripped)"),
        pytest.param(7, "7", id="integer: its CAST text"),
        pytest.param(LONG_ID, LONG_ID, id="very long: as it is (the room name hashes it)"),
        pytest.param(NFC, NFC, id="unicode NFC"),
        pytest.param(NFD, NFD, id="unicode NFD: not normalized"),
        pytest.param("", "problem", id="empty"),
        pytest.param(" ", "problem", id="blank"),
        pytest.param("\t\r\n", "problem", id="blank whitespace"),
        pytest.param(b"S1", "problem", id="bytes"),
        pytest.param(1.5, "problem", id="float"),
        pytest.param(True, "problem", id="bool"),
    ],
)
def test_one_series_key_rule_for_every_reader(raw, key):
    """Issue 22: four functions answered "which series is this row in" four ways (``" "``: error /
    True / ``" "`` / one-off; ``b"S1"``: error / True / ``"S1"`` / ``"b'S1'"``). One rule now
    (:func:`daily_dialin.rows.series_key`); the provisioning chunk delegates, the invitations read
    ``MeetingRow.series_key`` (their own ``invitations.series.series_key`` is gone)."""
    from daily_dialin.provisioning.series import row_key

    row = read(series_id=raw)
    problem = key == "problem"
    expected = None if problem else key
    answers = {
        "MeetingRow.series_key": row.series_key,
        "MeetingRow.in_series": row.in_series,
        "provisioning.series.row_key": row_key(row),
    }
    assert answers == {
        "MeetingRow.series_key": expected,
        "MeetingRow.in_series": expected is not None,
        "provisioning.series.row_key": expected,
    }
    assert (row.series_problem is not None) is problem
    if problem:
        with pytest.raises(ValueError, match="series_id"):
            row.series()
        with pytest.raises(ValueError, match="series_id"):
            series_key(raw)
    else:
        assert row.series() == series_key(raw) == expected


def test_a_series_problem_says_what_to_do():
    assert "leave it NULL for a one-off meeting" in read(series_id=" ").series_problem
    assert "store series ids as text" in read(series_id=b"S1").series_problem
    assert read(series_id=None).series_problem is None
    assert read().series_key is None  # a table without the column: every row is a one-off
