"""Which files need writing, decided from the table rows and the manifest. Pure logic.

Invitations read the same groups as provisioning: a **one-off meeting is a group of one row**, a
**series is its rows** by the row model's one rule (:attr:`daily_dialin.rows.MeetingRow.series_key`).
Each group is one file, and every group is decided by one path: its rows make an invite (or why
none, :class:`~.content.Build`: :meth:`~.content.InviteContent.from_row` for a one-off,
:func:`~.series.build_series` for a series), then one table decides the action. Only what a file
shows, and its rendering (:mod:`.ical`), is kind-specific.

For each group (every one of the table and every one published before, or only the run's
``meeting_ids`` and the series they are in):

=====================================================  ==========================================
state                                                  action (``SEQUENCE``)
=====================================================  ==========================================
provisioned, never published                           ``new`` (0)
published, something the invite shows changed          ``changed`` (previous + 1)
published as cancelled, scheduled again                ``reinstated`` (previous + 1)
published, unchanged, files present                    nothing (``unchanged``)
unchanged, but a file is missing or ``force``          ``rewritten`` (same, same stamp)
published, now nothing to show (not scheduled, gone)   ``cancelled`` (previous + 1), a CANCEL file
not provisioned yet, or its room not yet updated for   nothing (``waiting``), with the reason
new times (``room_exp`` differs from the end + grace)
ended                                                  nothing (``past``): past invites are frozen
=====================================================  ==========================================

"Scheduled" means the row's status is provisionable by the one status rule
(:func:`daily_dialin.rows.normalize_status`, trimmed and case-insensitive), exactly as provisioning
decides which meetings get rooms.

What "changed" means per kind: a one-off's file shows its title and times, so any of them (or a
shared value: room, PIN, numbers, ...) changing changes it; a series' file changes when a shared
value does or any occurrence still to come is added, moved, retitled or cancelled. A series waits
as a whole while a published occurrence cannot be shown yet, and is past once every published
occurrence ended. A one-off that joins a series gets its own invite cancelled; a row that left its
series waits while it still has the series' room. A row whose ``series_id`` names no series
(blank, not text: a problem row, which provisioning reports and never selects) waits with that
reason: it is neither a one-off nor in a series.

May import: ``daily_dialin.rows``, ``daily_dialin.provisioning`` (config, meetings) and the
invitations modules ``content``, ``manifest``, ``series``, ``settings``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from daily_dialin.invitations.content import Build, InviteContent, NotInvitable
from daily_dialin.invitations.manifest import Manifest, ManifestEntry
from daily_dialin.invitations.series import SeriesInvite, build_series, series_label
from daily_dialin.invitations.settings import InvitationSettings
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import room_exp_for
from daily_dialin.rows import MeetingRow, StatusKind

ActionKind = Literal["new", "changed", "reinstated", "rewritten", "cancelled"]
KINDS: tuple[str, ...] = ("new", "changed", "reinstated", "rewritten", "cancelled", "unchanged", "waiting", "past")
ROOM_NOT_UPDATED = "room not yet updated for the meeting's new times (the provisioning DAG does that)"
IN_SERIES_ROOM = "still in its former series' room (the provisioning DAG gives it its own)"

Invite = InviteContent | SeriesInvite


@dataclass(frozen=True, kw_only=True)
class Group:
    """What one file is for: a one-off meeting (``key`` its meeting id) or a series (``key`` its
    series id)."""

    key: str
    series: bool = False

    @property
    def label(self) -> str:
        """How the group is named where meeting ids are listed (waiting, unchanged, past)."""
        return series_label(self.key) if self.series else self.key


@dataclass(frozen=True, kw_only=True)
class Action:
    """One group's files to write: an invite (``invite``) or, without it, a cancellation of
    ``previous`` (what was published before, if anything)."""

    group: Group
    kind: ActionKind
    sequence: int
    stamp: int
    invite: Invite | None = None
    previous: ManifestEntry | None = None

    @property
    def cancels(self) -> bool:
        return self.invite is None


@dataclass(kw_only=True)
class Decisions:
    """Every group's action (one-off meetings first, by meeting id, then series, by series id);
    ``unchanged``, ``waiting`` and ``past`` list meeting ids, and series as ``series <id>``."""

    actions: list[Action] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)
    past: list[str] = field(default_factory=list)

    def of(self, *, series: bool) -> list[Action]:
        """The actions of one kind of group."""
        return [action for action in self.actions if action.group.series is series]

    def counts(self) -> dict[str, int]:
        counts = Counter(dict.fromkeys(KINDS, 0))
        counts.update(action.kind for action in self.actions)
        counts.update(unchanged=len(self.unchanged), waiting=len(self.waiting), past=len(self.past))
        return dict(counts)


@dataclass(frozen=True, kw_only=True)
class _Run:
    """What every decision of one run shares."""

    settings: InvitationSettings
    config: ProvisioningConfig
    now: datetime
    rewrite: Callable[[str, bool], bool]  # (room, with host file): rewrite it unchanged? (force, or a file missing)

    @property
    def stamp(self) -> int:
        """``DTSTAMP`` of every file this run writes anew (a rewrite keeps the published one)."""
        return int(self.now.timestamp())


def decide(
    *,
    rows: Mapping[str, MeetingRow],
    manifest: Manifest,
    settings: InvitationSettings,
    config: ProvisioningConfig,
    now: datetime,
    files_present: Callable[[str, bool], bool],
    force: bool = False,
    scope: Collection[str] | None = None,
    series_scope: Collection[str] | None = None,
) -> Decisions:
    """Decide every group's action (see the module's table).

    :param rows: meetings-table rows by exact meeting id. Every row of a series in scope must be
        there: an occurrence missing is one cancelled.
    :param files_present: ``(room_name, with_host_file) -> bool``: are the published files there.
    :param scope: only these meeting ids, and the series they are in (``None`` with
        ``series_scope`` ``None``: every row, every series and everything published).
    :param series_scope: also these series ids.
    """
    run = _Run(
        settings=settings,
        config=config,
        now=now,
        rewrite=lambda room_name, host: force or not files_present(room_name, host),
    )
    series_rows = _by_series(rows.values())
    one_offs, series = _scope(rows, series_rows, manifest, scope, series_scope)
    series_rooms = {entry.room_name for entry in manifest.series.values()}
    series_rooms.update(str(row.get("room_name") or "").strip() for group in series_rows.values() for row in group)
    series_rooms.discard("")
    decisions = Decisions()
    for group, build in _builds(one_offs, series, rows, series_rows, manifest, run, series_rooms):
        _decide_group(decisions, group, build, manifest.book(series=group.series).get(group.key), run)
    return decisions


def _by_series(rows: Iterable[MeetingRow]) -> dict[str, list[MeetingRow]]:
    """The series' rows by series key (one-off meetings and problem rows left out)."""
    groups: dict[str, list[MeetingRow]] = {}
    for row in rows:
        if row.series_key is not None:
            groups.setdefault(row.series_key, []).append(row)
    return groups


