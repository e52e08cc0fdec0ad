"""One scheduled meeting: parsed and validated from a source-table row, turned into a room spec.

The rules that make a room from a meeting live here, each once:

* :func:`room_name_for` - the room name, the idempotency key: **injective**, so two meetings can
  never share a room (and so a PIN) - unless they share a ``series_id``: then
  :func:`series_room_name_for` names their one room (another namespace, injective too), and
  :func:`~daily_dialin.rows.series_key` (the one rule, on the ground floor) says which series a
  row belongs to;
* :func:`room_exp_for` - the room's lifetime: the meeting's end plus the grace period;
* :func:`~daily_dialin.rows.room_fingerprint` (on the ground floor, re-exported here) - what a
  room was built from, so a later run sees any change of a room-relevant field (start, end,
  display name, wait flag, requested number, settings) and updates the room (same room, same PIN);
* :meth:`Meeting.from_row` / :meth:`Meeting.room_spec` - a row that cannot become a valid dial-in
  room raises :class:`BadMeetingRow` naming the meeting and the reason, whatever the bad value
  was: one row never fails more than its own meeting;
* :func:`~airflow_provider_daily.text.clean_text` (the provider's one text rule, re-exported
  here) - the text a title or display name may carry: this is the one place a row becomes a
  :class:`Meeting`, so what reaches Daily (``properties.dialin.display_name``) and the invitations
  (the title) is cleaned here, once - for one-off meetings and series alike; the provider's
  ``DailyCreateDialinRoomOperator`` applies the same rule.

Rows are read through :class:`daily_dialin.rows.MeetingRow`; :meth:`Meeting.from_row` parses one
(or any mapping of logical column names).

May import: the provider (``airflow_provider_daily``), ``daily_dialin.errors``,
``daily_dialin.provisioning.config`` and the ground floor ``daily_dialin.rows``.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pendulum

from airflow_provider_daily.models import (
    DialinProperties,
    DialinRoomNumber,
    RoomCreate,
    RoomProperties,
    normalize_phone_number,
)
from airflow_provider_daily.rooms import latest_allowed_exp, room_name_for, series_room_name_for
from airflow_provider_daily.text import clean_text
from daily_dialin.errors import BadMeetingRow
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.rows import (  # the row rules live on the ground floor; re-exported for older imports
    FINGERPRINT_COLUMNS,
    MeetingRow,
    fingerprint_of,
    id_text,
    needs_room,
    room_fingerprint,
    series_key,
    settings_part,
)

__all__ = [
    "FINGERPRINT_COLUMNS",
    "WAITING_PREFIX",
    "BadMeetingRow",
    "Meeting",
    "WaitingForDailyWindow",
    "beyond_daily_window",
    "clean_text",
    "fingerprint_of",
    "id_text",
    "needs_room",
    "parse_utc",
    "room_exp_for",
    "room_fingerprint",
    "room_name_for",
    "series_key",
    "series_room_name_for",
    "settings_part",
]

MAX_TITLE = 200
MAX_DISPLAY_NAME = 100


def room_exp_for(ends_at: datetime, config: ProvisioningConfig) -> int:
    """The room's ``exp`` (unix seconds): the meeting's end plus the grace period."""
    return int(ends_at.timestamp()) + 60 * config.exp_grace_minutes


# the reason (last_error) of a meeting whose room Daily would refuse for now: it waits, never fails
WAITING_PREFIX = "waiting: beyond Daily's 365 days: "


class WaitingForDailyWindow(BadMeetingRow):
    """The meeting's room would expire 365 days or more from now (:func:`beyond_daily_window`):
    nothing is wrong with the row, it is too early. Whichever run selects it records the reason
    without counting an attempt, and a later run provisions it once it is within reach."""


def beyond_daily_window(exp: int, now: float) -> bool:
    """Whether a room with ``exp`` is beyond what Daily allows now (its 365 days,
    :func:`~airflow_provider_daily.rooms.latest_allowed_exp`): the one rule of one-off meetings,
    the same bound series occurrences wait for (:func:`.series.cap_ends_by`)."""
    return exp > latest_allowed_exp(now)


def parse_utc(value: Any) -> datetime:
    """A DB value (datetime, or text from SQLite) -> aware UTC datetime. Naive means UTC.

    Refuses anything that is not one instant: durations (``P1D``), bare dates or times, epoch
    numbers, free text."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value.strip():
        dt = _parse_text(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value!r} is a number; store a timestamp (YYYY-MM-DD HH:MM:SS, UTC)")
    else:
        raise ValueError(f"{value!r} is not a timestamp")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return datetime.fromtimestamp(dt.timestamp(), tz=UTC)


