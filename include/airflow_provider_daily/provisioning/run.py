"""The steps of a provisioning run, as plain functions the DAG's tasks call.

``plan``      resolve the run's window, select due meeting ids, cut them into chunks
              (``chunk_kwargs`` turns them into the mapped task's arguments).
``provision_chunk``  validate rows, create or reuse rooms in bulk, write results back in one
              transaction. Only meeting ids and counts go to XCom: PINs stay in the table.
``summarize`` add the chunk counts up and log them as a table with each failure's reason.
``verify``    fail the run if any meeting (or whole chunk) failed - after all was written back.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from airflow_provider_daily.bulk import BulkRoomCreator, RoomOutcome
from airflow_provider_daily.errors import DailyError
from airflow_provider_daily.hooks.daily import DailyHook
from airflow_provider_daily.models import dial_string
from airflow_provider_daily.provisioning.config import ProvisioningConfig
from airflow_provider_daily.provisioning.meetings import BadMeetingRow, Meeting
from airflow_provider_daily.provisioning.table import MeetingsTable, Provisioned
from airflow_provider_daily.provisioning.window import resolve_window

log = logging.getLogger(__name__)

OUTCOMES = ("created", "reused", "updated", "skipped", "failed")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def plan(
    *,
    params: dict[str, Any],
    run_type: str | None,
    logical_date: datetime | None,
    config_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Select the run's due meetings; return the effective config and the id chunks."""
    now = now or _utcnow()
    config = ProvisioningConfig.load(config_overrides)
    window = resolve_window(
        params=params,
        run_type=run_type,
        logical_date=logical_date,
        now=now,
        horizon_days=config.horizon_days,
        lead_days=config.lead_days,
    )
    table = MeetingsTable.from_config(config)
    ids = table.select_due_ids(window.selection)
    log.info("Window: %s -> %d meeting(s) due", window.describe(), len(ids))
    if window.dry_run:
        log.info("Dry run: nothing is created or written.\n%s", _dry_run_table(table, ids, config, now))
        chunks: list[list[str]] = []
    else:
        chunks = [ids[i : i + config.chunk_size] for i in range(0, len(ids), config.chunk_size)]
    return {
        "config": config.model_dump(mode="json"),
        "mode": window.mode,
        "window": window.describe(),
        "dry_run": window.dry_run,
        "force": window.selection.force,
        "selected": len(ids),
        "chunk_count": len(chunks),
        "chunks": chunks,
    }


def chunk_kwargs(plan_result: dict[str, Any]) -> list[dict[str, Any]]:
    """One ``provision_chunk`` call's arguments per chunk (what the mapped task expands over)."""
    return [
        {"meeting_ids": chunk, "config": plan_result["config"], "force": plan_result["force"]}
        for chunk in plan_result["chunks"]
    ]


def plan_summary(plan_result: dict[str, Any]) -> dict[str, Any]:
    """The plan without its id lists: what ``summarize`` needs."""
    return {k: v for k, v in plan_result.items() if k != "chunks"}


def _dry_run_table(table: MeetingsTable, ids: Sequence[str], config: ProvisioningConfig, now: datetime) -> str:
    rows = table.fetch(ids)
    lines = [("meeting", "starts (UTC)", "room", "title / problem")]
    for meeting_id in ids:
        try:
            meeting = Meeting.from_row(rows[meeting_id])
            spec = meeting.room_spec(config, now=now.timestamp())
            lines.append((meeting_id, f"{meeting.starts_at:%Y-%m-%d %H:%M}", spec.name, meeting.title))
        except BadMeetingRow as exc:
            lines.append((meeting_id, "-", "-", f"WOULD FAIL: {exc.reason}"))
    return format_table(lines)


def _rows_to_specs(
    meeting_ids: Sequence[str], rows: dict[str, dict[str, Any]], config: ProvisioningConfig, force: bool, now: datetime
) -> tuple[dict[str, Meeting], list, dict[str, str], int]:
    by_room: dict[str, Meeting] = {}
    specs = []
    failed: dict[str, str] = {}
    skipped = 0
    for meeting_id in meeting_ids:
        row = rows.get(meeting_id)
        # gone or cancelled since planning: nothing to do
        if row is None or str(row.get("status")) not in config.provisionable_statuses:
            skipped += 1
            continue
        try:
            meeting = Meeting.from_row(row)
            spec = meeting.room_spec(config, now=now.timestamp())
        except BadMeetingRow as exc:
            failed[meeting_id] = exc.reason
            continue
        # provisioned for these very times (by another run since planning): nothing to do
        done = meeting.provisioned and row.get("room_exp") is not None
        if not force and done and int(row["room_exp"]) == spec.properties.exp:
            skipped += 1
            continue
        by_room[spec.name] = meeting
        specs.append(spec)
    return by_room, specs, failed, skipped


