"""The steps of an invitations run, as plain functions the DAG's tasks call.

``plan``   read the settings, the meetings table and the manifest; decide which meetings and which
           series get new files (:func:`.plan.decide`). Returns meeting ids, series ids and
           counts only.
``write``  decide again for those ids on fresh rows, mint host tokens, render and write the files,
           then the manifest (also when interrupted, for what was written). Returns counts.

PINs and tokens stay in the files: nothing returned (XCom) or logged carries one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from daily_dialin.invitations.manifest import Manifest, ManifestEntry, SeriesEntry
from daily_dialin.invitations.plan import Action, Decisions, SeriesAction, decide
from daily_dialin.invitations.series import SeriesInvite, series_key, series_label
from daily_dialin.invitations.settings import InvitationSettings
from daily_dialin.invitations.store import InviteStore
from daily_dialin.invitations.tokens import OwnerTokenMinter, host_link, owner_token_minter
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.table import MeetingsTable
from daily_dialin.reporting import format_table
from daily_dialin.rows import MeetingRow, as_row

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

LOGGED_WAITING = 50


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _rows(
    table: MeetingsTable, meeting_ids: list[str] | None, series_ids: list[str] | None, manifest: Manifest
) -> dict[str, MeetingRow]:
    """The rows to decide on, by exact meeting id (the table's own rule, ``MeetingRow.meeting_id``):
    every row without a scope; else the scope's rows and every row of each series in scope (of
    ``series_ids``, of a scope row, or published with a scope id), as a series is decided whole."""
    config = table.config
    if meeting_ids is None and series_ids is None:
        return {row.meeting_id: row for row in (as_row(r, config) for r in table.read_all())}
    ids = meeting_ids or []
    rows = {row.meeting_id: row for row in (as_row(r, config) for r in table.fetch(ids).values())} if ids else {}
    published_in = manifest.series_by_meeting()
    wanted = set(series_ids or ())
    wanted.update(key for key in (series_key(row) for row in rows.values()) if key is not None)
    wanted.update(published_in[mid] for mid in ids if mid in published_in)
    if wanted:
        every = (as_row(r, config) for r in table.read_all())
        rows.update((row.meeting_id, row) for row in every if series_key(row) in wanted)
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
    params: dict[str, Any],
    config_overrides: dict[str, Any] | None = None,
    settings_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Which meetings this run writes files for, with the settings ``write`` must use.

    ``config_overrides`` / ``settings_overrides`` go on top of the Variables ``daily_provisioning``
    / ``daily_invitations`` (the DAG factory's arguments, :mod:`daily_dialin.dags.layers`)."""
    now = now or _utcnow()
    settings = InvitationSettings.load(settings_overrides)
    config = ProvisioningConfig.load(config_overrides)
    store = InviteStore.from_settings(settings)
    if settings.store_host_tokens:
        MeetingsTable.from_config(config).check_optional_column(settings.host_token_column, "store_host_tokens")
    meeting_ids = sorted({str(m) for m in params.get("meeting_ids") or []})
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
    log.info(
        "Invitations in %s: %s",
        store.url,
        ", ".join(f"{kind}={count}" for kind, count in counts.items()),
    )
    if decisions.waiting:
        waiting = sorted(decisions.waiting.items())[:LOGGED_WAITING]
        log.info("Waiting meetings (no file yet):\n%s", format_table([("meeting", "why"), *waiting]))
    return {
        "settings": settings.model_dump(mode="json"),
        "config": config.model_dump(mode="json"),
        "base": store.url,
        "force": force,
        "meeting_ids": [action.meeting_id for action in decisions.actions],
        "series_ids": [action.series_id for action in decisions.series_actions],
        "counts": counts,
    }


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
        # its occurrences. Whose tokens they are: one-off meeting ids, series ids.
        self.tokens: dict[str, str | None] = {}
        self.token_meetings: set[str] = set()
        self.token_series: set[str] = set()

    @property
    def minter(self) -> OwnerTokenMinter:
        if self._minter is None:
            from airflow_provider_daily.hooks.daily import DailyHook

            hook = DailyHook(daily_conn_id=self.config.daily_conn_id, rate_limit_share=self.config.rate_limit_share)
            self._minter = owner_token_minter(method=self.settings.token_method, hook=hook)
        return self._minter

    def _put(self, path: ObjectStoragePath, data: bytes) -> str:
        if self.store.write(path, data):
            self.files_written += 1
            return "written"
        return "same bytes"

    def apply(self, action: Action) -> tuple[ManifestEntry, str]:
        """Write one action's files; return the manifest entry and what happened to the files."""
        from daily_dialin.invitations.ical import render_cancellation, render_invite

        if action.cancels:
            assert action.previous is not None
            entry = action.previous.model_copy(
                update={"state": "cancelled", "sequence": action.sequence, "stamp": action.stamp}
            )
            data = render_cancellation(entry, settings=self.settings)
            outcome = self._put(self.store.attendee_path(entry.room_name), data)
            if entry.host_file:
                data = render_cancellation(entry, settings=self.settings, host=True)
                self._put(self.store.host_path(entry.room_name), data)
            if self.settings.store_host_tokens:
                self.tokens[action.meeting_id] = None
                self.token_meetings.add(action.meeting_id)
            return entry, outcome

        content = action.content
        assert content is not None
        attendee = render_invite(content, settings=self.settings, sequence=action.sequence, stamp=action.stamp)
        outcome = self._put(self.store.attendee_path(content.room_name), attendee)
        if self.settings.host_links:
            token = self.minter.mint(room_name=content.room_name, exp=content.room_exp, issued_at=action.stamp)
            host = render_invite(
                content,
                settings=self.settings,
                sequence=action.sequence,
                stamp=action.stamp,
                host_link=host_link(content.room_url, token),
            )
            self._put(self.store.host_path(content.room_name), host)
            if self.settings.store_host_tokens:
                self.tokens[action.meeting_id] = token
                self.token_meetings.add(action.meeting_id)
        previous = action.previous
        entry = ManifestEntry(
            room_name=content.room_name,
            state="active",
            fingerprint=content.fingerprint(self.settings),
            sequence=action.sequence,
            stamp=action.stamp,
            title=content.title,
            starts_at=content.starts_at.astimezone(UTC),
            ends_at=content.ends_at.astimezone(UTC),
            timezone=content.timezone,
            room_url=content.room_url,
            host_file=self.settings.host_links or bool(previous and previous.host_file),
        )
        return entry, outcome

    # -- series ----------------------------------------------------------------------------------
    def _keep_tokens(self, series_id: str, tokens: dict[str, str | None]) -> None:
        if self.settings.store_host_tokens:
            self.tokens.update(tokens)
            self.token_series.add(series_id)

    def apply_series(self, action: SeriesAction) -> tuple[SeriesEntry, str]:
        """Write one series' files; return its manifest entry and what happened to the files."""
        from daily_dialin.invitations.ical import render_series_cancellation

        if action.invite is not None:
            return self._series_invite(action, action.invite)
        previous = action.previous
        assert previous is not None
        entry = previous.model_copy(
            update={
                "state": "cancelled",
                "sequence": action.sequence,
                "stamp": action.stamp,
                "occurrences": {
                    mid: o.model_copy(update={"state": "cancelled"}) for mid, o in previous.occurrences.items()
                },
            }
        )
        outcome = self._put(
            self.store.attendee_path(entry.room_name), render_series_cancellation(entry, settings=self.settings)
        )
        if entry.host_file:
            data = render_series_cancellation(entry, settings=self.settings, host=True)
            self._put(self.store.host_path(entry.room_name), data)
        self._keep_tokens(action.series_id, dict.fromkeys(entry.occurrences))
        return entry, outcome

    def _series_invite(self, action: SeriesAction, invite: SeriesInvite) -> tuple[SeriesEntry, str]:
        from daily_dialin.invitations.ical import render_series_invite

        content, settings = invite.content, self.settings
        data = render_series_invite(invite, settings=settings, sequence=action.sequence, stamp=action.stamp)
        outcome = self._put(self.store.attendee_path(invite.room_name), data)
        if settings.host_links:
            token = self.minter.mint(room_name=invite.room_name, exp=content.room_exp, issued_at=action.stamp)
            link = host_link(content.room_url, token)
            data = render_series_invite(
                invite, settings=settings, sequence=action.sequence, stamp=action.stamp, host_link=link
            )
            self._put(self.store.host_path(invite.room_name), data)
            tokens: dict[str, str | None] = dict.fromkeys((o.meeting_id for o in invite.exdates), None)
            tokens.update((o.meeting_id, token) for o in invite.occurrences)
            self._keep_tokens(action.series_id, tokens)
        previous = action.previous
        entry = SeriesEntry(
            room_name=invite.room_name,
            state="active",
            fingerprint=invite.fingerprint(settings),
            sequence=action.sequence,
            stamp=action.stamp,
            title=invite.title,
            starts_at=invite.starts_at.astimezone(UTC),
            ends_at=invite.ends_at.astimezone(UTC),
            timezone=content.timezone,
            room_url=content.room_url,
            host_file=settings.host_links or bool(previous and previous.host_file),
            occurrences=invite.occurrence_entries(),
        )
        return entry, outcome


