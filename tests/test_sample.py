"""The sample data (``daily_demo.sample``) lies where its callers count on it, whatever the date:
every one-off meeting and every series occurrence starts after ``now`` and within the promised
number of days, on every weekday and at every hour of ``now`` (explicit ``now`` values, no clock).
May import ``daily_demo`` and ``daily_devtools``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daily_demo.sample import MIN_DAYS, sample_meetings, sample_series, sample_series_set
from daily_devtools.audit import is_due

# a Monday; with the next 6 days it covers every weekday, at hours around midnight and business hours
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)
NOWS = [
    MONDAY + timedelta(days=d, hours=h, minutes=m) for d in range(7) for h, m in ((0, 0), (8, 59), (17, 30), (23, 45))
]
# and the dates the CI matrix runs at: US and EU DST changes, year end, before a leap day
NOWS += [
    datetime(2027, 3, 12, 23, 30, tzinfo=UTC),
    datetime(2027, 10, 29, 12, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 45, tzinfo=UTC),
    datetime(2028, 2, 28, 22, tzinfo=UTC),
]


def _label(now: datetime) -> str:
    return f"{now:%a %Y-%m-%d %H:%M}"


@pytest.mark.date_sensitive
@pytest.mark.parametrize("now", NOWS, ids=_label)
@pytest.mark.parametrize(("count", "days"), [(24, 28), (300, 28), (40, 28), (5, 7), (50, MIN_DAYS)])
def test_sample_meetings_start_within_days_of_now_on_weekdays(now: datetime, count: int, days: int) -> None:
    meetings = sample_meetings(count=count, now=now, days=days)
    assert len(meetings) == count
    for meeting in meetings:
        start = meeting["starts_at"]
        assert now < start <= now + timedelta(days=days), (meeting["meeting_id"], start)
        assert start.weekday() < 5, (meeting["meeting_id"], start)
        assert meeting["ends_at"] > start


@pytest.mark.date_sensitive
@pytest.mark.parametrize("now", NOWS, ids=_label)
def test_sample_meetings_are_due_by_the_audit_rule(now: datetime) -> None:
    """The guarantee harnesses count every sample meeting as due in a 30-day rolling run."""
    for meeting in sample_meetings(count=300, now=now, days=28):
        assert is_due(meeting, now=now, horizon_days=30), (meeting["meeting_id"], meeting["starts_at"])


@pytest.mark.date_sensitive
@pytest.mark.parametrize("now", NOWS, ids=_label)
def test_sample_series_starts_on_the_coming_mondays(now: datetime) -> None:
    series = sample_series(occurrences=4, now=now)
    starts = [row["starts_at"] for row in series]
    assert all(start.weekday() == 0 for start in starts)
    assert now < starts[0] <= now + timedelta(days=8)
    assert starts[-1] <= now + timedelta(days=4 * 7 + 1)
    assert all(is_due(row, now=now, horizon_days=30) for row in series)


@pytest.mark.date_sensitive
@pytest.mark.parametrize("now", NOWS, ids=_label)
def test_sample_series_set_stays_inside_dailys_365_days(now: datetime) -> None:
    rows = sample_series_set(series=20, occurrences=50, now=now)
    assert len(rows) == 1000
    for row in rows:
        assert now < row["starts_at"] < now + timedelta(days=350), (row["meeting_id"], row["starts_at"])


def test_sample_meetings_refuse_a_span_without_a_weekday() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        sample_meetings(count=3, now=MONDAY, days=3)
