"""Realistic sample meetings over the coming weeks, for the demo and the tests: one-off meetings
(:func:`sample_meetings`) and a weekly series whose occurrences share one room and PIN
(:func:`sample_series`); many weekly series at once for the scale benchmark (:func:`sample_series_set`).

Deterministic for a given ``seed`` and ``now``: the same rows every time, relative to today.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

from daily_dialin.provisioning.config import SOURCE_COLUMNS
from daily_dialin.provisioning.table import MeetingsTable

TEMPLATES: Sequence[tuple[str, str, int]] = (
    ("Board of directors call", "America/New_York", 90),
    ("Weekly engineering sync", "Europe/Berlin", 45),
    ("Customer onboarding: Contoso", "America/Chicago", 60),
    ("Quarterly business review", "Europe/London", 120),
    ("Support escalation bridge", "UTC", 30),
    ("Sales pipeline review", "America/Los_Angeles", 60),
    ("Design critique", "Europe/Paris", 60),
    ("All-hands", "America/New_York", 60),
    ("Vendor call: Initech", "Asia/Tokyo", 45),
    ("Incident retrospective", "Europe/Berlin", 60),
    ("Hiring committee", "America/Denver", 45),
    ("Investor update", "America/New_York", 30),
)

COLUMNS = SOURCE_COLUMNS
SERIES_ID = "WEEKLY-STANDUP"
MIN_DAYS = 4


def sample_meetings(
    *, count: int = 24, now: datetime | None = None, days: int = 28, seed: int = 7, pin_number: str | None = None
) -> list[dict[str, Any]]:
    """``count`` meetings on weekdays at business hours (UTC), every one starting in
    ``(now, now + days)`` whatever the weekday and hour of ``now``: each falls on a date from
    tomorrow to ``days - 1`` days ahead, and one that falls on a weekend moves to the Monday after,
    or back to the Friday before when the Monday would be too far. ``days`` must be at least 4
    (any three dates in a row hold a weekday)."""
    if days < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS}, got {days}")
    today = (now or datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rng = random.Random(seed)
    meetings = []
    for index in range(count):
        title, tz, minutes = TEMPLATES[index % len(TEMPLATES)]
        day = _weekday_within(today, 1 + (index * (days - 1)) // max(count, 1), last=days - 1)
        start = day.replace(hour=rng.choice((9, 11, 13, 14, 15, 16, 17)), minute=rng.choice((0, 30)))
        meetings.append(
            {
                "meeting_id": f"M{1000 + index}",
                "title": title,
                "starts_at": start,
                "ends_at": start + timedelta(minutes=minutes),
                "timezone": tz,
                "dialin_display_name": title if index % 3 else None,
                "wait_for_meeting_start": index % 4 != 3,
                "requested_phone_number": pin_number if pin_number and index % 5 == 0 else None,
                "status": "cancelled" if index == count - 2 else "scheduled",
            }
        )
    return meetings


def _weekday_within(today: datetime, offset: int, *, last: int) -> datetime:
    """Midnight of the date ``offset`` days after ``today``, moved off a weekend: to the Monday after
    when that is at most ``last`` days ahead, else to the Friday before (at least 1 day ahead)."""
    day = today + timedelta(days=offset)
    if day.weekday() < 5:
        return day
    monday = 7 - day.weekday()
    if offset + monday <= last:
        return day + timedelta(days=monday)
    return day - timedelta(days=day.weekday() - 4)


def sample_series(
    *, occurrences: int = 4, now: datetime | None = None, series_id: str = SERIES_ID
) -> list[dict[str, Any]]:
    """A weekly series: ``occurrences`` Monday stand-ups (ids ``S<n>``), one ``series_id``, so one
    room, one PIN and one dial string for all of them. The first is on the Monday after ``now``'s
    date (1 to 7 days ahead) at 08:30 UTC, so every occurrence starts in
    ``(now, now + 7 * occurrences + 1 days)`` whatever the weekday."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = now + timedelta(days=7 - now.weekday())
    return [
        {
            "meeting_id": f"S{100 + index}",
            "title": "Weekly stand-up",
            "starts_at": (start := monday + timedelta(weeks=index, hours=8, minutes=30)),
            "ends_at": start + timedelta(minutes=15),
            "timezone": "Europe/Berlin",
            "dialin_display_name": "Weekly stand-up",
            "wait_for_meeting_start": True,
            "requested_phone_number": None,
            "status": "scheduled",
            "series_id": series_id,
        }
        for index in range(occurrences)
    ]


def sample_series_set(
    *, series: int, occurrences: int, now: datetime | None = None, seed: int = 7
) -> list[dict[str, Any]]:
    """``series`` weekly series of ``occurrences`` each (series ``SERIES-<k>``, ids ``W<k>-<n>``):
    the first occurrences are :func:`sample_meetings` spread over the coming week (all
    ``scheduled``, the default number), each repeated a week apart: the first starts within 6 days
    of ``now`` whatever the weekday, so 50 weekly occurrences end within 350 days (inside Daily's 365)."""
    meetings = []
    for k, first in enumerate(sample_meetings(count=series, now=now, days=7, seed=seed)):
        for n in range(occurrences):
            shift = timedelta(weeks=n)
            meetings.append(
                {
                    **first,
                    "meeting_id": f"W{k:05d}-{n:03d}",
                    "starts_at": first["starts_at"] + shift,
                    "ends_at": first["ends_at"] + shift,
                    "status": "scheduled",
                    "series_id": f"SERIES-{k:05d}",
                }
            )
    return meetings


def insert_meetings(table: MeetingsTable, meetings: Sequence[dict[str, Any]]) -> int:
    """Insert rows (logical column names) into the table; timestamps bound as the dialect wants.
    ``series_id`` is written where the table has the column and a row sets it."""
    cols = table.cols
    columns = COLUMNS
    if table.has_series and any(meeting.get("series_id") is not None for meeting in meetings):
        columns = (*COLUMNS, "series_id")
    names = ", ".join(cols[c] for c in columns)
    sql = f"INSERT INTO {table.table} ({names}) VALUES ({', '.join([table.ph] * len(columns))})"
    rows = []
    for meeting in meetings:
        row = []
        for column in columns:
            value = meeting.get(column)
            if isinstance(value, datetime):
                value = table.ts(value)
            elif isinstance(value, bool) and table.is_sqlite:
                value = int(value)
            row.append(value)
        rows.append(tuple(row))
    with closing(table.hook.get_conn()) as conn:
        conn.cursor().executemany(sql, rows)
        conn.commit()
    return len(rows)
