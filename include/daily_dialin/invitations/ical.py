"""Rendering invites and cancellations as RFC 5545 calendar files, with ``icalendar``.

One ``VEVENT`` per file: start and end in the meeting's own zone (with its ``VTIMEZONE``), the
room URL as ``LOCATION`` and ``URL``, RFC 7986 ``CONFERENCE`` entries (video, and one per phone
number with its one-tap ``tel:`` URI), and a plain-text description that lists every number, the
PIN and the one-tap strings. The host file is the same meeting as an event of its own whose link
carries the owner token. Output depends only on the arguments: the same invite renders to the
same bytes, which keeps re-runs idempotent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from icalendar import Calendar, Conference, Event, vCalAddress

from daily_dialin.invitations.content import InviteContent, event_uid, zone
from daily_dialin.invitations.manifest import ManifestEntry
from daily_dialin.invitations.settings import InvitationSettings

PRODID = "-//airflow-provider-daily//Daily dial-in invitations//EN"


def when_line(starts_at: datetime, ends_at: datetime, timezone: str) -> str:
    """``Tue 15 Dec 2026, 09:00-10:30 (Europe/Berlin)``; the end's date too when it differs."""
    end = f"{ends_at:%H:%M}" if ends_at.date() == starts_at.date() else f"{ends_at:%a %d %b %Y, %H:%M}"
    return f"{starts_at:%a %d %b %Y, %H:%M}-{end} ({timezone})"


def phone_lines(content: InviteContent) -> list[str]:
    lines = [f"Join by phone: call a number below, then enter the PIN {content.pin} when asked."]
    for number in content.numbers:
        lines.append(f"  {number.label}: {number.display}")
        lines.append(f"    one tap: {number.one_tap(content.pin)}")
    if content.wait_for_meeting_start:
        lines.append("Callers hear hold music until the meeting starts.")
    return lines


def attendee_description(content: InviteContent) -> str:
    lines = [
        content.title,
        when_line(content.starts_at, content.ends_at, content.timezone),
        "",
        "Join by video:",
        f"  {content.room_url}",
        "",
        *phone_lines(content),
    ]
    return "\n".join(lines)


def host_description(content: InviteContent, link: str) -> str:
    lines = [
        f"You host {content.title}.",
        when_line(content.starts_at, content.ends_at, content.timezone),
        "",
        "Host link (joins you as the meeting's owner; keep it to yourself):",
        f"  {link}",
        "The link expires with the room.",
        "",
        *phone_lines(content),
    ]
    return "\n".join(lines)


def _organizer(settings: InvitationSettings) -> vCalAddress | None:
    if not settings.organizer_email:
        return None
    address = vCalAddress(f"mailto:{settings.organizer_email}")
    if settings.organizer_name:
        address.params["CN"] = settings.organizer_name
    return address


def _calendar(method: str, event: Event, starts_at: datetime, ends_at: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(event)
    # the zone's rules over the event's years only: small, and the same bytes every time
    calendar.add_missing_timezones(first_date=date(starts_at.year, 1, 1), last_date=date(ends_at.year + 1, 1, 1))
    return calendar.to_ical()


def render_invite(
    content: InviteContent,
    *,
    settings: InvitationSettings,
    sequence: int,
    stamp: int,
    host_link: str | None = None,
) -> bytes:
    """The attendee file, or with ``host_link`` the host file (``METHOD:PUBLISH``)."""
    host = host_link is not None
    video = [Conference(host_link, feature=["VIDEO", "MODERATOR"], label="Host link")] if host else []
    video.append(Conference(content.room_url, feature=["VIDEO", "AUDIO", "SCREEN", "CHAT"], label="Daily room"))
    phones = [Conference(n.one_tap(content.pin), feature="PHONE", label=n.label) for n in content.numbers]
    event = Event.new(
        uid=content.uid(settings.uid_domain, host=host),
        sequence=sequence,
        stamp=datetime.fromtimestamp(stamp, tz=UTC),
        start=content.starts_at,
        end=content.ends_at,
        summary=f"{content.title} (host)" if host else content.title,
        location=content.room_url,
        url=host_link or content.room_url,
        description=host_description(content, host_link) if host_link else attendee_description(content),
        organizer=_organizer(settings),
        status="CONFIRMED",
        conferences=[*video, *phones],
    )
    return _calendar("PUBLISH", event, content.starts_at, content.ends_at)


def render_cancellation(entry: ManifestEntry, *, settings: InvitationSettings, host: bool = False) -> bytes:
    """The ``METHOD:CANCEL`` file for a published meeting, from what the manifest remembers
    (``entry.sequence`` and ``entry.stamp`` are the cancellation's). No PIN, no token."""
    tz = zone(entry.timezone)
    starts_at, ends_at = entry.starts_at.astimezone(tz), entry.ends_at.astimezone(tz)
    event = Event.new(
        uid=event_uid(entry.room_name, entry.room_url, settings.uid_domain, host=host),
        sequence=entry.sequence,
        stamp=datetime.fromtimestamp(entry.stamp, tz=UTC),
        start=starts_at,
        end=ends_at,
        summary=f"Cancelled: {entry.title}",
        location=entry.room_url,
        description=f"Cancelled: {entry.title}\n{when_line(starts_at, ends_at, entry.timezone)}",
        organizer=_organizer(settings),
        status="CANCELLED",
    )
    return _calendar("CANCEL", event, starts_at, ends_at)
