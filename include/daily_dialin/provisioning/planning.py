"""The plan of a provisioning run: the first task, and the hand-over every later task reads.

``plan`` resolves the run's window (:mod:`.window`), selects the due meetings, reports the rows no
run can select (bad ids, unreadable times, unknown statuses), the unknown requested ids and the
meetings given up on; cuts the due ids into chunks, then the due recurring series (:mod:`.series`)
into chunks of their own kind: whole series by key range, so one task per run writes a series'
room. What goes to XCom is O(1) per chunk: the :class:`~.handover.RunPlan` once, a list of chunk
numbers, and each chunk's :class:`~.chunk.ChunkBounds` under its own key (:func:`~.chunk.chunk_key`).
A dry run lists what it would do and writes nothing.

May import: ``daily_dialin`` (errors, reporting, rows) and the provisioning modules below the steps
(config, chunk, handover, meetings, recording, series, table, window). The provider's HTTP code is
never loaded here.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from daily_dialin.errors import BadMeetingRow
from daily_dialin.provisioning.chunk import ChunkBounds, chunk_key
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.handover import LISTED, AlertScope, Listed, PlanReport, Problem, RunPlan
from daily_dialin.provisioning.meetings import Meeting, WaitingForDailyWindow
from daily_dialin.provisioning.recording import Failure
from daily_dialin.provisioning.series import cap_ends_by
from daily_dialin.provisioning.table import MeetingsTable, RowProblem
from daily_dialin.provisioning.window import RunWindow, Selection, resolve_window
from daily_dialin.reporting import format_table
from daily_dialin.rows import MeetingRow

__all__ = ["DRY_RUN_LISTED", "chunk_numbers", "plan", "publish_plan"]

log = logging.getLogger(__name__)

DRY_RUN_LISTED = 1000  # rows a dry run's report lists


def plan(
    *,
    params: dict[str, Any],
    run_type: str | None,
    logical_date: datetime | None,
    config_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Select the run's due meetings. Returns ``run`` (the :class:`RunPlan`, for every later
    task) and ``bounds`` (each chunk's :class:`~.chunk.ChunkBounds` as JSON, published one key per
    chunk by :func:`publish_plan`)."""
    now = now or datetime.now(UTC)
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
    table.check_columns()
    scope = _alert_scope(table, config, now)  # before selecting: all it names were there to be selected
    ids = table.select_due_ids(window.selection)
    series = table.due_series(window.selection, now=now, cap_ends_by=cap_ends_by(now, config))
    problems = table.problem_rows(now)
    report = _plan_report(table, window.selection, ids, problems)
    log.info("Window: %s -> %d meeting(s) due, %d recurring series due", window.describe(), len(ids), len(series))
    _log_report(report, config)
    if window.dry_run:
        log.info("Dry run: nothing is created or written.\n%s", _dry_run_report(table, ids, window.selection, now))
        bounds: list[ChunkBounds] = []
    else:
        # rows no run can select get their reason now (not an attempt: the row must change first)
        # (a time that is no real instant also stores the problem digest: the watcher's cheap poll
        # cannot tell month 13 from a time and would see the row as new work on every poll)
        table.write_failures(
            [
                Failure(meeting_id=p.meeting_id, reason=p.reason, counts=False, reported=p.kind == "time")
                for p in problems
            ]
        )
        bounds = [ChunkBounds(first=part[0], last=part[-1]) for part in _cut(ids, config.chunk_size)]
        bounds += [
            ChunkBounds(kind="series", first=first, last=last) for first, last in _cut_series(series, config.chunk_size)
        ]
    selected = len(ids) + sum(size for _, size in series)
    run = _run_plan(config, window, selected=selected, chunk_count=len(bounds), report=report)
    force_live = bool(params.get("force_live_deletions"))  # only a person sets it, on a manual run
    run = run.model_copy(update={"series": len(series), "force_live_deletions": force_live, "alert_scope": scope})
    return {"run": run.to_xcom(), "bounds": [b.to_xcom() for b in bounds]}


def _alert_scope(table: MeetingsTable, config: ProvisioningConfig, now: datetime) -> AlertScope:
    """What this run's alerts may name (:meth:`.table.MeetingsTable._seen` says why)."""
    within = timedelta(minutes=config.alert_within_minutes)
    count, ids = table.alert_candidates(now=now, within=within, limit=LISTED)
    return AlertScope(planned_at=now, reach=now + within, count=count, ids=[str(i) for i in ids])


def _cut_series(series: Sequence[tuple[str, int]], size: int) -> list[tuple[str, str]]:
    """Key ranges of whole series (never one series in two chunks: one task writes its room),
    each of at most ``size`` rows unless one series alone is larger."""
    ranges: list[tuple[str, str]] = []
    first, rows, last = None, 0, None
    for key, count in series:
        if first is not None and rows + count > size:
            ranges.append((first, last))
            first, rows = None, 0
        first = key if first is None else first
        rows, last = rows + count, key
    if first is not None:
        ranges.append((first, last))
    return ranges


