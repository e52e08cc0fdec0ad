"""The dial-in page's data: a page of meetings and the tiles, read through :class:`MeetingsTable`.

Every state (ready, pending, failing, missed, given up, deferred, problem, ...) is decided by the
table module (:meth:`MeetingsTable.overview_select`, :meth:`MeetingsTable.not_ready_soon`): this
module only filters, sorts and pages that select in SQL and shapes the rows for the browser. Pages
are keyset pages (:mod:`.keyset`: after the last row shown, through the sort column's index, never
``OFFSET``); the rows of a state few rows are in are looked up by id from the latest
:mod:`.snapshot` of the states (a state is visible to no index); ready and pending rows are most
rows, found in index order. A page costs about the same at its first and its thousandth page.

PINs never leave unmasked: the PIN shows its last two digits, the dial string is shown whole only
to users allowed to edit the provisioning DAG.

May import: SQLAlchemy, pydantic, ``daily_dialin.provisioning`` (table) and ``daily_dialin.ui`` (keyset, snapshot).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.sql.elements import ColumnElement

from daily_dialin.provisioning.table import IN_LIST_LIMIT, MeetingsTable
from daily_dialin.ui.keyset import Cursor, Order
from daily_dialin.ui.snapshot import RARE_STATES, Snapshot, Snapshots, take

__all__ = ["FIGURES", "MeetingsQuery", "View", "meetings_page", "tiles"]

FIGURES = ("phone_callers", "phone_minutes")  # the calls loop's figure columns the page shows
PAST = timedelta(days=1)  # meetings that ended within this are listed too (yesterday's callers)
CHART_DAYS = 14
LOOKUP_LIMIT = 5000  # rows of a rare state looked up by id (more: found in index order, they are not rare)
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
    """``GET /api/meetings`` parameters (validated: a bad one is a 422). ``cursor``: the ``next`` of
    the page before (:class:`~daily_dialin.ui.keyset.Cursor`); empty: the first page."""

    cursor: str = Field(default="", max_length=2000)
    size: int = Field(default=50, ge=1, le=200)
    q: str = Field(default="", max_length=100)
    sort: str = Field(default="starts_at", pattern=r"^-?(starts_at|meeting_id|status)$")
    status: Literal["", "ready", "pending", "problems", "missed", "deferred", "given_up", "cancelled"] = ""

    @field_validator("cursor")
    @classmethod
    def _a_cursor(cls, value: str) -> str:
        if value:
            Cursor.decode(value)  # ValueError: a 422
        return value

    def after(self) -> Cursor | None:
        return Cursor.decode(self.cursor) if self.cursor else None


@dataclass(frozen=True)
class View:
    """How one table is read for the page: its settings, the optional figure columns it has, which
    of its columns may hold NULL (for the keyset), and its latest :class:`Snapshot`."""

    table: MeetingsTable
    figures: tuple[str, ...]
    nullable: frozenset[str] = frozenset()
    snapshots: Snapshots = field(default_factory=Snapshots, compare=False)

    @classmethod
    def of(cls, table: MeetingsTable) -> View:
        columns = {
            c["name"].lower(): c
            for c in sa.inspect(table.engine).get_columns(table.meetings.name, schema=table.meetings.schema)
        }
        nullable = {
            logical
            for logical, physical in table.config.column_map().items()
            if columns.get(physical.lower(), {}).get("nullable", True)
        }
        return cls(
            table=table,
            figures=tuple(name for name in FIGURES if name in columns),
            nullable=frozenset(nullable),
        )

    def overview(
        self, now: datetime, states: tuple[str, ...] = (), *, fenced: bool = False, ids: list[Any] | None = None
    ) -> sa.Subquery:
        """:meth:`MeetingsTable.overview_select` as a subquery; ``ids``: only those rows (looked up by
        id). ``fenced`` (always with ``ids``): with ``OFFSET 0``, so the query around it does not
        inline it: SQLite then decides each row's state once, not once for every place ``state`` is
        named (the snapshot's pass: 40 % faster at 100,000 rows), and looks the ``ids`` up by key
        before it orders them (not: walks the sort column's index testing every row)."""
        until = now + timedelta(days=self.table.config.horizon_days)
        select = self.table.overview_select(now=now, since=now - PAST, until=until, extra=self.figures, states=states)
        if ids is not None:
            select, fenced = select.where(_among(select.selected_columns, ids)), True
        return (select.offset(0) if fenced else select).subquery()

    def order(self, o: sa.Subquery, sort: str) -> Order:
        return Order(
            column=o.c[sort.lstrip("-")],
            key=o.c.meeting_id,
            descending=sort.startswith("-"),
            nulls_smallest=self.table.engine.dialect.name != "postgresql",
            nullable=self.nullable,
        )

    def snapshot(self, now: datetime) -> Snapshot:
        """The states of every listed row now, by state and by day of the coming :data:`CHART_DAYS`
        days (one pass: :func:`daily_dialin.ui.snapshot.take`)."""
        o, table = self.overview(now, fenced=True), self.table
        coming = sa.and_(o.c.starts_at >= table.ts(now), o.c.starts_at < table.ts(now + timedelta(days=CHART_DAYS)))
        day = sa.case((coming, sa.func.substr(sa.cast(o.c.starts_at, sa.String), 1, 10)), else_=None)
        return take(table.engine, o, day)


def _filters(o: sa.Subquery, query: MeetingsQuery) -> list[Any]:
    where: list[Any] = []
    if query.q:
        where.append(
            sa.or_(o.c.meeting_id.startswith(query.q, autoescape=True), o.c.title.contains(query.q, autoescape=True))
        )
    return where


def _lookup_limit(view: View) -> int:
    """How many ids one statement may look up: SQLite before 3.32 binds at most 999 values."""
    old = view.table.is_sqlite and sqlite3.sqlite_version_info < (3, 32)
    return IN_LIST_LIMIT if old else LOOKUP_LIMIT


def _among(columns: Any, ids: list[Any]) -> ColumnElement[bool]:
    """``meeting_id`` (of ``columns``) is one of ``ids`` (``None`` among them: or has none)."""
    named = [i for i in ids if i is not None]
    terms = [columns.meeting_id.in_(named)] if named else []
    if None in ids:
        terms.append(columns.meeting_id.is_(None))
    return sa.or_(*terms) if terms else sa.false()


def _rare_ids(view: View, states: tuple[str, ...], now: datetime) -> tuple[list[Any] | None, Snapshot | None]:
    """The ids of the rows in rare ``states`` (from a fresh snapshot: a state is visible to no
    index), and that snapshot; other states (ready, pending, all): ``None``, the latest snapshot if fresh."""
    if not states or not set(states) <= set(RARE_STATES):
        return None, view.snapshots.latest()
    snapshot = view.snapshots.fresh(lambda: view.snapshot(now))
    ids = snapshot.ids_in(states)
    # too many to look up by id in one statement: they are not rare here, the index order finds them
    return (ids if len(ids) <= _lookup_limit(view) else None), snapshot


def _total(query: MeetingsQuery, snapshot: Snapshot | None) -> int | None:
    """How many rows the list has, where no count is needed: the snapshot's (no search); else
    ``None`` (the page shows the tiles', or, on a search's last page, the rows it has seen)."""
    states = STATE_GROUPS[query.status] if query.status else ()
    return snapshot.count(states) if snapshot is not None and not query.q else None


def _whole_run(conn: sa.Connection, o: sa.Subquery, order: Order, records: list[Any], where: list[Any]) -> list[Any]:
    """``records`` ending in a run of ties (rows without an id), completed with the rest of the run:
    rows that tie come in any order, so no page may end inside a run."""
    last = records[-1]
    first = next(i for i in range(len(records)) if order.ties(records[i], last))
    run = conn.execute(sa.select(o).where(*where, *order.tie_terms(last)))
    return [*records[:first], *(record._mapping for record in run)]


def meetings_page(view: View, query: MeetingsQuery, *, now: datetime, can_edit: bool) -> dict[str, Any]:
    """One page of the list after ``query.cursor``: ``rows`` shaped by :func:`_shape`, ``next`` (the
    cursor of the page after, ``None`` at the end) and ``total`` (``None`` where not cheap)."""
    states = STATE_GROUPS[query.status] if query.status else ()
    ids, snapshot = _rare_ids(view, states, now)
    o = view.overview(now, states, ids=ids)
    order, after = view.order(o, query.sort), query.after()
    where = [*_filters(o, query), *(order.at_or_after(after) if after else [])]
    fetch = query.size + (after.seen if after else 0) + 1
    rows = sa.select(o).where(*where).order_by(*order.order_by()).limit(fetch)
    with view.table.engine.connect() as conn:
        records = order.skip_seen([record._mapping for record in conn.execute(rows)], after)
        more = len(records) > query.size
        if more and order.ties(records[query.size - 1], records[query.size]):
            records = _whole_run(conn, o, order, records[: query.size], where)
        else:
            records = records[: query.size]
    reasons = _problem_reasons(view, records, now)
    return {
        "total": _total(query, snapshot),
        "size": query.size,
        "next": order.next_cursor(records, after).encode() if more else None,
        "figures": list(view.figures),
        "rows": [_shape(record, view.figures, can_edit=can_edit, reasons=reasons) for record in records],
    }


def _problem_reasons(view: View, records: list[Any], now: datetime) -> dict[Any, str]:
    """Why each row problem on the page is one (:meth:`MeetingsTable.problem_rows`; read only when
    the page shows one: such rows store no ``last_error``)."""
    ids = [record["meeting_id"] for record in records if record["state"] == "problem"]
    if not ids:
        return {}
    return {problem.meeting_id: problem.reason for problem in view.table.problem_rows(now, ids)}


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
    """The tiles (counts by state group, within the horizon; at risk: :meth:`MeetingsTable.not_ready_soon`,
    read now) and meetings per day for the coming :data:`CHART_DAYS` days, ready vs not: from the
    latest snapshot (one pass over the rows; ``as_of_seconds``: its age), a new one taken in the
    background once it is a few seconds old (:meth:`Snapshots.current`)."""
    table = view.table
    snapshot = view.snapshots.current(lambda: view.snapshot(now))
    states = snapshot.counts
    within = table.config.alert_within_minutes
    at_risk, risky = table.not_ready_soon(now=now, within=timedelta(minutes=within), limit=20)
    counts = {group: sum(states.get(s, 0) for s in members) for group, members in STATE_GROUPS.items()}
    days = [
        (str(d), state == "ready", n)
        for (state, d), n in snapshot.cells.items()
        if d is not None and state not in _NOT_PLANNED
    ]
    return {
        "within_horizon": sum(n for s, n in states.items() if s not in _NOT_PLANNED),
        **counts,
        "listed": snapshot.count(),
        "as_of_seconds": round(snapshot.age(), 1),
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