def _apply_all(
    writer: _Writer, decisions: Decisions, manifest: Manifest, report: list[tuple[str, str, str, str]]
) -> None:
    """Every action's files, each recorded in the manifest as soon as it is written."""
    for action in decisions.actions:
        entry, outcome = writer.apply(action)
        manifest.meetings[action.meeting_id] = entry
        report.append((action.meeting_id, action.kind, str(action.sequence), f"{entry.room_name}.ics ({outcome})"))
    for series_action in decisions.series_actions:
        series_entry, outcome = writer.apply_series(series_action)
        manifest.series[series_action.series_id] = series_entry
        row = (series_label(series_action.series_id), series_action.kind, str(series_action.sequence))
        report.append((*row, f"{series_entry.room_name}.ics ({outcome})"))


def _forget_tokens(
    writer: _Writer,
    manifest: Manifest,
    meetings: dict[str, ManifestEntry | None],
    series: dict[str, SeriesEntry | None],
) -> None:
    """Tokens that did not reach the table: their meetings and series stay due (their files are
    rewritten, with a new token, next run). ``meetings``/``series``: the entries before the run."""
    for meeting_id in writer.token_meetings:
        if (entry := meetings.get(meeting_id)) is None:
            manifest.meetings.pop(meeting_id, None)
        else:
            manifest.meetings[meeting_id] = entry
    for series_id in writer.token_series:
        if (series_entry := series.get(series_id)) is None:
            manifest.series.pop(series_id, None)
        else:
            manifest.series[series_id] = series_entry


