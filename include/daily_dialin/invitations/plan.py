"""Which meetings need a file written, decided from the table rows and the manifest. Pure logic.

For each meeting (every row of the table and every one published before, or only the run's
``meeting_ids``):

=====================================================  ==========================================
state                                                  action (``SEQUENCE``)
=====================================================  ==========================================
provisioned, never published                           ``new`` (0)
published, something the invite shows changed          ``changed`` (previous + 1)
published as cancelled, scheduled again                ``reinstated`` (previous + 1)
published, unchanged, files present                    nothing (``unchanged``)
unchanged, but a file is missing or ``force``          ``rewritten`` (same, same stamp)
published, now not scheduled or gone from the table    ``cancelled`` (previous + 1), a CANCEL file
not provisioned yet, or its room not yet updated for   nothing (``waiting``), with the reason
new times (``room_exp`` differs from the end + grace)
ended                                                  nothing (``past``): past invites are frozen
=====================================================  ==========================================

"Scheduled" means the row's status is provisionable by the one status rule
(:func:`daily_dialin.rows.normalize_status`, trimmed and case-insensitive), exactly as provisioning
decides which meetings get rooms.

Rows with a ``series_id`` are occurrences of a series (:mod:`.series`): one file per series, decided
by the same table over the series as a whole (:class:`SeriesAction`): ``new``, ``changed`` (any
occurrence added, moved, cancelled, or a shared value changed), ``reinstated``, ``rewritten``,
unchanged, ``cancelled`` (no occurrence left to show), past (every published occurrence ended), or
waiting when a published occurrence cannot be shown yet. A one-off that joins a series gets its own
invite cancelled; a row that left its series waits while it still has the series' room.

May import: ``daily_dialin.rows``, ``daily_dialin.provisioning`` (config, meetings) and the
invitations modules ``content``, ``manifest``, ``series``, ``settings``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from daily_dialin.invitations.content import InviteContent, NotInvitable
from daily_dialin.invitations.manifest import Manifest, ManifestEntry, SeriesEntry
from daily_dialin.invitations.series import (
    SeriesInvite,
    build_series,
    group_series,
    published_shape,
    series_key,
    series_label,
)
from daily_dialin.invitations.settings import InvitationSettings
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import room_exp_for
from daily_dialin.rows import MeetingRow, StatusKind, as_row

ActionKind = Literal["new", "changed", "reinstated", "rewritten", "cancelled"]
KINDS: tuple[str, ...] = ("new", "changed", "reinstated", "rewritten", "cancelled", "unchanged", "waiting", "past")
ROOM_NOT_UPDATED = "room not yet updated for the meeting's new times (the provisioning DAG does that)"
IN_SERIES_ROOM = "still in its former series' room (the provisioning DAG gives it its own)"


@dataclass(frozen=True, kw_only=True)
class Action:
    """One meeting's files to write: an invite (``content``) or, without it, a cancellation of
    ``previous`` (what was published before, if anything)."""

    meeting_id: str
    kind: ActionKind
    sequence: int
    stamp: int
    content: InviteContent | None = None
    previous: ManifestEntry | None = None

    @property
    def cancels(self) -> bool:
        return self.content is None


@dataclass(frozen=True, kw_only=True)
class SeriesAction:
    """One series' file to write: an invite (``invite``) or, without it, a cancellation of the
    whole series as ``previous`` published it."""

    series_id: str
    kind: ActionKind
    sequence: int
    stamp: int
    invite: SeriesInvite | None = None
    previous: SeriesEntry | None = None

    @property
    def cancels(self) -> bool:
        return self.invite is None


@dataclass(kw_only=True)
class Decisions:
    """Actions for one-offs (by meeting id) and series (by series id); ``unchanged``, ``waiting``
    and ``past`` list meeting ids, and series as ``series <id>``."""

    actions: list[Action] = field(default_factory=list)
    series_actions: list[SeriesAction] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)
    past: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = Counter({kind: 0 for kind in KINDS})
        counts.update(action.kind for action in self.actions)
        counts.update(action.kind for action in self.series_actions)
        counts.update(unchanged=len(self.unchanged), waiting=len(self.waiting), past=len(self.past))
        return dict(counts)


@dataclass(frozen=True, kw_only=True)
class _Run:
    """What every decision of one run shares."""

    settings: InvitationSettings
    config: ProvisioningConfig
    now: datetime
    stamp: int
    force: bool
    files: Callable[[str, bool], bool]


def decide(
    *,
    rows: Mapping[str, MeetingRow | Mapping[str, Any]],
    manifest: Manifest,
    settings: InvitationSettings,
    config: ProvisioningConfig,
    now: datetime,
    files_present: Callable[[str, bool], bool],
    force: bool = False,
    scope: Collection[str] | None = None,
    series_scope: Collection[str] | None = None,
) -> Decisions:
    """Decide every meeting's and every series' action (see the module's table).

    :param rows: meetings-table rows by exact meeting id (:class:`MeetingRow`; plain mappings keyed
        by logical column names are read as one while the table moves to returning rows). Every
        row of a series in scope must be there: an occurrence missing is one cancelled.
    :param files_present: ``(room_name, with_host_file) -> bool``: are the published files there.
    :param scope: only these meeting ids, and the series they belong to (``None`` with
        ``series_scope`` ``None``: every row, every series and everything published).
    :param series_scope: also these series ids.
    """
    run = _Run(settings=settings, config=config, now=now, stamp=int(now.timestamp()), force=force, files=files_present)
    read = {meeting_id: as_row(raw, config) for meeting_id, raw in rows.items()}
    series_rows = group_series(read.values())
    one_offs, series = _scope(read, series_rows, manifest, scope, series_scope)
    series_rooms = {entry.room_name for entry in manifest.series.values()}
    series_rooms.update(str(row.get("room_name") or "").strip() for group in series_rows.values() for row in group)
    series_rooms.discard("")
    decisions = Decisions()
    for meeting_id in sorted(one_offs):
        _decide_one_off(decisions, meeting_id, read.get(meeting_id), manifest, run, series_rooms)
    for series_id in sorted(series):
        _decide_series(decisions, series_id, series_rows.get(series_id, []), manifest.series.get(series_id), run)
    return decisions


def _scope(
    rows: Mapping[str, MeetingRow],
    series_rows: Mapping[str, list[MeetingRow]],
    manifest: Manifest,
    scope: Collection[str] | None,
    series_scope: Collection[str] | None,
) -> tuple[set[str], set[str]]:
    """The meeting ids and the series ids to decide."""
    if scope is None and series_scope is None:
        one_offs = {mid for mid, row in rows.items() if series_key(row) is None} | set(manifest.meetings)
        return one_offs, set(series_rows) | set(manifest.series)
    one_offs = set(scope or ())
    series = set(series_scope or ())
    published_in = manifest.series_by_meeting()
    for meeting_id in one_offs:
        row = rows.get(meeting_id)
        series.update(key for key in (row and series_key(row), published_in.get(meeting_id)) if key)
    return one_offs, series


def _decide_one_off(
    decisions: Decisions,
    meeting_id: str,
    row: MeetingRow | None,
    manifest: Manifest,
    run: _Run,
    series_rooms: set[str],
) -> None:
    entry = manifest.meetings.get(meeting_id)
    if row is not None and series_key(row) is not None:
        row = None  # joined a series: the series' file shows it, its own invite is cancelled
    if row is None or row.status_kind is not StatusKind.PROVISIONABLE:
        if entry is not None:
            _decide_cancel(decisions, meeting_id, entry, now=run.now, stamp=run.stamp, force=run.force, files=run.files)
        return
    if str(row.get("room_name") or "").strip() in series_rooms:
        decisions.waiting[meeting_id] = IN_SERIES_ROOM
        return
    content = _content(decisions, meeting_id, row, settings=run.settings, config=run.config, now=run.now)
    if content is None:
        return
    action = _decide_invite(
        meeting_id, content, entry, settings=run.settings, stamp=run.stamp, force=run.force, files=run.files
    )
    if action is None:
        decisions.unchanged.append(meeting_id)
    else:
        decisions.actions.append(action)


def _content(
    decisions: Decisions,
    meeting_id: str,
    row: MeetingRow,
    *,
    settings: InvitationSettings,
    config: ProvisioningConfig,
    now: datetime,
) -> InviteContent | None:
    """A scheduled meeting's invite, or ``None`` (recorded as waiting or past) when none is due."""
    try:
        content = InviteContent.from_row(row, settings=settings)
    except NotInvitable as exc:
        decisions.waiting[meeting_id] = str(exc)
        return None
    if content.ends_at <= now:
        decisions.past.append(meeting_id)
        return None
    if content.room_exp != room_exp_for(content.ends_at, config):
        decisions.waiting[meeting_id] = ROOM_NOT_UPDATED
        return None
    return content


def _decide_invite(
    meeting_id: str,
    content: InviteContent,
    entry: ManifestEntry | None,
    *,
    settings: InvitationSettings,
    stamp: int,
    force: bool,
    files: Callable[[str, bool], bool],
) -> Action | None:
    """The invite action for a scheduled meeting; ``None`` when it is unchanged."""
    if entry is None:
        return Action(meeting_id=meeting_id, kind="new", sequence=0, stamp=stamp, content=content)
    if entry.state == "cancelled":
        return _again(meeting_id, "reinstated", entry, sequence=entry.sequence + 1, stamp=stamp, content=content)
    if entry.fingerprint != content.fingerprint(settings):
        return _again(meeting_id, "changed", entry, sequence=entry.sequence + 1, stamp=stamp, content=content)
    if force or not files(entry.room_name, settings.host_links):
        return _again(meeting_id, "rewritten", entry, sequence=entry.sequence, stamp=entry.stamp, content=content)
    return None


def _again(
    meeting_id: str, kind: ActionKind, entry: ManifestEntry, *, sequence: int, stamp: int, content: InviteContent
) -> Action:
    """An invite for a meeting published before (``previous`` keeps what was published)."""
    return Action(meeting_id=meeting_id, kind=kind, sequence=sequence, stamp=stamp, content=content, previous=entry)


def _decide_cancel(
    decisions: Decisions,
    meeting_id: str,
    entry: ManifestEntry,
    *,
    now: datetime,
    stamp: int,
    force: bool,
    files: Callable[[str, bool], bool],
) -> None:
    if entry.ends_at <= now:
        decisions.past.append(meeting_id)
    elif entry.state == "active":
        decisions.actions.append(
            Action(meeting_id=meeting_id, kind="cancelled", sequence=entry.sequence + 1, stamp=stamp, previous=entry)
        )
    elif force or not files(entry.room_name, entry.host_file):
        decisions.actions.append(
            Action(meeting_id=meeting_id, kind="rewritten", sequence=entry.sequence, stamp=entry.stamp, previous=entry)
        )
    else:
        decisions.unchanged.append(meeting_id)


# -- series ---------------------------------------------------------------------------------------
def _decide_series(
    decisions: Decisions, series_id: str, rows: list[MeetingRow], entry: SeriesEntry | None, run: _Run
) -> None:
    """One series' action, from all its rows and what was published before."""
    build = build_series(series_id, rows, entry, settings=run.settings, config=run.config, now=run.now)
    decisions.waiting.update(build.waiting)
    decisions.past.extend(build.past)
    label = series_label(series_id)
    if build.hold is not None:
        decisions.waiting[label] = build.hold
    elif build.invite is None:
        if entry is not None:
            _decide_series_cancel(decisions, series_id, entry, run)
    else:
        action = _series_invite(series_id, build.invite, entry, run)
        if action is None:
            decisions.unchanged.append(label)
        else:
            decisions.series_actions.append(action)


def _series_invite(series_id: str, invite: SeriesInvite, entry: SeriesEntry | None, run: _Run) -> SeriesAction | None:
    """The invite action for a series with occurrences to show; ``None`` when it is unchanged."""

    def again(kind: ActionKind, sequence: int, stamp: int, shown: SeriesInvite) -> SeriesAction:
        return SeriesAction(
            series_id=series_id, kind=kind, sequence=sequence, stamp=stamp, invite=shown, previous=entry
        )

    if entry is None:
        return again("new", 0, run.stamp, invite)
    if entry.state == "cancelled":
        return again("reinstated", entry.sequence + 1, run.stamp, invite)
    if entry.fingerprint != invite.fingerprint(run.settings) or published_shape(entry, run.now) != invite.shape():
        return again("changed", entry.sequence + 1, run.stamp, invite)
    if run.force or not run.files(entry.room_name, run.settings.host_links):
        # as published (ended occurrences included): the same bytes again
        published = SeriesInvite.from_entry(series_id, entry, invite.content)
        return again("rewritten", entry.sequence, entry.stamp, published)
    return None


def _decide_series_cancel(decisions: Decisions, series_id: str, entry: SeriesEntry, run: _Run) -> None:
    """A published series with no occurrence left to show: cancelled as a whole (once)."""
    label = series_label(series_id)
    if entry.last_ends_at <= run.now:
        decisions.past.append(label)
    elif entry.state == "active":
        decisions.series_actions.append(
            SeriesAction(
                series_id=series_id, kind="cancelled", sequence=entry.sequence + 1, stamp=run.stamp, previous=entry
            )
        )
    elif run.force or not run.files(entry.room_name, entry.host_file):
        decisions.series_actions.append(
            SeriesAction(
                series_id=series_id, kind="rewritten", sequence=entry.sequence, stamp=entry.stamp, previous=entry
            )
        )
    else:
        decisions.unchanged.append(label)
