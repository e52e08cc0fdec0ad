"""Rate limiting: token buckets per endpoint class, 429 rate-limit-error, counters."""

from __future__ import annotations

from daily_emulator import RateLimit
from daily_emulator.clock import Clock
from daily_emulator.ratelimit import RateLimiter
from tests.emulator.helpers import Api, assert_error


def test_bucket_needs_a_token_from_every_bucket():
    clock = Clock()
    limiter = RateLimiter(
        limits={"default": [RateLimit(requests=3, per_seconds=1), RateLimit(requests=4, per_seconds=10)]},
        clock=clock,
    )
    assert [limiter.try_acquire("default")[0] for _ in range(4)] == [True, True, True, False]
    clock.advance(1)  # the 3/s bucket refills, the 4-per-10 s bucket has one token left
    assert [limiter.try_acquire("default")[0] for _ in range(3)] == [True, False, False]
    allowed, wait = limiter.try_acquire("default")
    assert not allowed
    assert wait > 0
    assert limiter.try_acquire("other-class") == (True, 0.0)


def test_rejected_request_takes_no_token():
    clock = Clock()
    limiter = RateLimiter(
        limits={"default": [RateLimit(requests=1, per_seconds=1), RateLimit(requests=2, per_seconds=100)]},
        clock=clock,
    )
    assert limiter.try_acquire("default")[0]
    assert not limiter.try_acquire("default")[0]  # the 1/s bucket is empty: the 2-per-100 s one keeps its token
    clock.advance(1)
    assert limiter.try_acquire("default")[0]


def test_burst_beyond_default_limits_gets_429(emu, api):
    emu.admin.configure(
        rate_limits={"default": [{"requests": 20, "per_seconds": 1}, {"requests": 100, "per_seconds": 5}]}
    )
    statuses = [api.get("/rooms").status_code for _ in range(30)]
    assert statuses.count(200) >= 20
    assert statuses.count(429) >= 1
    assert set(statuses) == {200, 429}
    limited = api.get("/rooms")
    while limited.status_code != 429:
        limited = api.get("/rooms")
    assert_error(limited, 429, "rate-limit-error")
    counters = emu.admin.counters()
    assert counters["rate_limited"]["GET /rooms"] == statuses.count(429) + 1
    assert counters["requests"]["GET /rooms"] >= 31


def test_rate_limited_request_is_not_applied(emu, api):
    emu.admin.configure(rate_limits={"default": [{"requests": 1, "per_seconds": 60}]})
    assert api.post("/rooms", {"name": "one"}).status_code == 200
    assert_error(api.post("/rooms", {"name": "two"}), 429, "rate-limit-error")
    assert [room["name"] for room in emu.admin.snapshot()["rooms"]] == ["one"]


def test_delete_class_is_separate_and_stricter(emu, api):
    emu.admin.configure(
        rate_limits={
            "default": [{"requests": 50, "per_seconds": 60}],
            "delete": [{"requests": 2, "per_seconds": 60}],
        }
    )
    api.post("/batch/rooms", {"rooms": [{"name": f"d{i}"} for i in range(4)]})
    assert api.delete("/rooms/d0").status_code == 200
    assert api.delete("/rooms/d1").status_code == 200
    assert_error(api.delete("/rooms/d2"), 429, "rate-limit-error")
    assert api.get("/rooms/d2").status_code == 200  # the default class still has tokens
    # DELETE /batch/rooms is in the default class.
    assert api.delete("/batch/rooms", {"room_names": ["d2"]}).json() == {"deleted_count": 1}
    counters = emu.admin.counters()
    assert counters["rate_limited"] == {"DELETE /rooms/:name": 1}


def test_clock_advance_refills_buckets(emu, api):
    emu.admin.configure(rate_limits={"default": [{"requests": 1, "per_seconds": 30}]})
    assert api.get("/rooms").status_code == 200
    assert api.get("/rooms").status_code == 429
    emu.admin.advance_clock(30)
    assert api.get("/rooms").status_code == 200


def test_auth_errors_come_before_rate_limits(emu):
    emu.admin.configure(rate_limits={"default": [{"requests": 1, "per_seconds": 60}]})
    bad = Api(base_url=emu.base_url, key="nope")
    assert [bad.get("/rooms").status_code for _ in range(3)] == [401, 401, 401]
    assert Api(base_url=emu.base_url).get("/rooms").status_code == 200


def test_admin_api_is_not_rate_limited_or_counted(emu):
    emu.admin.configure(rate_limits={"default": [{"requests": 1, "per_seconds": 60}]})
    for _ in range(5):
        emu.admin.counters()
        emu.admin.snapshot()
    assert emu.admin.counters()["requests"] == {}


def test_retry_after_header_when_configured(emu, api):
    emu.admin.configure(rate_limits={"default": [{"requests": 1, "per_seconds": 60}]})
    api.get("/rooms")
    assert "Retry-After" not in api.get("/rooms").headers
    emu.admin.configure(faults={"retry_after": 3})
    assert api.get("/rooms").headers["Retry-After"] == "3"
