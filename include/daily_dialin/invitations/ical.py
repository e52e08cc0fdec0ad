"""Rendering invites and cancellations as RFC 5545 calendar files, with ``icalendar``.

One ``VEVENT`` per file: start and end in the meeting's own zone (with its ``VTIMEZONE``), the
room URL as ``LOCATION`` and ``URL``, RFC 7986 ``CONFERENCE`` entries (video, and one per phone
number with its one-tap ``tel:`` URI), and a plain-text description that lists every number, the
PIN and the one-tap strings. The host file is the same meeting as an event of its own whose link
carries the owner token. Output depends only on the arguments: the same invite renders to the
same bytes, which keeps re-runs idempotent.

A series (:class:`~.series.SeriesInvite`) is one file too: a master ``VEVENT`` (``DTSTART`` the
first occurrence's anchor, ``RDATE`` the others', ``EXDATE`` the cancelled ones'), plus one
``VEVENT`` with ``RECURRENCE-ID`` per occurrence out of pattern (moved, or its own duration or
title), all with the same ``UID`` and ``SEQUENCE``. Its cancellation cancels the whole series.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from icalendar import Calendar, Conference, Event, vCalAddress

from daily_dialin.invitations.content import InviteContent, event_uid, zone
from daily_dialin.invitations.manifest import ManifestEntry, SeriesEntry
from daily_dialin.invitations.series import Occurrence, SeriesInvite
from daily_dialin.invitations.settings import InvitationSettings

PRODID = "-//airflow-provider-daily//Daily dial-in invitations//EN"
LISTED_OCCURRENCES = 50  # a series' description lists this many dates, then says how many more


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


def _calendar(method: str, events: Sequence[Event], times: Sequence[datetime]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    for event in events:
        calendar.add_component(event)
    # the zone's rules over the events' years only: small, and the same bytes every time
    first, last = min(times), max(times)
    calendar.add_missing_timezones(first_date=date(first.year, 1, 1), last_date=date(last.year + 1, 1, 1))
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
        conferences=_conferences(content, host_link),
    )
    return _calendar("PUBLISH", [event], [content.starts_at, content.ends_at])


def render(
    invite: InviteContent | SeriesInvite,
    *,
    settings: InvitationSettings,
    sequence: int,
    stamp: int,
    host_link: str | None = None,
) -> bytes:
    """Any invite's file (:func:`render_invite` or :func:`render_series_invite`): the one place
    the kinds part ways."""
    if isinstance(invite, SeriesInvite):
        return render_series_invite(invite, settings=settings, sequence=sequence, stamp=stamp, host_link=host_link)
    return render_invite(invite, settings=settings, sequence=sequence, stamp=stamp, host_link=host_link)


def render_cancel(entry: ManifestEntry, *, settings: InvitationSettings, host: bool = False) -> bytes:
    """Any published file's cancellation (:func:`render_cancellation` or :func:`render_series_cancellation`)."""
    if isinstance(entry, SeriesEntry):
        return render_series_cancellation(entry, settings=settings, host=host)
    return render_cancellation(entry, settings=settings, host=host)


def render_cancellation(entry: ManifestEntry, *, settings: InvitationSettings, host: bool = False) -> bytes:
    """The ``METHOD:CANCEL`` file for a published meeting, from what the manifest remembers
    (``entry.sequence`` and ``entry.stamp`` are the cancellation's). No PIN, no token."""
    tz = zone(entry.timezone)
    starts_at, ends_at = entry.starts_at.astimezone(tz), entry.ends_at.astimezone(tz)
    return _cancel_file(entry, settings, host, "\n" + when_line(starts_at, ends_at, entry.timezone))


# -- series ---------------------------------------------------------------------------------------
def _conferences(content: InviteContent, host_link: str | None) -> list[Conference]:
    video = [Conference(host_link, feature=["VIDEO", "MODERATOR"], label="Host link")] if host_link else []
    video.append(Conference(content.room_url, feature=["VIDEO", "AUDIO", "SCREEN", "CHAT"], label="Daily room"))
    return [*video, *(Conference(n.one_tap(content.pin), feature="PHONE", label=n.label) for n in content.numbers)]