def provision_chunk(
    *, meeting_ids: Sequence[str], config: dict[str, Any], force: bool = False, now: datetime | None = None
) -> dict[str, Any]:
    """Provision one chunk of meetings and write every outcome back in one transaction.

    An error that outlasts the hook's retries (an outage) still writes back what was done
    before it, records the error on the meetings left undone, then re-raises so Airflow retries
    the task; the retry reuses the rooms already made.
    """
    now = now or _utcnow()
    cfg = ProvisioningConfig(**config)
    table = MeetingsTable.from_config(cfg)
    rows = table.fetch(meeting_ids)
    by_room, specs, failed, skipped = _rows_to_specs(meeting_ids, rows, cfg, force, now)
    exp_by_room = {spec.name: int(spec.properties.exp or 0) for spec in specs}
    counts: Counter[str] = Counter(skipped=skipped)

    hook = DailyHook(daily_conn_id=cfg.daily_conn_id, rate_limit_share=cfg.rate_limit_share)
    creator = BulkRoomCreator(hook=hook, batch_size=cfg.batch_size)
    outcomes: dict[str, RoomOutcome] = {}
    error: Exception | None = None
    try:
        if specs:
            creator.ensure_rooms(specs, outcomes)
    except Exception as exc:  # an outage outlasting the retries, or any surprise: keep what was done
        error = exc
        log.error("Chunk interrupted after %d of %d rooms: %s", len(outcomes), len(specs), exc)

    provisioned: list[Provisioned] = []
    for name, meeting in by_room.items():
        outcome = outcomes.get(name)
        if outcome is not None and outcome.ok and outcome.room is not None and outcome.room.pin:
            number = outcome.room.dialin_number(fallback=hook.settings.default_dialin_number)
            provisioned.append(
                Provisioned(
                    meeting_id=meeting.meeting_id,
                    room_name=name,
                    room_url=outcome.room.url,
                    pin=outcome.room.pin,
                    number=number,
                    dial_string=dial_string(number, outcome.room.pin),
                    room_exp=exp_by_room[name],
                )
            )
            counts[outcome.outcome or "created"] += 1
        elif outcome is not None and outcome.error:
            failed[meeting.meeting_id] = outcome.error
        else:
            failed[meeting.meeting_id] = f"not provisioned: {error or 'no room returned'}"
    table.write_results(provisioned=provisioned, failed=failed, now=now)
    counts["failed"] = len(failed)
    log.info(
        "Chunk of %d: %s (API calls: %s)",
        len(meeting_ids),
        ", ".join(f"{k}={counts[k]}" for k in OUTCOMES),
        creator.calls,
    )
    if error is not None:
        raise error
    return {"counts": {k: counts[k] for k in OUTCOMES}, "failed_ids": sorted(failed)}


def summarize(*, plan_result: dict[str, Any], chunk_results: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """Totals over all chunks; a chunk whose task failed counts as ``lost_chunks``."""
    totals: Counter[str] = Counter({k: 0 for k in OUTCOMES})
    failed_ids: list[str] = []
    # index, don't iterate: Airflow's lazy XCom sequence stops iterating at the first mapped
    # task that pushed nothing (a failed chunk), which would hide the chunks after it
    chunk_results = [] if chunk_results is None else chunk_results
    received = [r for r in (chunk_results[i] for i in range(len(chunk_results))) if r]
    for result in received:
        totals.update(result["counts"])
        failed_ids.extend(result["failed_ids"])
    lost = plan_result["chunk_count"] - len(received)
    summary = {
        "mode": plan_result["mode"],
        "window": plan_result["window"],
        "dry_run": plan_result["dry_run"],
        "selected": plan_result["selected"],
        "counts": dict(totals),
        "lost_chunks": lost,
        "failed_ids": failed_ids[:1000],
    }
    reasons = _failure_reasons(plan_result["config"], failed_ids[:50]) if failed_ids else {}
    rows = [("outcome", "meetings")]
    rows.append(("provisioned (new room)", str(totals["created"])))
    rows.append(("reused (room existed)", str(totals["reused"])))
    rows.append(("updated (settings fixed)", str(totals["updated"])))
    rows.append(("skipped", str(totals["skipped"])))
    rows.append(("failed", str(totals["failed"])))
    if lost:
        rows.append(("chunks whose task failed", str(lost)))
    text = format_table(rows)
    if reasons:
        text += "\n" + format_table([("failed meeting", "reason"), *sorted(reasons.items())])
    log.info("Daily dial-in provisioning (%s)\n%s", plan_result["window"], text)
    return summary


def _failure_reasons(config: dict[str, Any], ids: Sequence[str]) -> dict[str, str]:
    table = MeetingsTable.from_config(ProvisioningConfig(**config))
    return {mid: str(row.get("last_error") or "") for mid, row in table.fetch(ids).items()}


class ProvisioningFailed(DailyError):
    """Some meetings could not be provisioned; their reasons are in ``last_error``."""


def verify(summary: dict[str, Any]) -> None:
    failed = summary["counts"].get("failed", 0)
    lost = summary.get("lost_chunks", 0)
    if failed or lost:
        ids = ", ".join(summary["failed_ids"][:20])
        raise ProvisioningFailed(
            f"{failed} meeting(s) failed and {lost} chunk task(s) failed; see last_error of: {ids}"
        )


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """A plain text table; the first row is the header."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [sep]
    for index, row in enumerate(rows):
        out.append("| " + " | ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            out.append(sep)
    out.append(sep)
    return "\n".join(out)
