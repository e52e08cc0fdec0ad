"""Meetings of a series as one invite: :class:`SeriesInvite`, built from the series' rows.

The rows of a series - grouped by the row model's one rule,
:attr:`daily_dialin.rows.MeetingRow.series_key`, as provisioning groups them (``None``: a one-off
meeting, a group of one row) - share one Daily room, one PIN and one dial string; each row is one
occurrence with its own times. Their invite is one calendar file per series: one ``VEVENT`` whose
``DTSTART`` is the first upcoming occurrence and whose ``RDATE`` lists the others, every number
and the one PIN.

Each occurrence keeps an *anchor*, its instance in the recurrence set: its start when it was
first published. An occurrence whose start moved since (start != anchor), or whose duration or
title differ from the master's, is an override: a ``VEVENT`` with ``RECURRENCE-ID`` = its anchor.
Occurrences published before and now cancelled or gone are excluded by ``EXDATE`` (their anchor).

Which occurrences the file shows (:func:`build_series`): provisionable rows with a room and a
PIN, not ended, whose room ``exp`` covers their end plus the grace (the series room's ``exp``
covers the latest occurrence; one far beyond it waits). A published occurrence that cannot be
shown now (moved, room not yet extended) holds the whole series back, as a moved one-off waits:
a file never shows a time its room does not cover. Ended occurrences drop out of the next
version; their passing alone writes nothing.

May import: ``daily_dialin.rows``, ``daily_dialin.provisioning`` (config, meetings) and the
invitations modules ``content``, ``manifest``, ``settings``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from daily_dialin.invitations.content import Build, InviteContent, NotInvitable, shown_digest
from daily_dialin.invitations.manifest import OccurrenceEntry, SeriesEntry
from daily_dialin.invitations.settings import InvitationSettings
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import room_exp_for
from daily_dialin.rows import MeetingRow, StatusKind

ROOM_NOT_COVERED = "the series room's exp does not cover this occurrence yet (the provisioning DAG extends it)"
ROOMS_DISAGREE = "the occurrences disagree on their room, PIN or exp (the provisioning DAG is writing them back)"
DUPLICATE_START = "another occurrence of its series starts at the same time"

# (meeting id, state, anchor, start, end, title): what a file shows of one occurrence
Shape = frozenset[tuple[str, str, datetime, datetime, datetime, str]]


def series_label(series_id: str) -> str:
    """How a series is named where meeting ids are listed (waiting, unchanged, past)."""
    return f"series {series_id}"


@dataclass(frozen=True, kw_only=True)
class Occurrence:
    """One occurrence of a series as its file shows it (times aware; UTC or the series' zone)."""

    meeting_id: str
    anchor: datetime
    starts_at: datetime
    ends_at: datetime
    title: str

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def shape(self, state: str) -> tuple[str, str, datetime, datetime, datetime, str]:
        utc = (self.anchor.astimezone(UTC), self.starts_at.astimezone(UTC), self.ends_at.astimezone(UTC))
        return (self.meeting_id, state, *utc, self.title)

    def entry(self, state: str) -> OccurrenceEntry:
        return OccurrenceEntry(
            state=state,
            anchor=self.anchor.astimezone(UTC),
            starts_at=self.starts_at.astimezone(UTC),
            ends_at=self.ends_at.astimezone(UTC),
            title=self.title,
        )

    @classmethod
    def from_entry(cls, meeting_id: str, entry: OccurrenceEntry) -> Occurrence:
        return cls(
            meeting_id=meeting_id,
            anchor=entry.anchor,
            starts_at=entry.starts_at,
            ends_at=entry.ends_at,
            title=entry.title,
        )


def _by_anchor(occurrences: Iterable[Occurrence]) -> tuple[Occurrence, ...]:
    return tuple(sorted(occurrences, key=lambda o: (o.anchor, o.meeting_id)))


@dataclass(frozen=True, kw_only=True)
class SeriesInvite:
    """One series' invite: what every occurrence shares (``content``, the master occurrence's:
    room, URL, numbers, PIN, zone, room ``exp``), the occurrences the file shows and the
    cancelled ones it excludes. Occurrences are kept in anchor order; the first is the master."""

    series_id: str
    content: InviteContent
    occurrences: tuple[Occurrence, ...]
    exdates: tuple[Occurrence, ...] = ()

    def __post_init__(self) -> None:
        if not self.occurrences:
            raise ValueError("a series invite needs an occurrence")
        object.__setattr__(self, "occurrences", _by_anchor(self.occurrences))
        object.__setattr__(self, "exdates", _by_anchor(self.exdates))

    @property
    def room_name(self) -> str:
        return self.content.room_name

    @property
    def master(self) -> Occurrence:
        return self.occurrences[0]

    @property
    def title(self) -> str:
        return self.master.title

    @property
    def duration(self) -> timedelta:
        """The master's duration: the most common one (ties: the earliest anchor's)."""
        durations = [o.duration for o in self.occurrences]
        counts = Counter(durations)
        return max(counts, key=lambda d: (counts[d], -durations.index(d)))

    @property
    def starts_at(self) -> datetime:
        """``DTSTART``: the master's anchor."""
        return self.master.anchor

    @property
    def ends_at(self) -> datetime:
        return self.master.anchor + self.duration

    def is_override(self, occurrence: Occurrence) -> bool:
        """Out of pattern: moved since published, or a duration or title of its own."""
        return (
            occurrence.starts_at != occurrence.anchor
            or occurrence.duration != self.duration
            or occurrence.title != self.title
        )

    @property
    def overrides(self) -> tuple[Occurrence, ...]:
        return tuple(o for o in self.occurrences if self.is_override(o))

    def by_start(self) -> tuple[Occurrence, ...]:
        """The occurrences when they happen."""
        return tuple(sorted(self.occurrences, key=lambda o: (o.starts_at, o.meeting_id)))

    def uid(self, domain: str | None = None, *, host: bool = False) -> str:
        return self.content.uid(domain, host=host)

    @property
    def room_url(self) -> str:
        return self.content.room_url

    @property
    def room_exp(self) -> int:
        return self.content.room_exp

    @property
    def timezone(self) -> str:
        return self.content.timezone

    def fingerprint(self, settings: InvitationSettings) -> str:
        """A digest of what every occurrence of the file shows alike (the occurrences themselves
        are compared by :meth:`shape`)."""
        return shown_digest(self.content, settings, series=True)

    # -- what the one decision path asks of an invite (a one-off's answers in .content.InviteContent) --
    def changed_since(self, entry: SeriesEntry, *, settings: InvitationSettings, now: datetime) -> bool:
        """Whether the published file shows something else: a shared value, or any occurrence
        still to come added, moved, retitled or cancelled (an occurrence ending changes nothing)."""
        return entry.fingerprint != self.fingerprint(settings) or published_shape(entry, now) != self.shape()

    def as_published(self, entry: SeriesEntry) -> SeriesInvite:
        """The invite as ``entry`` published it (ended occurrences included), for a rewrite with
        the same bytes."""
        return SeriesInvite.from_entry(self.series_id, entry, self.content)

    def holders(self, token: str | None) -> dict[str, str | None]:
        """Meeting id -> the host token each row gets: the series' for every occurrence shown,
        none for the cancelled ones."""
        tokens: dict[str, str | None] = dict.fromkeys((o.meeting_id for o in self.exdates), None)
        tokens.update((o.meeting_id, token) for o in self.occurrences)
        return tokens

    def shape(self) -> Shape:
        return frozenset(
            [*(o.shape("active") for o in self.occurrences), *(o.shape("cancelled") for o in self.exdates)]
        )

    def occurrence_entries(self) -> dict[str, OccurrenceEntry]:
        entries = {o.meeting_id: o.entry("cancelled") for o in self.exdates}
        entries.update((o.meeting_id, o.entry("active")) for o in self.occurrences)
        return entries

    @classmethod
    def from_entry(cls, series_id: str, entry: SeriesEntry, content: InviteContent) -> SeriesInvite:
        """The invite as it was published (for a rewrite: the same bytes), with today's shared
        content (equal to the published one: same fingerprint)."""

        def of_state(state: str) -> tuple[Occurrence, ...]:
            return tuple(Occurrence.from_entry(mid, o) for mid, o in entry.occurrences.items() if o.state == state)

        return cls(series_id=series_id, content=content, occurrences=of_state("active"), exdates=of_state("cancelled"))


def published_shape(entry: SeriesEntry, now: datetime) -> Shape:
    """What the published file shows that is still to come: compared with the rows' invite, so
    an occurrence ending changes nothing."""
    return frozenset(
        Occurrence.from_entry(mid, o).shape(o.state) for mid, o in entry.occurrences.items() if o.ends_at > now
    )


def _published_active(entry: SeriesEntry | None, meeting_id: str, now: datetime) -> bool:
    published = entry.occurrences.get(meeting_id) if entry is not None else None
    return published is not None and published.state == "active" and published.ends_at > now


def _wait(build: Build, meeting_id: str, reason: str, *, published: bool) -> None:
    build.waiting[meeting_id] = reason
    if published and build.hold is None:
        build.hold = f"occurrence {meeting_id!r} waits: {reason}"


def _live_contents(
    rows: Sequence[MeetingRow],
    entry: SeriesEntry | None,
    build: Build,
    *,
    settings: InvitationSettings,
    config: ProvisioningConfig,
    now: datetime,
) -> list[InviteContent]:
    """The scheduled occurrences the file can show now; the others recorded in ``build``."""
    live: list[InviteContent] = []
    for row in sorted(rows, key=lambda r: r.meeting_id):
        if row.status_kind is not StatusKind.PROVISIONABLE:
            continue
        published = _published_active(entry, row.meeting_id, now)
        try:
            content = InviteContent.from_row(row, settings=settings)
        except NotInvitable as exc:
            _wait(build, row.meeting_id, str(exc), published=published)
            continue
        if content.ends_at <= now:
            build.past.append(row.meeting_id)
        elif content.room_exp < room_exp_for(content.ends_at, config):
            _wait(build, row.meeting_id, ROOM_NOT_COVERED, published=published)
        else:
            live.append(content)
    return live


def _shared(content: InviteContent) -> tuple[object, ...]:
    return (content.room_name, content.room_url, content.pin, content.room_exp, content.numbers)


def _anchored(
    live: Sequence[InviteContent], entry: SeriesEntry | None, build: Build
) -> dict[str, tuple[Occurrence, InviteContent]]:
    """Each live occurrence with its anchor: the one it was published with (kept when it moves),
    else its start. Anchors are unique: published and in-pattern occurrences choose first, a
    moved one whose anchor is taken is re-anchored at its start, and a second occurrence at the
    same time waits."""
    published = entry.occurrences if entry is not None else {}

    def wanted(content: InviteContent) -> datetime:
        known = published.get(content.meeting_id)
        return known.anchor if known is not None else content.starts_at

    def order(content: InviteContent) -> tuple[bool, bool, datetime, str]:
        anchor = wanted(content)
        return (content.starts_at != anchor, content.meeting_id not in published, anchor, content.meeting_id)

    taken: set[datetime] = set()
    anchored: dict[str, tuple[Occurrence, InviteContent]] = {}
    for content in sorted(live, key=order):
        anchor = next((a for a in (wanted(content), content.starts_at) if a not in taken), None)
        if anchor is None:
            build.waiting[content.meeting_id] = DUPLICATE_START
            continue
        taken.add(anchor)
        occurrence = Occurrence(
            meeting_id=content.meeting_id,
            anchor=anchor.astimezone(UTC),
            starts_at=content.starts_at.astimezone(UTC),
            ends_at=content.ends_at.astimezone(UTC),
            title=content.title,
        )
        anchored[content.meeting_id] = (occurrence, content)
    return anchored


def _exdates(entry: SeriesEntry | None, shown: Mapping[str, Occurrence], now: datetime) -> list[Occurrence]:
    """Published occurrences still to come that the file no longer shows (cancelled, gone, or a
    duplicate), unless their instance is shown by another occurrence now."""
    if entry is None:
        return []
    anchors = {o.anchor for o in shown.values()}
    return [
        Occurrence.from_entry(mid, published)
        for mid, published in entry.occurrences.items()
        if mid not in shown and published.ends_at > now and published.anchor not in anchors
    ]


def build_series(
    series_id: str,
    rows: Sequence[MeetingRow],
    entry: SeriesEntry | None,
    *,
    settings: InvitationSettings,
    config: ProvisioningConfig,
    now: datetime,
) -> Build:
    """The series' invite from all its rows (every status) and what was published before."""
    build = Build()
    live = _live_contents(rows, entry, build, settings=settings, config=config, now=now)
    if build.hold is not None or not live:
        return build
    if len({_shared(content) for content in live}) > 1:
        build.hold = ROOMS_DISAGREE
        return build
    anchored = _anchored(live, entry, build)
    shown = {mid: occurrence for mid, (occurrence, _) in anchored.items()}
    master = min(anchored.values(), key=lambda pair: (pair[0].anchor, pair[0].meeting_id))[1]
    build.invite = SeriesInvite(
        series_id=series_id,
        content=master,
        occurrences=tuple(shown.values()),
        exdates=tuple(_exdates(entry, shown, now)),
    )
    return build
