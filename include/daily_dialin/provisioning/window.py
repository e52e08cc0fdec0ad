"""Which meetings a run of ``daily_dialin_provisioning`` covers: the documented date mapping.

Three modes, chosen from the run itself:

``manual``
    The run's params name a window (``window_start``/``window_end``, UTC dates, both inclusive)
    and/or ``meeting_ids``. Only those meetings are touched.
``calendar_day``
    Backfill runs (``airflow backfill create --from-date … --to-date …``), and any run with a
    logical date whose param ``mode`` is ``calendar_day`` (``airflow dags trigger --logical-date D
    -c '{"mode": "calendar_day"}'``). A run with logical date D covers meetings **starting on the
    UTC day D + lead_days**. Airflow refuses future backfill dates; this shift is how a backfill
    of past dates provisions an upcoming calendar: to provision 14-16 December with
    lead_days=30, backfill 14-16 November.
``rolling``
    Scheduled runs, and manual runs without a window (param ``mode`` ``auto`` or ``rolling``):
    every not-yet-provisioned meeting that has not ended and starts before now + horizon_days,
    so late additions are picked up by the next run.

Manual runs carry a logical date too when started by ``airflow dags test`` or ``dag.test()``
(it defaults to now), so the logical date alone never selects ``calendar_day``.

Every mode stops at what Daily allows: a dial-in room must expire within 365 days.

A :class:`Selection` travels between tasks inside the run's plan (``handover.RunPlan``), which
serializes it as JSON; it is a plain dataclass, so the table can copy it with another ``force``.

May import: :mod:`.config` and ``daily_dialin.errors`` (and the standard library).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from daily_dialin.errors import InvalidRunParams
from daily_dialin.meeting_ids import parse_meeting_ids
from daily_dialin.provisioning.config import MAX_AHEAD_DAYS

__all__ = ["InvalidRunParams", "RunWindow", "Selection", "resolve_window"]


@dataclass(frozen=True)
class Selection:
    """Which rows a run wants: time bounds (any may be None), ids, and whether to redo done ones."""

    starts_from: datetime | None = None
    starts_before: datetime | None = None
    ends_after: datetime | None = None
    meeting_ids: tuple[str, ...] = ()
    force: bool = False


@dataclass(frozen=True)
class RunWindow:
    mode: str
    selection: Selection
    dry_run: bool

    def describe(self) -> str:
        s = self.selection

        def fmt(value: datetime | None) -> str:
            return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"

        parts = [f"mode={self.mode}", f"starts in [{fmt(s.starts_from)}, {fmt(s.starts_before)})"]
        if s.ends_after:
            parts.append(f"ends after {fmt(s.ends_after)}")
        if s.meeting_ids:
            parts.append(f"{len(s.meeting_ids)} meeting id(s)")
        if s.force:
            parts.append("force")
        if self.dry_run:
            parts.append("dry run")
        return ", ".join(parts)


def _as_date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidRunParams(f"{name} must be a date YYYY-MM-DD, not {value!r}") from None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def resolve_window(
    *,
    params: dict[str, Any],
    run_type: str | None,
    logical_date: datetime | None,
    now: datetime,
    horizon_days: int,
    lead_days: int,
) -> RunWindow:
    """Map a run (its type, logical date and params) to the meetings it provisions: one function
    per mode (:func:`manual_window`, :func:`calendar_day_window`, :func:`rolling_window`)."""
    dry_run, force = bool(params.get("dry_run", False)), bool(params.get("force", False))
    meeting_ids = parse_meeting_ids(params.get("meeting_ids"))
    start = _as_date(params.get("window_start"), "window_start")
    end = _as_date(params.get("window_end"), "window_end")
    if start or end or meeting_ids:
        selection = manual_window(start, end, meeting_ids, now=now, horizon_days=horizon_days, force=force)
        return RunWindow(mode="manual", selection=selection, dry_run=dry_run)
    if _mode(params, run_type, logical_date) == "calendar_day":
        assert logical_date is not None
        selection = calendar_day_window(logical_date, now=now, lead_days=lead_days, force=force)
        return RunWindow(mode="calendar_day", selection=selection, dry_run=dry_run)
    return RunWindow(
        mode="rolling", selection=rolling_window(now=now, horizon_days=horizon_days, force=force), dry_run=dry_run
    )


def _mode(params: dict[str, Any], run_type: str | None, logical_date: datetime | None) -> str:
    """A run without a window or ids: ``calendar_day`` (asked for, or a backfill) or ``rolling``."""
    mode = str(params.get("mode") or "auto")
    if mode not in ("auto", "rolling", "calendar_day"):
        raise InvalidRunParams(f"mode must be auto, rolling or calendar_day, not {mode!r}")
    if mode == "calendar_day" and logical_date is None:
        raise InvalidRunParams("mode calendar_day needs a run with a logical date (a backfill, or --logical-date)")
    if mode == "calendar_day" or (mode == "auto" and run_type == "backfill" and logical_date is not None):
        return "calendar_day"
    return "rolling"


def manual_window(
    start: date | None, end: date | None, meeting_ids: tuple[str, ...], *, now: datetime, horizon_days: int, force: bool
) -> Selection:
    """``manual``: UTC dates ``start``..``end`` (both inclusive; one alone: a day, or ``horizon_days``
    from ``start``) and/or meeting ids; never beyond what Daily allows."""
    if start and end and end < start:
        raise InvalidRunParams(f"window_end {end} is before window_start {start}")
    if end is not None:
        starts_before: datetime | None = _midnight(end) + timedelta(days=1)
    elif start is not None:
        starts_before = _midnight(start) + timedelta(days=horizon_days)
    else:
        starts_before = None  # meeting ids alone
    if starts_before is not None and starts_before > now + timedelta(days=MAX_AHEAD_DAYS + 1):
        raise InvalidRunParams(
            f"the window reaches {starts_before:%Y-%m-%d}, more than {MAX_AHEAD_DAYS} days ahead: Daily "
            "dial-in rooms must expire within 365 days; provision those meetings later"
        )
    # meetings that are over need no room, whatever the window says
    return Selection(
        starts_from=_midnight(start) if start else None,
        starts_before=starts_before,
        ends_after=now,
        meeting_ids=meeting_ids,
        force=force,
    )


def calendar_day_window(logical_date: datetime, *, now: datetime, lead_days: int, force: bool) -> Selection:
    """``calendar_day``: meetings starting on the UTC day ``logical_date + lead_days``."""
    day = logical_date.astimezone(UTC).date() + timedelta(days=lead_days)
    return Selection(
        starts_from=_midnight(day), starts_before=_midnight(day) + timedelta(days=1), ends_after=now, force=force
    )


def rolling_window(*, now: datetime, horizon_days: int, force: bool) -> Selection:
    """``rolling``: every meeting not over that starts before ``now + horizon_days``."""
    return Selection(starts_from=None, starts_before=now + timedelta(days=horizon_days), ends_after=now, force=force)