def series_in_scope(meeting_ids: Iterable[str], rows: Mapping[str, MeetingRow], manifest: Manifest) -> set[str]:
    """The series the meetings are in now (their rows' one rule) or were published in: a series
    is decided whole."""
    published_in = manifest.series_by_meeting()
    keys = {rows[mid].series_key if mid in rows else None for mid in meeting_ids}
    keys.update(published_in.get(mid) for mid in meeting_ids)
    keys.discard(None)
    return keys  # type: ignore[return-value]


def _scope(
    rows: Mapping[str, MeetingRow],
    series_rows: Mapping[str, list[MeetingRow]],
    manifest: Manifest,
    scope: Collection[str] | None,
    series_scope: Collection[str] | None,
) -> tuple[set[str], set[str]]:
    """The meeting ids (one-off groups) and the series ids to decide."""
    if scope is None and series_scope is None:
        one_offs = {mid for mid, row in rows.items() if row.series_key is None} | set(manifest.meetings)
        return one_offs, set(series_rows) | set(manifest.series)
    one_offs = set(scope or ())
    return one_offs, set(series_scope or ()) | series_in_scope(one_offs, rows, manifest)


def _builds(
    one_offs: set[str],
    series: set[str],
    rows: Mapping[str, MeetingRow],
    series_rows: Mapping[str, list[MeetingRow]],
    manifest: Manifest,
    run: _Run,
    series_rooms: set[str],
) -> Iterator[tuple[Group, Build]]:
    """Each group in scope with what its rows make now (one-off meetings first)."""
    for meeting_id in sorted(one_offs):
        yield Group(key=meeting_id), _build_one_off(rows.get(meeting_id), run, series_rooms)
    for series_id in sorted(series):
        entry = manifest.series.get(series_id)
        rows_of = series_rows.get(series_id, [])
        build = build_series(series_id, rows_of, entry, settings=run.settings, config=run.config, now=run.now)
        yield Group(key=series_id, series=True), build