def series_dates(invite: SeriesInvite) -> list[str]:
    """The occurrences' times, when they happen, in the series' zone (the first ones and a count)."""
    tz, content = zone(invite.content.timezone), invite.content
    occurrences = invite.by_start()
    lines = [
        f"  {when_line(o.starts_at.astimezone(tz), o.ends_at.astimezone(tz), content.timezone)}"
        for o in occurrences[:LISTED_OCCURRENCES]
    ]
    if len(occurrences) > LISTED_OCCURRENCES:
        lines.append(f"  ... and {len(occurrences) - LISTED_OCCURRENCES} more")
    return lines


def series_description(invite: SeriesInvite, host_link: str | None, occurrence: Occurrence | None = None) -> str:
    """The master's description (every date) or an override's (its own date and title)."""
    content, tz = invite.content, zone(invite.content.timezone)
    title = occurrence.title if occurrence else invite.title
    if occurrence is None:
        count = len(invite.occurrences)
        when = [f"{count} meeting{'s' if count != 1 else ''}, same room, same PIN:", *series_dates(invite)]
    else:
        when = [when_line(occurrence.starts_at.astimezone(tz), occurrence.ends_at.astimezone(tz), content.timezone)]
    if host_link is None:
        join = ["Join by video:", f"  {content.room_url}"]
    else:
        title = f"You host {title}."
        join = [
            "Host link (joins you as the meeting's owner; keep it to yourself):",
            f"  {host_link}",
            "The link expires with the room.",
        ]
    return "\n".join([title, *when, "", *join, "", *phone_lines(content)])


def _series_event(
    invite: SeriesInvite,
    occurrence: Occurrence | None,
    *,
    settings: InvitationSettings,
    sequence: int,
    stamp: int,
    host_link: str | None,
) -> Event:
    """The master event (``occurrence`` ``None``) or one occurrence's override."""
    content, tz = invite.content, zone(invite.content.timezone)
    if occurrence is None:
        start, end, title = invite.starts_at, invite.ends_at, invite.title
    else:
        start, end, title = occurrence.starts_at, occurrence.ends_at, occurrence.title
    event = Event.new(
        uid=invite.uid(settings.uid_domain, host=host_link is not None),
        sequence=sequence,
        stamp=datetime.fromtimestamp(stamp, tz=UTC),
        start=start.astimezone(tz),
        end=end.astimezone(tz),
        summary=f"{title} (host)" if host_link else title,
        location=content.room_url,
        url=host_link or content.room_url,
        description=series_description(invite, host_link, occurrence),
        organizer=_organizer(settings),
        status="CONFIRMED",
        conferences=_conferences(content, host_link),
    )
    if occurrence is not None:
        event.add("recurrence-id", occurrence.anchor.astimezone(tz))
    return event


def render_series_invite(
    invite: SeriesInvite,
    *,
    settings: InvitationSettings,
    sequence: int,
    stamp: int,
    host_link: str | None = None,
) -> bytes:
    """A series' attendee file, or with ``host_link`` its host file (``METHOD:PUBLISH``)."""
    tz = zone(invite.content.timezone)
    master = _series_event(invite, None, settings=settings, sequence=sequence, stamp=stamp, host_link=host_link)
    others = [o.anchor.astimezone(tz) for o in invite.occurrences[1:]]
    if others:
        master.add("rdate", others)
    if invite.exdates:
        master.add("exdate", [o.anchor.astimezone(tz) for o in invite.exdates])
    overrides = [
        _series_event(invite, o, settings=settings, sequence=sequence, stamp=stamp, host_link=host_link)
        for o in invite.overrides
    ]
    times = [t for o in (*invite.occurrences, *invite.exdates) for t in (o.anchor, o.starts_at, o.ends_at)]
    return _calendar("PUBLISH", [master, *overrides], [t.astimezone(tz) for t in times])


def render_series_cancellation(entry: SeriesEntry, *, settings: InvitationSettings, host: bool = False) -> bytes:
    """The ``METHOD:CANCEL`` file of a whole published series (no ``RECURRENCE-ID``: every
    occurrence), from what the manifest remembers. No PIN, no token."""
    return _cancel_file(entry, settings, host, f", every meeting of the series ({len(entry.occurrences)} published)")


def _cancel_file(entry: ManifestEntry, settings: InvitationSettings, host: bool, what: str) -> bytes:
    """The ``METHOD:CANCEL`` file of a published meeting or series, from what the manifest remembers
    (its UID, sequence and stamp are the cancellation's); ``what`` follows the title."""
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
        description=f"Cancelled: {entry.title}{what}",
        organizer=_organizer(settings),
        status="CANCELLED",
    )
    return _calendar("CANCEL", [event], [starts_at, ends_at])
