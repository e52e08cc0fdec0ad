"""Rows -> meetings -> room specs, and the reasons bad rows are refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daily_dialin.provisioning.config import ProvisioningConfig, check_identifier
from daily_dialin.provisioning.meetings import BadMeetingRow, Meeting, parse_utc, room_name_for

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def row(**overrides):
    base = {
        "meeting_id": "M1",
        "title": "Board call",
        "starts_at": START.strftime("%Y-%m-%d %H:%M:%S"),
        "ends_at": (START + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
        "timezone": "Europe/Berlin",
        "dialin_display_name": None,
        "wait_for_meeting_start": 1,
        "requested_phone_number": None,
        "status": "scheduled",
        "provisioned_at": None,
        "attempts": 0,
    }
    return {**base, **overrides}


def test_room_names_are_deterministic_and_valid():
    assert room_name_for("M1", "mtg") == "mtg-M1"
    odd = room_name_for("Q4 review/Ümlaut", "mtg")
    assert odd == room_name_for("Q4 review/Ümlaut", "mtg")
    assert odd.startswith("mtg-Q4-review-mlaut__")
    assert room_name_for("a b", "mtg") != room_name_for("a-b", "mtg"), "no two ids share a name"
    long = room_name_for("x" * 300, "mtg")
    assert len(long) <= 128


def test_spec_from_a_good_row():
    meeting = Meeting.from_row(row(requested_phone_number=12095550100))
    spec = meeting.room_spec(ProvisioningConfig(exp_grace_minutes=30))
    assert spec.name == "mtg-M1"
    assert spec.properties.exp == int((START + timedelta(hours=1, minutes=30)).timestamp())
    assert spec.properties.eject_at_room_exp is True
    assert spec.properties.dialin.display_name == "Board call", "display name defaults to the title"
    assert spec.properties.dialin.room_numbers[0].phone_number == "+12095550100"


def test_postgres_datetimes_and_text_booleans():
    meeting = Meeting.from_row(
        row(starts_at=START, ends_at=START + timedelta(minutes=5), wait_for_meeting_start="false")
    )
    assert meeting.wait_for_meeting_start is False
    assert meeting.starts_at == START


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"meeting_id": " "}, "meeting_id is empty"),
        ({"title": ""}, "title is empty"),
        ({"starts_at": "soon"}, "starts_at"),
        ({"ends_at": None}, "ends_at"),
        ({"ends_at": START.strftime("%Y-%m-%d %H:%M:%S")}, "not after starts_at"),
        ({"timezone": "Mars/Olympus"}, "IANA"),
        ({"requested_phone_number": "call me"}, "requested_phone_number"),
        ({"wait_for_meeting_start": "perhaps"}, "wait_for_meeting_start"),
        ({"dialin_display_name": "x" * 101}, "dialin_display_name"),
    ],
)
def test_bad_rows_name_the_reason(overrides, reason):
    with pytest.raises(BadMeetingRow, match=reason) as info:
        Meeting.from_row(row(**overrides))
    assert str(info.value).startswith("meeting ")


def test_meetings_too_far_or_over_are_refused():
    far = START + timedelta(days=400)
    meeting = Meeting.from_row(row(starts_at=far, ends_at=far + timedelta(hours=1)))
    with pytest.raises(BadMeetingRow, match="365 days"):
        meeting.room_spec(ProvisioningConfig())
    past = datetime.now(UTC) - timedelta(days=1)
    meeting = Meeting.from_row(row(starts_at=past, ends_at=past + timedelta(hours=1)))
    with pytest.raises(BadMeetingRow, match="already over"):
        meeting.room_spec(ProvisioningConfig(), now=time.time())


def test_identifiers_are_validated():
    assert check_identifier("meetings") == "meetings"
    assert check_identifier("ops.meetings", allow_schema=True) == "ops.meetings"
    for bad in ("meetings; DROP TABLE x", "1abc", "a b", "a.b.c"):
        with pytest.raises(ValueError, match="identifier"):
            check_identifier(bad, allow_schema=True)
    with pytest.raises(ValueError, match="unknown logical columns"):
        ProvisioningConfig(columns={"nope": "x"})
    with pytest.raises(ValueError, match="identifier"):
        ProvisioningConfig(table="meetings--")


# -- timestamps: the fast ISO path must read exactly what pendulum reads -------------------------
def _by_pendulum(text: str) -> datetime:
    parsed = pendulum.parse(text.strip(), tz="UTC", strict=False)
    return datetime.fromtimestamp(parsed.timestamp(), tz=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01 10:00:00",
        "2026-12-01T10:00:00",
        " 2026-12-01 10:00:00 ",
        "2026-12-01 10:00:00.5",
        "2026-12-01 10:00:00.123456",
        "2026-12-01 10:00:00Z",
        "2026-12-01 10:00:00+05:30",
        "2026-12-01T23:30:00-08:00",
        "9999-12-31 23:59:59",
        "0001-01-01 00:00:00",
    ],
)
def test_the_fast_timestamp_path_agrees_with_pendulum(text):
    assert parse_utc(text) == _by_pendulum(text)
    assert parse_utc(text).tzinfo is UTC


@settings(max_examples=300, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 31)),
    sep=st.sampled_from([" ", "T"]),
    fraction=st.booleans(),
    offset=st.sampled_from(["", "Z", "+00:00", "+05:30", "-08:00", "+14:00"]),
)
def test_the_fast_timestamp_path_agrees_with_pendulum_everywhere(instant, sep, fraction, offset):
    text = instant.isoformat(sep=sep, timespec="microseconds" if fraction else "seconds") + offset
    assert parse_utc(text) == _by_pendulum(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30 10:00:00",  # the fast path declines; pendulum words the refusal
        "2026-13-01 10:00:00",
        "2026-12-01 24:00:00",
        "2026-12-01",
        "2026-12-01 10:00",
        "2026-12-01 10:00:00.1234567",
        "\u0662\u0660\u0662\u0666-12-01 10:00:00",  # non-ASCII (Arabic-Indic) digits never take the fast path
    ],
)
def test_what_the_fast_path_declines_is_read_by_pendulum_as_before(text):
    try:
        expected: object = _by_pendulum(text)
    except Exception as exc:
        expected = (type(exc), str(exc))
    try:
        got: object = parse_utc(text)
    except Exception as exc:
        got = (type(exc), str(exc))
    assert got == expected


@pytest.mark.parametrize(
    ("display_name", "title", "expected_display", "expected_title"),
    [
        ("Bob\x00\x07\x1b[31mRED\r\nX", "Board call", "BobRED X", "Board call"),
        (None, "Board\x1b[1;31m call\x1b]0;pwned\x07\r\n\tQ4", "Board call Q4", "Board call Q4"),
        ("\x1b[0m\x00\x85\x9b2J ", "Sales\tsync", "Sales sync", "Sales sync"),
        ("  Alice   \x7f Smith ", "Board call", "Alice Smith", "Board call"),
        ("Zoë 会議 🎉", "Ünïcode", "Zoë 会議 🎉", "Ünïcode"),
    ],
)
def test_control_characters_and_escape_sequences_are_removed(display_name, title, expected_display, expected_title):
    meeting = Meeting.from_row(row(dialin_display_name=display_name, title=title))
    assert (meeting.display_name, meeting.title) == (expected_display, expected_title)
    spec = meeting.room_spec(ProvisioningConfig())
    assert spec.properties.dialin.display_name == expected_display


def test_a_title_of_control_characters_only_is_empty():
    with pytest.raises(BadMeetingRow, match="title is empty"):
        Meeting.from_row(row(title="\x1b[31m\x00\r\n"))


def test_lengths_are_checked_after_sanitising():
    meeting = Meeting.from_row(row(dialin_display_name="\x1b[31m" * 50 + "x" * 100))
    assert meeting.display_name == "x" * 100


def _fingerprint_before_0_2(row, config):
    """The fingerprint as 0.1 computed it (and as rows provisioned then store it)."""
    import hashlib

    from daily_dialin.provisioning.meetings import FINGERPRINT_COLUMNS

    parts = [
        *(row.get(column) for column in FINGERPRINT_COLUMNS),
        config.exp_grace_minutes,
        config.nbf_lead_minutes,
        config.eject_at_room_exp,
        config.privacy,
    ]
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


@pytest.mark.parametrize(
    "row",
    [
        {
            "starts_at": "2026-12-02 10:00:00",
            "ends_at": "2026-12-02 11:00:00",
            "title": "A",
            "wait_for_meeting_start": 1,
        },
        {
            "starts_at": None,
            "ends_at": "x",
            "title": "Bob\x00\x1b[31m",
            "dialin_display_name": "é",
            "requested_phone_number": 1,
        },
        {},
    ],
)
@pytest.mark.parametrize("settings", [{}, {"exp_grace_minutes": 5, "nbf_lead_minutes": 10, "privacy": "private"}])
def test_the_fingerprint_of_a_one_off_meeting_is_what_it_always_was(row, settings):
    """One implementation for dict rows and the plan's tuple path, equal to 0.1's formula: an
    upgrade never re-updates every provisioned room."""
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.meetings import FINGERPRINT_COLUMNS, fingerprint_of, room_fingerprint, settings_part

    config = ProvisioningConfig(**settings)
    expected = _fingerprint_before_0_2(row, config)
    assert room_fingerprint(row, config) == expected
    values = tuple(row.get(column) for column in FINGERPRINT_COLUMNS)
    assert fingerprint_of(values, None, settings_part(config)) == expected
    assert room_fingerprint({**row, "series_id": "S"}, config) != expected  # a series member: its own


# -- issue 21: beyond Daily's 365 days a meeting waits; one that lasts that long is a bad row -------
@pytest.mark.parametrize(
    ("start_days", "length_days", "expected"),
    [
        (400, 0.05, "wait"),  # too early: a later run provisions it
        (364.9, 0.05, "wait"),  # its end (plus grace) passes the 365 days
        (300, 0.05, "room"),
        (10, 400, "bad"),  # lasts over a year: no moment before its start fits
        (-30, 380, "room"),  # in progress, its end within 365 days of now
    ],
)
def test_a_meeting_beyond_the_365_days_waits_unless_it_could_never_fit(start_days, length_days, expected):
    from daily_dialin.provisioning.meetings import WAITING_PREFIX, WaitingForDailyWindow

    now = datetime(2027, 3, 12, 23, 30, tzinfo=UTC)  # an explicit now: no wall clock
    start = now + timedelta(days=start_days)
    end = start + timedelta(days=length_days)
    meeting = Meeting.from_row(row(starts_at=f"{start:%Y-%m-%d %H:%M:%S}", ends_at=f"{end:%Y-%m-%d %H:%M:%S}"))
    config = ProvisioningConfig()
    if expected == "room":
        assert meeting.room_spec(config, now=now.timestamp()).properties.exp
        return
    with pytest.raises(BadMeetingRow) as raised:
        meeting.room_spec(config, now=now.timestamp())
    waiting = isinstance(raised.value, WaitingForDailyWindow)
    assert waiting == (expected == "wait"), raised.value.reason
    assert raised.value.reason.startswith(WAITING_PREFIX) == waiting


def test_format_characters_never_reach_dailys_display_name():
    """Bidi overrides and isolates and zero-width characters are removed like control characters:
    invisible, and the bidi ones reorder what callers see next to the name (issue 22's probe)."""
    from daily_dialin.provisioning.meetings import clean_text

    assert clean_text("Board\u202e call\u200b \u2066x\u2069\ufeff") == "Board call x"
    assert clean_text("Zoë\u200d call") == "Zoë call"
    assert clean_text("Réunion d'équipe") == "Réunion d'équipe"
