"""The steps of an invitations run, as plain functions the DAG's tasks call.

``plan``   read the settings, the meetings table and the manifest; decide which groups - one-off
           meetings and series - get new files (:func:`.plan.decide`). Returns
           :class:`InvitationPlan`: meeting ids, series ids and counts only.
``write``  decide again for those ids on fresh rows, mint host tokens, render and write the files,
           then the manifest (also when interrupted, for what was written). Returns
           :class:`WriteResult`: counts.

Both travel through XCom as their ``to_xcom()`` form (the typed hand-overs of
:mod:`daily_dialin.provisioning.handover`). PINs and tokens stay in the files: nothing returned
(XCom) or logged carries one.

May import: ``daily_dialin`` (hook, meeting_ids, reporting, rows, provisioning: config, handover,
table) and every invitations module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from daily_dialin.invitations.manifest import Manifest, ManifestEntry, SeriesEntry
from daily_dialin.invitations.plan import Action, Decisions, Group, Invite, decide, series_in_scope
from daily_dialin.invitations.series import SeriesInvite
from daily_dialin.invitations.settings import InvitationSettings
from daily_dialin.invitations.store import InviteStore
from daily_dialin.invitations.tokens import OwnerTokenMinter, host_link, owner_token_minter
from daily_dialin.meeting_ids import parse_meeting_ids
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.handover import Handover
from daily_dialin.provisioning.table import MeetingsTable
from daily_dialin.reporting import format_table
from daily_dialin.rows import MeetingRow

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

LOGGED_WAITING = 50


class InvitationPlan(Handover):
    """``plan`` -> ``write``: the settings to write with, and the groups that get files."""

    settings: InvitationSettings
    config: ProvisioningConfig
    base: str = Field(description="the storage base, as a URL")
    force: bool = False
    meeting_ids: list[str] = Field(default_factory=list, description="one-off meetings with files to write")
    series_ids: list[str] = Field(default_factory=list, description="series with files to write")
    counts: dict[str, int] = Field(default_factory=dict, description="groups per action (plan.KINDS)")


class WriteResult(Handover):
    """What ``write`` did."""

    base: str
    counts: dict[str, int] = Field(default_factory=dict)
    files_written: int = Field(default=0, ge=0)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _by_id(rows: Iterable[MeetingRow]) -> dict[str, MeetingRow]:
    return {row.meeting_id: row for row in rows}


def _rows(
    table: MeetingsTable, meeting_ids: list[str] | None, series_ids: list[str] | None, manifest: Manifest
) -> dict[str, MeetingRow]:
    """The rows to decide on, by exact meeting id (the table's own rule, ``MeetingRow.meeting_id``):
    every row without a scope; else the scope's rows and every row of each series in scope (of
    ``series_ids``, of a scope row, or published with a scope id), as a series is decided whole."""
    if meeting_ids is None and series_ids is None:
        return _by_id(table.read_all())
    rows = _by_id(table.fetch(meeting_ids).values()) if meeting_ids else {}
    wanted = set(series_ids or ()) | series_in_scope(meeting_ids or (), rows, manifest)
    if wanted:
        rows.update(_by_id(row for row in table.read_all() if row.series_key in wanted))
    return rows


def _decide(
    *,
    settings: InvitationSettings,
    config: ProvisioningConfig,
    store: InviteStore,
    manifest: Manifest,
    meeting_ids: list[str] | None,
    series_ids: list[str] | None = None,
    force: bool,
    now: datetime,
) -> Decisions:
    rows = _rows(MeetingsTable.from_config(config), meeting_ids, series_ids, manifest)
    return decide(
        rows=rows,
        manifest=manifest,
        settings=settings,
        config=config,
        now=now,
        files_present=store.listing().has_files,
        force=force,
        scope=meeting_ids,
        series_scope=series_ids,
    )


def plan(
    *,
    params: Mapping[str, Any],
    config_overrides: dict[str, Any] | None = None,
    settings_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> InvitationPlan:
    """Which meetings and series this run writes files for, with the settings ``write`` must use.

    ``config_overrides`` / ``settings_overrides`` go on top of the Variables ``daily_provisioning``
    / ``daily_invitations`` (the DAG factory's arguments, :mod:`daily_dialin.dags.layers`)."""
    now = now or _utcnow()
    settings = InvitationSettings.load(settings_overrides)
    config = ProvisioningConfig.load(config_overrides)
    store = InviteStore.from_settings(settings)
    if settings.store_host_tokens:
        MeetingsTable.from_config(config).check_optional_column(settings.host_token_column, "store_host_tokens")
    meeting_ids = sorted(parse_meeting_ids(params.get("meeting_ids")))  # the one rule (daily_dialin.meeting_ids)
    force = bool(params.get("force"))
    decisions = _decide(
        settings=settings,
        config=config,
        store=store,
        manifest=store.read_manifest(),
        meeting_ids=meeting_ids or None,
        force=force,
        now=now,
    )
    counts = decisions.counts()
    log.info("Invitations in %s: %s", store.url, ", ".join(f"{kind}={count}" for kind, count in counts.items()))
    if decisions.waiting:
        waiting = sorted(decisions.waiting.items())[:LOGGED_WAITING]
        log.info("Waiting meetings (no file yet):\n%s", format_table([("meeting", "why"), *waiting]))
    return InvitationPlan(
        settings=settings,
        config=config,
        base=store.url,
        force=force,
        meeting_ids=[action.group.key for action in decisions.of(series=False)],
        series_ids=[action.group.key for action in decisions.of(series=True)],
        counts=counts,
    )


class _Writer:
    """Writes the files of one run's actions; mints host tokens only when a host file is due."""

    def __init__(self, *, settings: InvitationSettings, config: ProvisioningConfig, store: InviteStore) -> None:
        self.settings = settings
        self.config = config
        self.store = store
        self._minter: OwnerTokenMinter | None = None
        self.files_written = 0
        # meeting id -> the token of its new host file (None: cleared, the meeting was cancelled);
        # kept only when store_host_tokens is on, and never logged. A series' token goes to each of
        # its occurrences. ``token_groups``: whose tokens they are.
        self.tokens: dict[str, str | None] = {}
        self.token_groups: set[Group] = set()

    @property
    def minter(self) -> OwnerTokenMinter:
        if self._minter is None:
            from daily_dialin.hook import daily_hook

            hook = daily_hook(self.config, shared=True, deadline=False, live_rooms=False)
            self._minter = owner_token_minter(method=self.settings.token_method, hook=hook)
        return self._minter

    def _put(self, path: ObjectStoragePath, data: bytes) -> str:
        if self.store.write(path, data):
            self.files_written += 1
            return "written"
        return "same bytes"

    def _keep_tokens(self, group: Group, tokens: dict[str, str | None]) -> None:
        if self.settings.store_host_tokens:
            self.tokens.update(tokens)
            self.token_groups.add(group)

    def apply(self, action: Action) -> tuple[ManifestEntry, str]:
        """Write one action's files - a one-off meeting's or a series' alike; return the manifest
        entry and what happened to the files."""
        if action.invite is None:
            return self._cancel(action)
        return self._invite(action, action.invite)

    def _cancel(self, action: Action) -> tuple[ManifestEntry, str]:
        from daily_dialin.invitations.ical import render_cancel

        assert action.previous is not None
        entry = action.previous.cancelled(sequence=action.sequence, stamp=action.stamp)
        outcome = self._put(self.store.attendee_path(entry.room_name), render_cancel(entry, settings=self.settings))
        if entry.host_file:
            self._put(self.store.host_path(entry.room_name), render_cancel(entry, settings=self.settings, host=True))
        self._keep_tokens(action.group, dict.fromkeys(entry.members(action.group.key)))
        return entry, outcome

    def _invite(self, action: Action, invite: Invite) -> tuple[ManifestEntry, str]:
        from daily_dialin.invitations.ical import render

        settings, sequence, stamp = self.settings, action.sequence, action.stamp
        outcome = self._put(
            self.store.attendee_path(invite.room_name),
            render(invite, settings=settings, sequence=sequence, stamp=stamp),
        )
        if settings.host_links:
            token = self.minter.mint(room_name=invite.room_name, exp=invite.room_exp, issued_at=stamp)
            link = host_link(invite.room_url, token)
            data = render(invite, settings=settings, sequence=sequence, stamp=stamp, host_link=link)
            self._put(self.store.host_path(invite.room_name), data)
            self._keep_tokens(action.group, invite.holders(token))
        return published_entry(invite, action, settings=settings), outcome


def published_entry(invite: Invite, action: Action, *, settings: InvitationSettings) -> ManifestEntry:
    """What the manifest remembers of a file written for ``invite`` (a series: with its occurrences)."""
    previous = action.previous
    shown: dict[str, Any] = {
        "room_name": invite.room_name,
        "state": "active",
        "fingerprint": invite.fingerprint(settings),
        "sequence": action.sequence,
        "stamp": action.stamp,
        "title": invite.title,
        "starts_at": invite.starts_at.astimezone(UTC),
        "ends_at": invite.ends_at.astimezone(UTC),
        "timezone": invite.timezone,
        "room_url": invite.room_url,
        "host_file": settings.host_links or bool(previous and previous.host_file),
    }
    if isinstance(invite, SeriesInvite):
        return SeriesEntry(**shown, occurrences=invite.occurrence_entries())
    return ManifestEntry(**shown)


def _apply_all(
    writer: _Writer, decisions: Decisions, manifest: Manifest, report: list[tuple[str, str, str, str]]
) -> None:
    """Every action's files, each recorded in the manifest as soon as it is written."""
    for action in decisions.actions:
        entry, outcome = writer.apply(action)
        manifest.book(series=action.group.series)[action.group.key] = entry
        report.append((action.group.label, action.kind, str(action.sequence), f"{entry.room_name}.ics ({outcome})"))


def _forget_tokens(writer: _Writer, manifest: Manifest, before: Mapping[Group, ManifestEntry | None]) -> None:
    """Tokens that did not reach the table: their groups stay due (their files are rewritten, with
    a new token, next run). ``before``: the entries before the run."""
    for group in writer.token_groups:
        book = manifest.book(series=group.series)
        if (entry := before.get(group)) is None:
            book.pop(group.key, None)
        else:
            book[group.key] = entry


def write(*, plan_result: Mapping[str, Any] | InvitationPlan, now: datetime | None = None) -> WriteResult:
    """Write the files of the planned meetings and series and record them in the manifest."""
    now = now or _utcnow()
    planned = InvitationPlan.from_xcom(plan_result)
    settings, config = planned.settings, planned.config
    store = InviteStore.from_settings(settings)
    if not planned.meeting_ids and not planned.series_ids:
        log.info("No invitation to write in %s", store.url)
        return WriteResult(base=store.url, counts=planned.counts)

    manifest = store.read_manifest()
    decisions = _decide(
        settings=settings,
        config=config,
        store=store,
        manifest=manifest,
        meeting_ids=planned.meeting_ids,
        series_ids=planned.series_ids,
        force=planned.force,
        now=now,
    )
    writer = _Writer(settings=settings, config=config, store=store)
    report = [("meeting", "action", "SEQUENCE", "attendee file")]
    before = {a.group: manifest.book(series=a.group.series).get(a.group.key) for a in decisions.actions}
    try:
        _apply_all(writer, decisions, manifest, report)
    finally:
        try:
            _store_tokens(settings, config, writer.tokens)
        except Exception:
            _forget_tokens(writer, manifest, before)
            raise
        finally:
            # what was written stays recorded, even when a later meeting failed
            store.write_manifest(manifest)
            log.info("Invitations written to %s\n%s", store.url, format_table(report))
    counts = decisions.counts()
    log.info("%s; %d file(s) written", ", ".join(f"{k}={v}" for k, v in counts.items()), writer.files_written)
    return WriteResult(base=store.url, counts=counts, files_written=writer.files_written)


def _store_tokens(settings: InvitationSettings, config: ProvisioningConfig, tokens: dict[str, str | None]) -> None:
    """With ``store_host_tokens`` on: each new host file's token into the table (cancelled: NULL)."""
    if not tokens:
        return
    table = MeetingsTable.from_config(config)
    table.write_optional_column(settings.host_token_column, [(token, mid) for mid, token in tokens.items()])
    log.info("Host tokens of %d meeting(s) stored in column %s", len(tokens), settings.host_token_column)
