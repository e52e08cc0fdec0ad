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

May import: ``daily_dialin.rows``, ``daily_dialin.provisioning`` (config, meetings) and the
invitations modules ``content``, ``manifest``, ``settings``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from daily_dialin.invitations.content import InviteContent, NotInvitable
from daily_dialin.invitations.manifest import Manifest, ManifestEntry
from daily_dialin.invitations.settings import InvitationSettings
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import room_exp_for
from daily_dialin.rows import MeetingRow, StatusKind, as_row

ActionKind = Literal["new", "changed", "reinstated", "rewritten", "cancelled"]
KINDS: tuple[str, ...] = ("new", "changed", "reinstated", "rewritten", "cancelled", "unchanged", "waiting", "past")
ROOM_NOT_UPDATED = "room not yet updated for the meeting's new times (the provisioning DAG does that)"


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


@dataclass(kw_only=True)
class Decisions:
    actions: list[Action] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)
    past: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = Counter({kind: 0 for kind in KINDS})
        counts.update(action.kind for action in self.actions)
        counts.update(unchanged=len(self.unchanged), waiting=len(self.waiting), past=len(self.past))
        return dict(counts)


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
) -> Decisions:
    """Decide every meeting's action (see the module's table).

    :param rows: meetings-table rows by exact meeting id (:class:`MeetingRow`; plain mappings keyed
        by logical column names are read as one while the table moves to returning rows).
    :param files_present: ``(room_name, with_host_file) -> bool``: are the published files there.
    :param scope: only these meeting ids (``None``: every row and every published meeting).
    """
    stamp = int(now.timestamp())
    ids = set(scope) if scope is not None else set(rows) | set(manifest.meetings)
    decisions = Decisions()
    for meeting_id in sorted(ids):
        raw, entry = rows.get(meeting_id), manifest.meetings.get(meeting_id)
        row = None if raw is None else as_row(raw, config)
        if row is None or row.status_kind is not StatusKind.PROVISIONABLE:
            if entry is not None:
                _decide_cancel(decisions, meeting_id, entry, now=now, stamp=stamp, force=force, files=files_present)
            continue
        content = _content(decisions, meeting_id, row, settings=settings, config=config, now=now)
        if content is None:
            continue
        action = _decide_invite(
            meeting_id, content, entry, settings=settings, stamp=stamp, force=force, files=files_present
        )
        if action is None:
            decisions.unchanged.append(meeting_id)
        else:
            decisions.actions.append(action)
    return decisions


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
