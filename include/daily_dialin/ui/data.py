"""The dial-in page's data: a page of meetings and the tiles, read through :class:`MeetingsTable`.

Every state (ready, pending, failing, missed, given up, deferred, problem, ...) is decided by the
table module (:meth:`MeetingsTable.overview_select`, :meth:`MeetingsTable.not_ready_soon`): this
module only filters, sorts and pages that select in SQL (``starts_at`` and ``meeting_id`` are
indexed: a page sorted by either stops after ``size`` rows) and shapes the rows for the browser.

PINs never leave unmasked: the PIN shows its last two digits, the dial string is shown whole only
to users allowed to edit the provisioning DAG.

May import: SQLAlchemy, pydantic and ``daily_dialin.provisioning`` (table).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel, Field

from daily_dialin.provisioning.table import MeetingsTable

__all__ = ["FIGURES", "MeetingsQuery", "View", "meetings_page", "tiles"]

FIGURES = ("phone_callers", "phone_minutes")  # the calls loop's figure columns the page shows
PAST = timedelta(days=1)  # meetings that ended within this are listed too (yesterday's callers)
CHART_DAYS = 14
STATE_GROUPS: dict[str, tuple[str, ...]] = {
    "ready": ("ready",),
    "pending": ("pending",),
    "problems": ("problem", "failing"),
    "missed": ("missed",),
    "deferred": ("deferred",),
    "given_up": ("given_up",),
    "cancelled": ("cancelled", "ignored"),
}
SORTS = ("starts_at", "meeting_id", "status")
_NOT_PLANNED = ("cancelled", "ignored", "problem")  # no room is wanted (or none can be): not in the counts
TROUBLESHOOTING = "troubleshooting"
# last_error prefix -> the heading (anchor) of docs/troubleshooting.md that explains it
_HELP = (
    ("deferred: ", "live-rooms-deferred"),
    ("series ", "recurring-series-last-error"),
    ("", "a-meeting-without-a-room-last-error-badmeetingrow"),
)


class MeetingsQuery(BaseModel):
    """``GET /api/meetings`` parameters (validated: a bad one is a 422)."""

    page: int = Field(default=1, ge=1, le=100_000)
    size: int = Field(default=50, ge=1, le=200)
    q: str = Field(default="", max_length=100)
    sort: str = Field(default="starts_at", pattern=r"^-?(starts_at|meeting_id|status)$")
    status: Literal["", "ready", "pending", "problems", "missed", "deferred", "given_up", "cancelled"] = ""


@dataclass(frozen=True)
class View:
    """How one table is read for the page: its settings and the optional figure columns it has."""

    table: MeetingsTable
    figures: tuple[str, ...]

    @classmethod
    def of(cls, table: MeetingsTable) -> View:
        names = {
            c["name"].lower()
            for c in sa.inspect(table.engine).get_columns(table.meetings.name, schema=table.meetings.schema)
        }
        return cls(table=table, figures=tuple(name for name in FIGURES if name in names))

    def overview(self, now: datetime, states: tuple[str, ...] = ()) -> sa.Subquery:
        until = now + timedelta(days=self.table.config.horizon_days)
        select = self.table.overview_select(now=now, since=now - PAST, until=until, extra=self.figures, states=states)
        return select.subquery()


def _filters(o: sa.Subquery, query: MeetingsQuery) -> list[Any]:
    where: list[Any] = []
    if query.q:
        where.append(
            sa.or_(o.c.meeting_id.startswith(query.q, autoescape=True), o.c.title.contains(query.q, autoescape=True))
        )
    return where


def meetings_page(view: View, query: MeetingsQuery, *, now: datetime, can_edit: bool) -> dict[str, Any]:
    """One page of the list: ``total`` (after the filters), ``rows`` shaped by :func:`_shape`."""
    o = view.overview(now, STATE_GROUPS[query.status] if query.status else ())
    where = _filters(o, query)
    column = o.c[query.sort.lstrip("-")]
    order = [column.desc(), o.c.meeting_id.desc()] if query.sort.startswith("-") else [column, o.c.meeting_id]
    rows = sa.select(o).where(*where).order_by(*order).limit(query.size).offset((query.page - 1) * query.size)
    count = sa.select(sa.func.count()).select_from(o).where(*where)
    with view.table.engine.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        records = [record._mapping for record in conn.execute(rows)]
    reasons = _problem_reasons(view, records, now)
    return {
        "total": total,
        "page": query.page,
        "size": query.size,
        "figures": list(view.figures),
        "rows": [_shape(record, view.figures, can_edit=can_edit, reasons=reasons) for record in records],
    }


def _problem_reasons(view: View, records: list[Any], now: datetime) -> dict[Any, str]:
    """Why each row problem on the page is one (:meth:`MeetingsTable.problem_rows`; read only when
    the page shows one: such rows store no ``last_error``)."""
    ids = [record["meeting_id"] for record in records if record["state"] == "problem"]
    if not ids:
        return {}
    return {problem["meeting_id"]: problem["reason"] for problem in view.table.problem_rows(now, ids)}


def _local(value: Any, zone: Any) -> tuple[str | None, str | None]:
    """(ISO UTC, ``YYYY-MM-DD HH:MM <zone>`` in the meeting's zone) of a stored time, or its text."""
    if value is None:
        return None, None
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return None, str(value)
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    try:
        tz = ZoneInfo(str(zone or "UTC"))
    except (ValueError, KeyError):
        tz = ZoneInfo("UTC")
    local = when.astimezone(tz)
    return when.isoformat(), f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def mask_pin(pin: Any) -> str | None:
    """``•••••••••87``: the last two digits only (enough to tell two PINs apart on a call)."""
    if pin in (None, ""):
        return None
    text = str(pin)
    return "•" * max(len(text) - 2, 1) + text[-2:] if len(text) > 2 else "•" * len(text)


def _help(error: str | None) -> str | None:
    if not error:
        return None
    return next(f"{TROUBLESHOOTING}#{anchor}" for prefix, anchor in _HELP if error.startswith(prefix))


def _shape(r: Any, figures: tuple[str, ...], *, can_edit: bool, reasons: dict[Any, str]) -> dict[str, Any]:
    starts_utc, starts_local = _local(r["starts_at"], r["timezone"])
    error = r["last_error"] or (reasons.get(r["meeting_id"]) if r["state"] == "problem" else None)
    number = r["dialin_number"]
    return {
        "meeting_id": None if r["meeting_id"] is None else str(r["meeting_id"]),
        "title": r["title"],
        "starts_at": starts_utc,
        "starts_local": starts_local,
        "timezone": r["timezone"],
        "state": r["state"],
        "status": r["status"],
        "series_id": r.get("series_id"),
        "room_url": r["room_url"],
        "number": number,
        "pin": mask_pin(r["dialin_pin"]),
        "dial_string": r["dial_string"] if can_edit else None,
        "attempts": r["attempts"],
        "last_error": error,
        "help": _help(error),
        **{name: r[name] for name in figures},
    }


def tiles(view: View, *, now: datetime) -> dict[str, Any]:
    """The tiles (counts by state group, within the horizon; at risk: :meth:`MeetingsTable.not_ready_soon`)
    and meetings per day for the coming :data:`CHART_DAYS` days, ready vs not: one pass over the rows."""
    o, table = view.overview(now), view.table
    coming = sa.and_(o.c.starts_at >= table.ts(now), o.c.starts_at < table.ts(now + timedelta(days=CHART_DAYS)))
    day = sa.case((coming, sa.func.substr(sa.cast(o.c.starts_at, sa.String), 1, 10)), else_=None)
    grouped = sa.select(o.c.state, day, sa.func.count()).group_by(o.c.state, day)
    with table.engine.connect() as conn:
        counted = [(state, d, int(n)) for state, d, n in conn.execute(grouped)]
    states: dict[str, int] = {}
    for state, _day, n in counted:
        states[state] = states.get(state, 0) + n
    within = table.config.alert_within_minutes
    at_risk, risky = table.not_ready_soon(now=now, within=timedelta(minutes=within), limit=20)
    counts = {group: sum(states.get(s, 0) for s in members) for group, members in STATE_GROUPS.items()}
    days = [(str(d), state == "ready", n) for state, d, n in counted if d is not None and state not in _NOT_PLANNED]
    return {
        "within_horizon": sum(n for s, n in states.items() if s not in _NOT_PLANNED),
        **counts,
        "at_risk": at_risk,
        "at_risk_ids": risky,
        "alert_within_minutes": within,
        "horizon_days": table.config.horizon_days,
        "days": _day_series(days, now),
    }


def _day_series(days: list[tuple[str, bool, int]], now: datetime) -> list[dict[str, Any]]:
    series = {(now + timedelta(days=i)).strftime("%Y-%m-%d"): {"ready": 0, "not_ready": 0} for i in range(CHART_DAYS)}
    for day, ready, n in days:
        if day in series:
            series[day]["ready" if ready else "not_ready"] += n
    return [{"day": day, **values} for day, values in series.items()]
