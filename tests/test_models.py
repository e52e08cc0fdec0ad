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