def write(*, plan_result: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Write the files of the planned meetings and series and record them in the manifest."""
    now = now or _utcnow()
    settings = InvitationSettings(**plan_result["settings"])
    config = ProvisioningConfig(**plan_result["config"])
    store = InviteStore.from_settings(settings)
    meeting_ids = list(plan_result["meeting_ids"])
    series_ids = list(plan_result.get("series_ids") or [])  # a plan from before series: none
    if not meeting_ids and not series_ids:
        log.info("No invitation to write in %s", store.url)
        return {"base": store.url, "counts": plan_result["counts"], "files_written": 0}

    manifest = store.read_manifest()
    decisions = _decide(
        settings=settings,
        config=config,
        store=store,
        manifest=manifest,
        meeting_ids=meeting_ids,
        series_ids=series_ids,
        force=bool(plan_result["force"]),
        now=now,
    )
    writer = _Writer(settings=settings, config=config, store=store)
    report = [("meeting", "action", "SEQUENCE", "attendee file")]
    meetings_before = {a.meeting_id: manifest.meetings.get(a.meeting_id) for a in decisions.actions}
    series_before = {a.series_id: manifest.series.get(a.series_id) for a in decisions.series_actions}
    try:
        _apply_all(writer, decisions, manifest, report)
    finally:
        try:
            _store_tokens(settings, config, writer.tokens)
        except Exception:
            _forget_tokens(writer, manifest, meetings_before, series_before)
            raise
        finally:
            # what was written stays recorded, even when a later meeting failed
            store.write_manifest(manifest)
            log.info("Invitations written to %s\n%s", store.url, format_table(report))
    counts = decisions.counts()
    log.info("%s; %d file(s) written", ", ".join(f"{k}={v}" for k, v in counts.items()), writer.files_written)
    return {"base": store.url, "counts": counts, "files_written": writer.files_written}


def _store_tokens(settings: InvitationSettings, config: ProvisioningConfig, tokens: dict[str, str | None]) -> None:
    """With ``store_host_tokens`` on: each new host file's token into the table (cancelled: NULL)."""
    if not tokens:
        return
    table = MeetingsTable.from_config(config)
    table.write_optional_column(settings.host_token_column, [(token, mid) for mid, token in tokens.items()])
    log.info("Host tokens of %d meeting(s) stored in column %s", len(tokens), settings.host_token_column)
