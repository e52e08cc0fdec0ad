"""The client-side pacer: under every documented window, at the configured share of the rate."""

from __future__ import annotations

import pytest

from airflow_provider_daily.pacing import Pacer, parse_rate_limits


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
