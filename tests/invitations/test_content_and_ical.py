"""What an invite says (read from a row) and how it is rendered as RFC 5545, parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daily_dialin.invitations.content import InviteContent, NotInvitable, zone
from daily_dialin.invitations.ical import render_cancellation, render_invite
from daily_dialin.invitations.manifest import Manifest, ManifestEntry
from daily_dialin.invitations.tokens import host_link
from tests.invitations.helpers import CA, OWN_NUMBER, PIN, START, US, meeting_row, parse, settings

STAMP = int(datetime(2026, 11, 27, 10, 0, tzinfo=UTC).timestamp())


def content(**changes) -> InviteContent:
    return InviteContent.from_row(meeting_row(**changes), settings=settings())


def test_content_from_row_in_the_meetings_zone():
    invite = content()
    assert invite.starts_at == START
    assert invite.starts_at.tzinfo == ZoneInfo("America/New_York")
    assert (invite.starts_at.hour, invite.ends_at.hour, invite.ends_at.minute) == (9, 10, 30)
    assert [n.number for n in invite.numbers] == [OWN_NUMBER, US, CA]
    assert PIN not in repr(invite), "the PIN stays out of repr"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"dialin_pin": None}, "not provisioned"),
        ({"room_url": None}, "not provisioned"),
        ({"timezone": "Mars/Olympus"}, "IANA"),
        ({"room_exp": None}, "room_exp"),
        ({"dialin_pin": "12ab"}, "not a PIN"),
    ],
)
def test_rows_that_are_not_invitable(changes, reason):
    with pytest.raises(NotInvitable, match=reason):
        content(**changes)


def test_pin_arriving_as_int_keeps_its_leading_zero():
    assert content(dialin_pin=int(PIN)).pin == PIN


def test_zone_lookups_are_cached():
    assert zone("Europe/Berlin") is zone("Europe/Berlin")


def test_attendee_file_parses_back_with_everything():
    invite = content()
    _, event = parse(render_invite(invite, settings=settings(), sequence=0, stamp=STAMP))
    assert event.start == invite.starts_at
    assert event.end == invite.ends_at
    assert str(event.start.tzinfo) == "America/New_York"
    assert event.get("DTSTART").params["TZID"] == "America/New_York"
    assert str(event["SUMMARY"]) == "Board call"
    assert str(event["LOCATION"]) == str(event["URL"]) == invite.room_url
    assert event["SEQUENCE"] == 0
    assert event.get("DTSTAMP").dt == datetime.fromtimestamp(STAMP, tz=UTC)
    assert str(event["UID"]) == "mtg-M1@acme.daily.co"
    description = str(event["DESCRIPTION"])
    assert f"PIN {PIN}" in description
    for number in (OWN_NUMBER, US, CA):
        assert f"tel:{number},,{PIN}" in description
    assert "+1 209-503-8039" in description
    assert "Tue 15 Dec 2026, 09:00-10:30 (America/New_York)" in description
    phones = {str(c.uri): c.label for c in event.conferences if "PHONE" in str(c.feature)}
    assert phones == {
        f"tel:{OWN_NUMBER},,{PIN}": "Dial-in",
        f"tel:{US},,{PIN}": "United States",
        f"tel:{CA},,{PIN}": "Canada",
    }
    assert "?t=" not in render_invite(invite, settings=settings(), sequence=0, stamp=STAMP).decode()


def test_calendar_carries_its_time_zone_and_method():
    calendar, _ = parse(render_invite(content(), settings=settings(), sequence=0, stamp=STAMP))
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert [str(tz["TZID"]) for tz in calendar.timezones] == ["America/New_York"]


def test_utc_meeting_is_written_in_utc():
    _, event = parse(render_invite(content(timezone="UTC"), settings=settings(), sequence=0, stamp=STAMP))
    assert event.start == START
    assert event.start.utcoffset() == timedelta(0)


def test_rendering_is_deterministic():
    a = render_invite(content(), settings=settings(), sequence=3, stamp=STAMP)
    b = render_invite(content(), settings=settings(), sequence=3, stamp=STAMP)
    assert a == b


def test_host_file_carries_the_link_and_its_own_uid():
    invite = content()
    link = host_link(invite.room_url, "header.payload.signature")
    data = render_invite(invite, settings=settings(), sequence=1, stamp=STAMP, host_link=link)
    _, event = parse(data)
    assert link == "https://acme.daily.co/mtg-M1?t=header.payload.signature"
    assert str(event["URL"]) == link
    assert link in str(event["DESCRIPTION"])
    assert str(event["UID"]) == "mtg-M1-host@acme.daily.co"
    assert str(event["SUMMARY"]) == "Board call (host)"
    assert event["SEQUENCE"] == 1
    assert f"tel:{US},,{PIN}" in str(event["DESCRIPTION"])


def test_organizer_and_uid_domain_settings():
    custom = settings(organizer_email="ops@example.com", organizer_name="Ops, Team", uid_domain="invites.example.com")
    invite = InviteContent.from_row(meeting_row(), settings=custom)
    _, event = parse(render_invite(invite, settings=custom, sequence=0, stamp=STAMP))
    assert str(event["ORGANIZER"]) == "mailto:ops@example.com"
    assert event["ORGANIZER"].params["CN"] == "Ops, Team"
    assert str(event["UID"]) == "mtg-M1@invites.example.com"


def test_fingerprint_changes_with_what_the_invite_shows():
    base = content().fingerprint(settings())
    assert content().fingerprint(settings()) == base
    assert content(start=START + timedelta(hours=1)).fingerprint(settings()) != base
    assert content(title="Renamed").fingerprint(settings()) != base
    assert content(dialin_pin="11111111111").fingerprint(settings()) != base
    no_globals = settings(global_numbers=[])
    assert InviteContent.from_row(meeting_row(), settings=no_globals).fingerprint(no_globals) != base
    assert content().fingerprint(settings(token_method="api")) == base, "the token method is not shown"


def test_cancellation_file():
    invite = content()
    entry = ManifestEntry(
        room_name=invite.room_name,
        state="cancelled",
        fingerprint="x",
        sequence=2,
        stamp=STAMP,
        title=invite.title,
        starts_at=invite.starts_at.astimezone(UTC),
        ends_at=invite.ends_at.astimezone(UTC),
        timezone=invite.timezone,
        room_url=invite.room_url,
        host_file=True,
    )
    calendar, event = parse(render_cancellation(entry, settings=settings()))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 2
    assert str(event["UID"]) == "mtg-M1@acme.daily.co"
    assert event.start == invite.starts_at
    assert str(event.start.tzinfo) == "America/New_York"
    assert PIN not in render_cancellation(entry, settings=settings()).decode()
    _, host = parse(render_cancellation(entry, settings=settings(), host=True))
    assert str(host["UID"]) == "mtg-M1-host@acme.daily.co"


def test_manifest_round_trip_is_stable():
    invite = content()
    entry = ManifestEntry(
        room_name=invite.room_name,
        state="active",
        fingerprint="abc",
        sequence=0,
        stamp=STAMP,
        title=invite.title,
        starts_at=invite.starts_at,
        ends_at=invite.ends_at,
        timezone=invite.timezone,
        room_url=invite.room_url,
    )
    manifest = Manifest(meetings={"M1": entry})
    again = Manifest.from_bytes(manifest.to_bytes())
    assert again == manifest
    assert again.to_bytes() == manifest.to_bytes()
    assert Manifest.from_bytes(None).meetings == {}


def test_content_keeps_the_exact_meeting_id():
    assert content(meeting_id=" M1 ").meeting_id == " M1 "


def test_title_shown_is_the_sanitised_meeting_title():
    invite = content(title="Board\x1b[31m call\x07\r\nQ4\x00")
    assert invite.title == "Board call Q4"
    _, event = parse(render_invite(invite, settings=settings(), sequence=0, stamp=STAMP))
    assert str(event["SUMMARY"]) == "Board call Q4"
