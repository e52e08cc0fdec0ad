"""What one invite says, read from a provisioned row of the meetings table.

:class:`InviteContent` holds everything a calendar file shows (title, times in the meeting's own
zone, room URL, numbers, PIN) plus the room's ``exp`` the host token must share. Its
:meth:`~InviteContent.fingerprint` changes exactly when the published file would, which is how a
run tells a moved or edited meeting from an unchanged one. The PIN stays out of ``repr``.

Rows arrive as :class:`daily_dialin.rows.MeetingRow`: the id, the PIN and the meeting itself
(title, times, zone) are read by the rules provisioning uses, so an invite shows what its room
was made from.

:class:`Build` is what one group of rows makes now - a one-off meeting (a group of one row) or a
series (:mod:`.series`) - for the one decision path of :mod:`.plan`.

May import: the provider's models, ``daily_dialin.errors``, ``daily_dialin.rows`` and the other
invitations modules below it (``numbers``, ``settings``, ``manifest``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from airflow_provider_daily.models import normalize_pin
from daily_dialin.errors import BadMeetingRow
from daily_dialin.invitations.numbers import DialinNumber, dialin_numbers
from daily_dialin.invitations.settings import InvitationSettings
from daily_dialin.provisioning.meetings import Meeting
from daily_dialin.rows import MeetingRow

if TYPE_CHECKING:
    from daily_dialin.invitations.manifest import ManifestEntry

# bump when the rendered files change for the same data: every invite then gets a new SEQUENCE
RENDER_VERSION = 1


class NotInvitable(ValueError):
    """A row that cannot become an invite (yet); the message says why (never the PIN)."""


@cache
def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name, kept for the process: ``ZoneInfo`` (and ``pendulum.timezone``)
    only hold the 8 most recent zones strongly, and re-read tzdata when more alternate."""
    return ZoneInfo(name)


@dataclass(frozen=True, kw_only=True)
class InviteContent:
    """One meeting's invite: what attendees see, and what the host link needs."""

    meeting_id: str
    room_name: str
    room_url: str
    title: str
    starts_at: datetime  # aware, in ``timezone``
    ends_at: datetime
    timezone: str
    numbers: tuple[DialinNumber, ...]
    pin: str = field(repr=False)
    wait_for_meeting_start: bool
    room_exp: int

    @classmethod
    def from_row(cls, row: MeetingRow, *, settings: InvitationSettings) -> InviteContent:
        """Build from a provisioned row; raise :class:`NotInvitable` saying why it cannot be one (yet).

        Title, times, zone and wait flag are the row's :class:`~daily_dialin.provisioning.meetings.Meeting`
        (the same parse and cleaning its room was made from); the id is the row's exact id text."""
        room_name, room_url, pin = _provisioned(row)
        try:
            meeting = Meeting.from_row(row)
        except BadMeetingRow as exc:
            raise NotInvitable(exc.reason) from None
        try:
            tz = zone(meeting.timezone)
        except (ValueError, KeyError, OSError):
            raise NotInvitable(f"timezone {meeting.timezone!r} is not an IANA time zone name") from None
        room_exp = row.get("room_exp")
        if room_exp in (None, ""):
            raise NotInvitable("room_exp is empty (provisioned before it was recorded; re-provision with force)")
        try:
            numbers = dialin_numbers(row.get("dialin_number"), settings.global_numbers)
        except ValueError as exc:
            raise NotInvitable(f"dialin_number: {exc}") from None
        if not numbers:
            raise NotInvitable("no number to dial: the room reports none and no global numbers are set")
        return cls(
            meeting_id=row.meeting_id,
            room_name=room_name,
            room_url=room_url,
            title=meeting.title,
            starts_at=meeting.starts_at.astimezone(tz),
            ends_at=meeting.ends_at.astimezone(tz),
            timezone=meeting.timezone,
            numbers=numbers,
            pin=pin,
            wait_for_meeting_start=meeting.wait_for_meeting_start,
            room_exp=int(room_exp),
        )

    def uid(self, domain: str | None = None, *, host: bool = False) -> str:
        """The event's ``UID``: stable per meeting; the host file is an event of its own."""
        return event_uid(self.room_name, self.room_url, domain, host=host)

    def fingerprint(self, settings: InvitationSettings) -> str:
        """A digest of everything the files show (the PIN included, the token not)."""
        return shown_digest(
            self,
            settings,
            title=self.title,
            starts_at=self.starts_at.isoformat(),
            ends_at=self.ends_at.isoformat(),
        )

    # -- what the one decision path asks of an invite (a series' answers in .series.SeriesInvite) --
    def changed_since(self, entry: ManifestEntry, *, settings: InvitationSettings, now: datetime) -> bool:
        """Whether the published file (``entry``) shows something else than this invite would."""
        return entry.fingerprint != self.fingerprint(settings)

    def as_published(self, entry: ManifestEntry) -> InviteContent:
        """The invite as ``entry`` published it, for a rewrite with the same bytes: this one (unchanged)."""
        return self

    def holders(self, token: str | None) -> dict[str, str | None]:
        """Meeting id -> the host token each row of the file gets: the meeting's own."""
        return {self.meeting_id: token}


def shown_digest(content: InviteContent, settings: InvitationSettings, **shown: object) -> str:
    """The digest of what a file shows: what every invite shows alike (room, URL, zone, numbers,
    PIN, wait flag, room ``exp``, organizer, UID domain) plus ``shown`` (a meeting's title and
    times; a series' marker - its occurrences are compared one by one)."""
    shown.update(
        render_version=RENDER_VERSION,
        room_name=content.room_name,
        room_url=content.room_url,
        timezone=content.timezone,
        numbers=[[n.number, n.label] for n in content.numbers],
        pin=content.pin,
        wait_for_meeting_start=content.wait_for_meeting_start,
        room_exp=content.room_exp,
        organizer=[settings.organizer_email, settings.organizer_name],
        uid_domain=settings.uid_domain,
    )
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


@dataclass(kw_only=True)
class Build:
    """What one group's rows make now: the invite (an :class:`InviteContent`, or a series'
    :class:`~.series.SeriesInvite`; ``None``: nothing to show - a published file is cancelled),
    the rows that wait or ended (by meeting id), ``hold``: why the whole group waits (nothing is
    written), ``frozen``: the meeting ended, its published file stays as it is."""

    invite: Any = None
    waiting: dict[str, str] = field(default_factory=dict)
    past: list[str] = field(default_factory=list)
    hold: str | None = None
    frozen: bool = False


def _provisioned(row: MeetingRow) -> tuple[str, str, str]:
    """The row's room name, room URL and PIN; :class:`NotInvitable` when it has no room yet."""
    room_name = str(row.get("room_name") or "").strip()
    room_url = str(row.get("room_url") or "").strip()
    if not (room_name and room_url and row.pin):
        raise NotInvitable("not provisioned yet (no room URL or PIN)")
    try:
        return room_name, room_url, normalize_pin(row.pin)
    except ValueError:
        raise NotInvitable("dialin_pin is not a PIN") from None


def event_uid(room_name: str, room_url: str, domain: str | None = None, *, host: bool = False) -> str:
    """``<room>@<domain>`` (``<room>-host@…`` for the host file); domain: the room URL's host."""
    if not domain:
        domain = room_url.split("://", 1)[-1].split("/", 1)[0] or "daily.co"
    return f"{room_name}{'-host' if host else ''}@{domain}"