def _build_one_off(row: MeetingRow | None, run: _Run, series_rooms: set[str]) -> Build:
    """What a one-off meeting's row makes now: its invite, or why it waits, or nothing (not
    scheduled, gone, or joined a series - the series' file shows it: its own invite is cancelled)."""
    if row is None or row.series_key is not None or row.status_kind is not StatusKind.PROVISIONABLE:
        return Build()
    if row.series_problem is not None:
        return Build(hold=row.series_problem)
    if str(row.get("room_name") or "").strip() in series_rooms:
        return Build(hold=IN_SERIES_ROOM)
    try:
        content = InviteContent.from_row(row, settings=run.settings)
    except NotInvitable as exc:
        return Build(hold=str(exc))
    if content.ends_at <= run.now:
        return Build(past=[row.meeting_id], frozen=True)
    if content.room_exp != room_exp_for(content.ends_at, run.config):
        return Build(hold=ROOM_NOT_UPDATED)
    return Build(invite=content)


def _decide_group(decisions: Decisions, group: Group, build: Build, entry: ManifestEntry | None, run: _Run) -> None:
    """One group's action, from what its rows make now and what was published before."""
    decisions.waiting.update(build.waiting)
    decisions.past.extend(build.past)
    if build.hold is not None:
        decisions.waiting[group.label] = build.hold
    elif build.invite is not None:
        action = _invite(group, build.invite, entry, run)
        if action is None:
            decisions.unchanged.append(group.label)
        else:
            decisions.actions.append(action)
    elif entry is not None and not build.frozen:
        _cancel(decisions, group, entry, run)


def _invite(group: Group, invite: Invite, entry: ManifestEntry | None, run: _Run) -> Action | None:
    """The invite action for a group with something to show; ``None`` when it is unchanged."""

    def again(kind: ActionKind, sequence: int, stamp: int, shown: Invite = invite) -> Action:
        return Action(group=group, kind=kind, sequence=sequence, stamp=stamp, invite=shown, previous=entry)

    if entry is None:
        return again("new", 0, run.stamp)
    if entry.state == "cancelled":
        return again("reinstated", entry.sequence + 1, run.stamp)
    if invite.changed_since(entry, settings=run.settings, now=run.now):  # type: ignore[arg-type]
        return again("changed", entry.sequence + 1, run.stamp)
    if run.rewrite(entry.room_name, run.settings.host_links):
        # as published (a series: its ended occurrences included): the same bytes again
        return again("rewritten", entry.sequence, entry.stamp, invite.as_published(entry))  # type: ignore[arg-type]
    return None


def _cancel(decisions: Decisions, group: Group, entry: ManifestEntry, run: _Run) -> None:
    """A published group with nothing left to show: cancelled (once), unless it ended."""
    if entry.last_ends_at <= run.now:
        decisions.past.append(group.label)
    elif entry.state == "active":
        decisions.actions.append(
            Action(group=group, kind="cancelled", sequence=entry.sequence + 1, stamp=run.stamp, previous=entry)
        )
    elif run.rewrite(entry.room_name, entry.host_file):
        decisions.actions.append(
            Action(group=group, kind="rewritten", sequence=entry.sequence, stamp=entry.stamp, previous=entry)
        )
    else:
        decisions.unchanged.append(group.label)
