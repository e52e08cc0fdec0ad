"""Model tolerance (PIN and number shapes), PIN secrecy in reprs, and the client pacer."""

from __future__ import annotations

import pytest

from airflow_provider_daily.models import Room, dial_string, normalize_phone_number
from airflow_provider_daily.pacing import Pacer, parse_rate_limits


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


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_pacer_stays_under_every_window():
    clock = FakeClock()
    pacer = Pacer(limits=[(20, 1.0), (100, 5.0)], safety=0.9, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(400):
        pacer.acquire()
        stamps.append(clock.now)
    for width, limit in ((1.0, 20), (5.0, 100)):
        worst = max(sum(1 for t in stamps if start <= t < start + width) for start in stamps)
        assert worst <= limit, f"{worst} requests in {width}s"
    # 90 % of the rate exactly: 18 a second, request #400 leaves at about 399 / 18 s
    assert stamps[-1] == pytest.approx(399 / 18, abs=1.2), "and it is not slower than it must be"


def test_pacer_reaches_the_configured_share_of_the_rate():
    for safety, share in ((0.97, 1.0), (0.97, 0.5), (1.0, 0.25)):
        clock = FakeClock()
        pacer = Pacer(limits=[(20, 1.0), (100, 5.0)], safety=safety, share=share, clock=clock, sleep=clock.sleep)
        stamps = []
        for _ in range(1000):
            pacer.acquire()
            stamps.append(clock.now)
        rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
        assert rate == pytest.approx(20 * safety * share, rel=0.03)
        for width, limit in ((1.0, 20 * share), (5.0, 100 * share)):
            worst = max(sum(1 for t in stamps if start <= t < start + width) for start in stamps)
            assert worst <= limit, f"{worst} requests in {width}s: one client never bursts above its share"


def test_rate_limit_settings_are_checked():
    assert parse_rate_limits({"default": [[40, 1]]})["default"] == [(40, 1.0)]
    assert parse_rate_limits(None)["delete"] == [(2, 1.0), (50, 30.0)]
    for bad in ({"default": []}, {"default": [[0, 1]]}, {"default": [[1]]}):
        with pytest.raises(ValueError, match="rate_limits"):
            parse_rate_limits(bad)
