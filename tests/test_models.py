"""The API models: tolerated response variations (PIN and number shapes), PIN secrecy in reprs, dial strings."""

from __future__ import annotations

import pytest

from airflow_provider_daily.models import Room, dial_string, normalize_phone_number


def test_room_tolerates_documented_variations():
    room = Room.model_validate(
        {
            "name": "r",
            "config": {"dialin_code": 1234567898, "dialin_number": 12095038039, "brand_new_field": {"x": 1}},
            "something_new": True,
        }
    )
    assert room.pin == "01234567898", "an int PIN keeps 11 digits"
    assert room.dialin_number() == "+12095038039"
    assert room.model_dump()["something_new"] is True, "unknown fields are kept"
    assert room.config.model_dump()["brand_new_field"] == {"x": 1}
    assert "1234567898" not in repr(room)


def test_dialin_number_fallbacks():
    requested = Room.model_validate(
        {"name": "r", "config": {"dialin": {"room_numbers": [{"phone_number": "+1 (209) 555-0100"}]}}}
    )
    assert requested.dialin_number() == "+12095550100"
    odd = Room.model_validate({"name": "r", "config": {"dialin_number": "ask reception"}})
    assert odd.dialin_number() == "ask reception", "a number Daily reports oddly does not break parsing"
    bare = Room.model_validate({"name": "r", "config": {}})
    assert bare.dialin_number(fallback="12095038039") == "+12095038039"
    assert bare.dialin_number() is None


def test_dial_string_format():
    assert dial_string("12095038039", "12345678987") == "tel:+12095038039,,12345678987"
    with pytest.raises(ValueError, match="E.164"):
        normalize_phone_number("call me")


# -- secrets out of every repr ---------------------------------------------------------------------
PIN = "73519046281"
NUMBER = "+12095038039"
CALLER = "+4930123456789"
SECRET = "whsec-9f8e7d"


def _holders():
    """Every model or dataclass of the provider and the application that holds a PIN, a dial string,
    a token, a secret or a caller's number, built with those values."""
    from datetime import UTC, datetime

    from airflow_provider_daily.bulk import RoomOutcome
    from airflow_provider_daily.hooks.daily import EnsuredRoom
    from airflow_provider_daily.models import MeetingParticipant, Participant, RoomConfig
    from daily_dialin.calls.fold import _Session
    from daily_dialin.calls.receiver import ReceiverConfig
    from daily_dialin.calls.store import CallRow
    from daily_dialin.invitations.content import InviteContent
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.recording import Provisioned
    from daily_dialin.rows import MeetingRow

    at = datetime(2026, 1, 1, tzinfo=UTC)
    room = Room.model_validate(
        {"name": "mtg-M1", "config": {"dialin_code": PIN, "dialin_number": NUMBER, "sip_secret": SECRET}}
    )
    return {
        "Room": room,
        "RoomConfig": RoomConfig(dialin_code=PIN),
        "EnsuredRoom": EnsuredRoom(room=room, outcome="created"),
        "RoomOutcome": RoomOutcome(name="mtg-M1", outcome="created", room=room),
        "Participant": Participant.model_validate({"userName": CALLER, "userId": CALLER, "sip_from": CALLER}),
        "MeetingParticipant": MeetingParticipant.model_validate({"user_name": CALLER, "user_id": CALLER}),
        "Room with a token Daily added": Room.model_validate({"name": "r", "owner_token": SECRET}),
        "Provisioned": Provisioned(
            meeting_id="M1",
            room_name="mtg-M1",
            room_url=None,
            pin=PIN,
            number=NUMBER,
            dial_string=dial_string(NUMBER, PIN),
            room_exp=0,
            fingerprint="f",
        ),
        "MeetingRow": MeetingRow.from_record(
            {"meeting_id": "M1", "dialin_pin": PIN, "dial_string": dial_string(NUMBER, PIN), "host_token": SECRET},
            config=ProvisioningConfig(),
        ),
        "InviteContent": InviteContent(
            meeting_id="M1",
            room_name="mtg-M1",
            room_url="https://x.daily.co/mtg-M1",
            title="t",
            starts_at=at,
            ends_at=at,
            timezone="UTC",
            numbers=(),
            pin=PIN,
            wait_for_meeting_start=True,
            room_exp=0,
        ),
        "CallRow": CallRow(
            session_id="s",
            room="mtg-M1",
            meeting_id="M1",
            caller=CALLER,
            joined_at=at,
            left_at=None,
            duration_seconds=None,
            error=None,
        ),
        "calls._Session": _Session(room="mtg-M1", caller=CALLER),
        "ReceiverConfig": ReceiverConfig(secret=SECRET, prefix="mtg", store=None),
    }


@pytest.mark.parametrize("name", sorted(_holders()))
def test_no_pin_token_secret_or_caller_in_any_repr(name):
    """Issue 22 item 8: a PIN (or a dial string carrying it, a token, the webhook secret, a caller's
    number) never shows in a ``repr`` - logs and test failures print reprs."""
    shown = repr(_holders()[name])
    for secret in (PIN, SECRET, CALLER):
        assert secret not in shown, f"{name} shows {secret!r}: {shown}"


def test_fields_daily_adds_show_their_names_not_their_values():
    room = Room.model_validate({"name": "r", "config": {"sip_secret": SECRET}, "owner_token": SECRET})
    assert "extra_fields=['owner_token']" in repr(room) and "sip_secret" in repr(room.config)
    assert room.model_dump()["owner_token"] == SECRET, "kept for a read-modify-write"
