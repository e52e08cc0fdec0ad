"""The steps of an invitations run, as plain functions the DAG's tasks call.

``plan``   read the settings, the meetings table and the manifest; decide which meetings get new
           files (:func:`.plan.decide`). Returns meeting ids and counts only.
``write``  decide again for those ids on fresh rows, mint host tokens, render and write the files,
           then the manifest (also when interrupted, for what was written). Returns counts.

PINs and tokens stay in the files: nothing returned (XCom) or logged carries one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from daily_dialin.invitations.manifest import Manifest, ManifestEntry
from daily_dialin.invitations.plan import Action, Decisions, decide
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


def _rows(table: MeetingsTable, meeting_ids: list[str] | None) -> dict[str, MeetingRow]:
    """The rows to decide on, by exact meeting id (the table's own rule, ``MeetingRow.meeting_id``)."""
    config = table.config
    if meeting_ids:
        return {row.meeting_id: row for row in (as_row(r, config) for r in table.fetch(meeting_ids).values())}
    return {row.meeting_id: row for row in (as_row(r, config) for r in table.read_all())}


def _decide(
    *,
    settings: InvitationSettings,
    config: ProvisioningConfig,
    store: InviteStore,
    manifest: Manifest,
    meeting_ids: list[str] | None,
    force: bool,
    now: datetime,
) -> Decisions:
    rows = _rows(MeetingsTable.from_config(config), meeting_ids)
    return decide(
        rows=rows,
        manifest=manifest,
        settings=settings,
        config=config,
        now=now,
        files_present=store.listing().has_files,
        force=force,
        scope=meeting_ids or None,
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
        meeting_ids=meeting_ids,
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
        # kept only when store_host_tokens is on, and never logged
        self.tokens: dict[str, str | None] = {}

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


def write(*, plan_result: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Write the files of the planned meetings and record them in the manifest."""
    now = now or _utcnow()
    settings = InvitationSettings(**plan_result["settings"])
    config = ProvisioningConfig(**plan_result["config"])
    store = InviteStore.from_settings(settings)
    meeting_ids = list(plan_result["meeting_ids"])
    if not meeting_ids:
        log.info("No invitation to write in %s", store.url)
        return {"base": store.url, "counts": plan_result["counts"], "files_written": 0}

    manifest = store.read_manifest()
    decisions = _decide(
        settings=settings,
        config=config,
        store=store,
        manifest=manifest,
        meeting_ids=meeting_ids,
        force=bool(plan_result["force"]),
        now=now,
    )
    writer = _Writer(settings=settings, config=config, store=store)
    report = [("meeting", "action", "SEQUENCE", "attendee file")]
    before = {action.meeting_id: manifest.meetings.get(action.meeting_id) for action in decisions.actions}
    try:
        for action in decisions.actions:
            entry, outcome = writer.apply(action)
            manifest.meetings[action.meeting_id] = entry
            report.append((action.meeting_id, action.kind, str(action.sequence), f"{entry.room_name}.ics ({outcome})"))
    finally:
        try:
            _store_tokens(settings, config, writer.tokens)
        except Exception:
            # a token that did not reach the table: the meeting stays due, its files are rewritten
            # (with a new token) next run
            for meeting_id in writer.tokens:
                if before[meeting_id] is None:
                    manifest.meetings.pop(meeting_id, None)
                else:
                    manifest.meetings[meeting_id] = before[meeting_id]  # type: ignore[assignment]
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