# ``YYYY-MM-DD HH:MM:SS`` (or ``T``), optional fraction, optional ``Z``/offset: what a SQLite
# table holds. ``datetime.fromisoformat`` reads these about 3x faster than ``pendulum.parse``
# (1.9 vs 5.4 us a value here; two values a meeting); anything else goes to pendulum, as before.
_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?", re.ASCII)


def _parse_text(value: str) -> datetime:
    """Text that is not blank: the fast ISO path (:func:`_iso_instant`), else pendulum, which must
    find one instant (not a date, a time or a duration)."""
    text = value.strip()
    fast = _iso_instant(text)
    if fast is not None:
        return fast
    parsed = pendulum.parse(text, tz="UTC", strict=False)
    if not isinstance(parsed, datetime):
        kind = "a date without a time" if isinstance(parsed, date) else f"a {type(parsed).__name__.lower()}"
        raise ValueError(f"{value!r} is {kind}, not a timestamp")
    return parsed


def _iso_instant(text: str) -> datetime | None:
    if not _ISO_INSTANT.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # a month 13, a day 31 of a 30-day month, ...: pendulum words the error
        return None


@functools.lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    # pendulum.timezone() re-reads tzdata once more than 8 zones alternate (zoneinfo's small
    # cache): remember the answer per name instead.
    try:
        pendulum.timezone(name)
    except Exception:
        return False
    return True


def as_bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes", "y"):
        return True
    if text in ("0", "false", "f", "no", "n"):
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _texts(row: Mapping[str, Any], bad: Callable[[str], BadMeetingRow]) -> tuple[str, str]:
    """Title and display name, cleaned (:func:`clean_text`), then checked for length."""
    title = clean_text(row.get("title"))
    if not title:
        raise bad("title is empty")
    if len(title) > MAX_TITLE:
        raise bad(f"title is longer than {MAX_TITLE} characters")
    # cleaned to nothing (only control characters, say): the title's start, like an empty one
    display = clean_text(row.get("dialin_display_name")) or title[:MAX_DISPLAY_NAME]
    if len(display) > MAX_DISPLAY_NAME:
        raise bad(f"dialin_display_name is longer than {MAX_DISPLAY_NAME} characters")
    return title, display


