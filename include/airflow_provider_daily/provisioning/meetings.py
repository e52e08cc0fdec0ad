"""One scheduled meeting: parsed and validated from a source-table row, turned into a room spec.

A row that cannot become a valid dial-in room raises :class:`BadMeetingRow` naming the meeting
and the reason; the caller records that reason in the row's ``last_error`` and goes on with the
other meetings.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum

from airflow_provider_daily.models import (
    DialinProperties,
    DialinRoomNumber,
    RoomCreate,
    RoomProperties,
    normalise_phone_number,
)
from airflow_provider_daily.provisioning.config import ProvisioningConfig
from airflow_provider_daily.rooms import latest_allowed_exp

MAX_TITLE = 200
MAX_DISPLAY_NAME = 100
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


class BadMeetingRow(ValueError):
    """A row that cannot be provisioned; the message is written to ``last_error``."""

    def __init__(self, meeting_id: str, reason: str) -> None:
        self.meeting_id = meeting_id
        self.reason = reason
        super().__init__(f"meeting {meeting_id}: {reason}")


def room_name_for(meeting_id: str, prefix: str) -> str:
    """Deterministic room name ``<prefix>-<meeting id>``; characters Daily refuses are replaced
    and a short hash of the id is appended so two ids never map to one name."""
    slug = _SAFE.sub("-", meeting_id)
    if slug != meeting_id or len(prefix) + 1 + len(slug) > 128:
        digest = hashlib.sha256(meeting_id.encode()).hexdigest()[:10]
        slug = f"{slug[: 128 - len(prefix) - 12]}-{digest}"
    return f"{prefix}-{slug}"


def room_exp_for(ends_at: datetime, config: ProvisioningConfig) -> int:
    """The room's ``exp`` (unix seconds): the meeting's end plus the grace period."""
    return int((ends_at + timedelta(minutes=config.exp_grace_minutes)).timestamp())


def parse_utc(value: Any) -> datetime:
    """A DB value (datetime, or text from SQLite) -> aware UTC datetime. Naive means UTC."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value.strip():
        dt = pendulum.parse(value.strip(), tz="UTC")
    else:
        raise ValueError(f"{value!r} is not a timestamp")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return datetime.fromtimestamp(dt.timestamp(), tz=UTC)


def _as_bool(value: Any, default: bool) -> bool:
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
    status: str
    provisioned: bool
    attempts: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Meeting:
        """Parse a row keyed by logical column names; raise :class:`BadMeetingRow`."""
        meeting_id = str(row.get("meeting_id") or "").strip()
        if not meeting_id:
            raise BadMeetingRow("<no id>", "meeting_id is empty")

        def bad(reason: str) -> BadMeetingRow:
            return BadMeetingRow(meeting_id, reason)

        title = str(row.get("title") or "").strip()
        if not title:
            raise bad("title is empty")
        if len(title) > MAX_TITLE:
            raise bad(f"title is longer than {MAX_TITLE} characters")
        try:
            starts_at = parse_utc(row.get("starts_at"))
        except (ValueError, TypeError) as exc:
            raise bad(f"starts_at: {exc}") from None
        try:
            ends_at = parse_utc(row.get("ends_at"))
        except (ValueError, TypeError) as exc:
            raise bad(f"ends_at: {exc}") from None
        if ends_at <= starts_at:
            raise bad(f"ends_at ({ends_at:%Y-%m-%d %H:%M}) is not after starts_at ({starts_at:%Y-%m-%d %H:%M})")
        tz = str(row.get("timezone") or "UTC").strip()
        try:
            pendulum.timezone(tz)
        except Exception:
            raise bad(f"timezone {tz!r} is not an IANA time zone name") from None
        display = str(row.get("dialin_display_name") or "").strip() or title[:MAX_DISPLAY_NAME]
        if len(display) > MAX_DISPLAY_NAME:
            raise bad(f"dialin_display_name is longer than {MAX_DISPLAY_NAME} characters")
        try:
            wait = _as_bool(row.get("wait_for_meeting_start"), True)
        except ValueError as exc:
            raise bad(f"wait_for_meeting_start: {exc}") from None
        number = row.get("requested_phone_number")
        if number not in (None, ""):
            try:
                number = normalise_phone_number(number)
            except ValueError as exc:
                raise bad(f"requested_phone_number: {exc}") from None
        else:
            number = None
        return cls(
            meeting_id=meeting_id,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            timezone=tz,
            display_name=display,
            wait_for_meeting_start=wait,
            requested_phone_number=number,
            status=str(row.get("status") or ""),
            provisioned=row.get("provisioned_at") not in (None, ""),
            attempts=int(row.get("attempts") or 0),
        )

    def room_spec(self, config: ProvisioningConfig, *, now: float | None = None) -> RoomCreate:
        """The room this meeting needs; raise :class:`BadMeetingRow` if Daily would refuse it."""
        now = time.time() if now is None else now
        exp = room_exp_for(self.ends_at, config)
        exp_at = datetime.fromtimestamp(exp, tz=UTC)
        if exp <= now:
            raise BadMeetingRow(self.meeting_id, "the meeting (plus grace) is already over")
        if exp > latest_allowed_exp(now):
            raise BadMeetingRow(
                self.meeting_id,
                f"room would expire {exp_at:%Y-%m-%d %H:%M} UTC, 365 days or more from now; "
                "Daily dial-in rooms must expire within 365 days (provision it later)",
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