def _run_plan(
    config: ProvisioningConfig, window: RunWindow, *, selected: int, chunk_count: int, report: PlanReport
) -> RunPlan:
    return RunPlan(
        config=config,
        selection=window.selection,
        mode=window.mode,
        window=window.describe(),
        dry_run=window.dry_run,
        selected=selected,
        chunk_count=chunk_count,
        report=report,
    )


def _plan_report(
    table: MeetingsTable, selection: Selection, ids: Sequence[str], problems: Sequence[RowProblem]
) -> PlanReport:
    """Unknown requested ids, rows no run can select (their kind as the table classified them),
    meetings given up on (not those this run retries itself, with force)."""
    unknown = sorted(set(selection.meeting_ids) - table.existing_ids(selection.meeting_ids))
    due = set(ids)
    given_up = [mid for mid in table.given_up(selection) if mid not in due]
    return PlanReport(
        unknown=Listed.of(unknown),
        problems=[Problem(kind=p.kind, meeting_id=_shown(p.meeting_id), reason=p.reason) for p in problems[:LISTED]],
        problem_counts=dict(Counter(p.kind for p in problems)),
        given_up=Listed.of(given_up),
    )


def _log_report(report: PlanReport, config: ProvisioningConfig) -> None:
    if report.unknown.count:
        log.warning("%d requested meeting id(s) are not in the table: %s", report.unknown.count, report.unknown.ids)
    for problem in report.problems:
        log.warning("Row %s cannot be provisioned: %s", problem.meeting_id, problem.reason)
    if report.given_up.count:
        log.warning(
            "%d meeting(s) given up after %d failures (fix the row and reset attempts, or run with force): %s",
            report.given_up.count,
            config.max_attempts,
            report.given_up.ids,
        )


def _shown(meeting_id: Any) -> str | None:
    """An id as XCom can carry it: text as it is, anything else (a BLOB, a number) as its repr."""
    return meeting_id if meeting_id is None or isinstance(meeting_id, str) else repr(meeting_id)


def publish_plan(result: dict[str, Any], push: Callable[[str, Any], None]) -> dict[str, Any]:
    """Push each chunk's bounds under :func:`chunk_key` and return what the plan task returns.

    A chunk reads only its own key: resolving a mapped argument pulls the whole upstream list and
    renders every string in it, so the mapped list holds only ints and the per-chunk hand-over
    stays O(1) however many meetings a run has."""
    for index, bounds in enumerate(result["bounds"]):
        push(chunk_key(index), bounds)
    return result["run"]


def chunk_numbers(run: dict[str, Any]) -> list[int]:
    """What the mapped chunk task expands over: ints only (nothing for Jinja to render)."""
    return list(range(RunPlan.from_xcom(run).chunk_count))


def _cut(ids: Sequence[str], size: int) -> list[Sequence[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _dry_run_report(table: MeetingsTable, ids: Sequence[str], selection: Selection, now: datetime) -> str:
    config = table.config
    listed = ids[:DRY_RUN_LISTED]
    rows = table.fetch(listed)
    lines: list[tuple[Any, ...]] = [("meeting", "starts (UTC)", "room", "would", "title / problem")]
    for meeting_id in listed:
        row = rows.get(meeting_id) or MeetingRow.from_record({"meeting_id": meeting_id}, config=config)
        would = "update" if row.is_provisioned else "create"
        try:
            meeting = Meeting.from_row(row)
            spec = meeting.room_spec(config, now=now.timestamp())
            lines.append((meeting_id, f"{meeting.starts_at:%Y-%m-%d %H:%M}", spec.name, would, meeting.title))
        except WaitingForDailyWindow as exc:
            lines.append((meeting_id, "-", "-", "wait", exc.reason))
        except BadMeetingRow as exc:
            lines.append((meeting_id, "-", "-", "fail", exc.reason))
    text = format_table(lines)
    if len(ids) > DRY_RUN_LISTED:
        text += f"\n... and {len(ids) - DRY_RUN_LISTED} more"
    return text + _already_done(table, selection, set(ids))


def _already_done(table: MeetingsTable, selection: Selection, due: set[str]) -> str:
    done = table.provisioned_in(selection)
    already = [r for r in done if r.meeting_id not in due]
    if not already:
        return ""
    listed = [("meeting", "starts (UTC)", "room", "provisioned at")]
    listed += [
        (r.meeting_id, r.get("starts_at"), r.get("room_name"), r.get("provisioned_at"))
        for r in already[:DRY_RUN_LISTED]
    ]
    return f"\nAlready provisioned in this window ({len(already)}), nothing to do:\n{format_table(listed)}"