def _times(row: Mapping[str, Any], bad: Callable[[str], BadMeetingRow]) -> tuple[datetime, datetime]:
    """Start and end, as aware UTC datetimes, the end after the start."""
    times = {}
    for column in ("starts_at", "ends_at"):
        try:
            times[column] = parse_utc(row.get(column))
        except (ValueError, TypeError, OverflowError) as exc:
            raise bad(f"{column}: {exc}") from None
    starts_at, ends_at = times["starts_at"], times["ends_at"]
    if ends_at <= starts_at:
        raise bad(f"ends_at ({ends_at:%Y-%m-%d %H:%M}) is not after starts_at ({starts_at:%Y-%m-%d %H:%M})")
    return starts_at, ends_at


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    display_name: str
    wait_for_meeting_start: bool
    requested_phone_number: str | None

    @classmethod
    def from_row(cls, row: MeetingRow | Mapping[str, Any]) -> Meeting:
        """Parse a row (a :class:`~daily_dialin.rows.MeetingRow`, or a mapping keyed by logical
        column names); raise :class:`BadMeetingRow` for any bad value.

        Title and display name are cleaned (:func:`clean_text`) before their lengths are checked;
        a display name that is empty after cleaning falls back to the title."""
        row = row.values if isinstance(row, MeetingRow) else row
        meeting_id = id_text(row.get("meeting_id"))
        try:
            return cls._parse(meeting_id, row)
        except BadMeetingRow:
            raise
        except Exception as exc:  # whatever a value does to a parser, it fails this row alone
            raise BadMeetingRow(meeting_id, f"unreadable row ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _parse(cls, meeting_id: str, row: Mapping[str, Any]) -> Meeting:
        if not meeting_id.strip():
            raise BadMeetingRow(meeting_id, "meeting_id is empty")

        def bad(reason: str) -> BadMeetingRow:
            return BadMeetingRow(meeting_id, reason)

        title, display = _texts(row, bad)
        starts_at, ends_at = _times(row, bad)
        tz = str(row.get("timezone") or "UTC").strip()
        if not _known_zone(tz):
            raise bad(f"timezone {tz!r} is not an IANA time zone name")
        try:
            wait = as_bool(row.get("wait_for_meeting_start"), True)
        except ValueError as exc:
            raise bad(f"wait_for_meeting_start: {exc}") from None
        number = row.get("requested_phone_number")
        try:
            number = None if number in (None, "") else normalize_phone_number(number)
        except ValueError as exc:
            raise bad(f"requested_phone_number: {exc}") from None
        return cls(
            meeting_id=meeting_id,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            timezone=tz,
            display_name=display,
            wait_for_meeting_start=wait,
            requested_phone_number=number,
        )

    def room_spec(self, config: ProvisioningConfig, *, now: float | None = None) -> RoomCreate:
        """The room this meeting needs; raise :class:`BadMeetingRow` if Daily would refuse it."""
        try:
            return self._room_spec(config, time.time() if now is None else now)
        except BadMeetingRow:
            raise
        except Exception as exc:  # e.g. a time at the end of the calendar: this meeting alone fails
            raise BadMeetingRow(self.meeting_id, f"no room possible ({type(exc).__name__}: {exc})") from None

    def _room_spec(self, config: ProvisioningConfig, now: float) -> RoomCreate:
        exp = room_exp_for(self.ends_at, config)
        if exp <= now:
            raise BadMeetingRow(self.meeting_id, "the meeting (plus grace) is already over")
        if beyond_daily_window(exp, now) and beyond_daily_window(exp, self.starts_at.timestamp()):
            # not even at its start: it would wait into its own meeting - a wrong end, not too early
            raise BadMeetingRow(
                self.meeting_id,
                f"the meeting ends {self.ends_at:%Y-%m-%d %H:%M} UTC, 365 days or more after it starts: "
                "Daily dial-in rooms must expire within 365 days of being made",
            )
        if beyond_daily_window(exp, now):
            raise WaitingForDailyWindow(
                self.meeting_id,
                f"{WAITING_PREFIX}the room would expire {self.ends_at:%Y-%m-%d %H:%M} UTC (+ grace), 365 days "
                "or more from now; a later run provisions it once it is within reach (not an attempt)",
            )
        nbf = None
        if config.nbf_lead_minutes is not None:
            nbf = int((self.starts_at - timedelta(minutes=config.nbf_lead_minutes)).timestamp())
        numbers = [DialinRoomNumber(phone_number=self.requested_phone_number)] if self.requested_phone_number else None
        return RoomCreate(
            name=room_name_for(self.meeting_id, config.room_name_prefix),
            privacy=config.privacy,
            properties=RoomProperties(
                nbf=nbf,
                exp=exp,
                eject_at_room_exp=config.eject_at_room_exp,
                dialin=DialinProperties(
                    display_name=self.display_name,
                    wait_for_meeting_start=self.wait_for_meeting_start,
                    room_numbers=numbers,
                ),
            ),
        )
