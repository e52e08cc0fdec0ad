"""What the table reads: the plan's and a chunk's due rows, rows by id, problem rows, rooms of
cancelled meetings, room ownership, the alerts' counts and the operators' overview.

Every "is it due" goes through :meth:`~.due.DueRules.due` and :func:`~.due.due_records`; rows come
back as :class:`~daily_dialin.rows.MeetingRow` or as the small frozen values below, never as dicts.
Meeting ids are compared exactly: a write-back always targets the row that was read.

May import: SQLAlchemy, the standard library, ``daily_dialin.provisioning`` (config, meetings,
window), ``daily_dialin.rows``, the provider's room names and the table package's :mod:`.dialect`,
:mod:`.schema` and :mod:`.due`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from daily_dialin.provisioning.config import check_identifier
from daily_dialin.provisioning.table.dialect import IN_LIST_LIMIT, MISSED_PREFIX, _chunks
from daily_dialin.provisioning.table.due import DUE_COLUMNS, DueRules, Seen, due_records
from daily_dialin.provisioning.window import Selection
from daily_dialin.rows import MeetingRow, series_problem


@dataclass(frozen=True)
class RowProblem:
    """A row no run can select (:meth:`Queries.problem_rows`): ``kind`` is ``id``, ``time``,
    ``series`` (a ``series_id`` that names no series) or ``status``; ``reason`` says what is wrong
    and how to fix it. ``meeting_id`` may be ``None`` or no text (that is the problem)."""

    meeting_id: Any
    kind: str
    reason: str


@dataclass(frozen=True)
class CancelledRoom:
    """A cancelled meeting whose row still holds its room (:meth:`Queries.cancelled_with_rooms`)."""

    meeting_id: Any
    room_name: str


class Queries(DueRules):
    """The table's reads (see the module docstring)."""

    # -- what a run selects -------------------------------------------------------------------
    def _due_stream(
        self, columns: Sequence[str], selection: Selection, extra: Sequence[ColumnElement[bool]] = ()
    ) -> Iterator[Sequence[Any]]:
        """Records of ``columns`` (which hold :data:`~.due.DUE_COLUMNS`) of the selection's due
        one-off rows (both halves of "due"), in the database's order of ids, streamed."""
        c = self.c
        query = sa.select(*(c[name] for name in columns)).where(*self.due(selection), *self._one_off(), *extra)
        for part in self._id_parts(query.order_by(c.meeting_id), selection):
            yield from due_records(self._stream(part), columns, self.config, force=selection.force)

    def select_due_ids(self, selection: Selection) -> list[str]:
        """Ids of meetings the run should provision, in the database's order of ids.

        Read as plain tuples (no :class:`MeetingRow`: 100,000 a plan): only the id and what "due"
        needs (:data:`~.due.DUE_COLUMNS`). The ids are text already (``_selectable``)."""
        return [record[0] for record in self._due_stream(DUE_COLUMNS, selection)]

    def _id_parts(self, query: sa.Select[Any], selection: Selection) -> Iterator[sa.Select[Any]]:
        """``query`` as it is, or once per slice of the selection's meeting ids."""
        if not selection.meeting_ids:
            yield query
            return
        for ids in _chunks(sorted(set(selection.meeting_ids)), IN_LIST_LIMIT):
            yield query.where(self.c.meeting_id.in_(list(ids)))

    def fetch_range(self, selection: Selection, first_id: str, last_id: str) -> list[MeetingRow]:
        """A chunk's rows: the selection's due rows with ``first_id <= id <= last_id``, every column
        (due again now, by the same rule as the plan's :meth:`select_due_ids`)."""
        c, columns = self.c, list(self.c.keys())
        records = self._due_stream(columns, selection, [c.meeting_id >= first_id, c.meeting_id <= last_id])
        return list(self._rows(records, columns))

    def fetch(self, meeting_ids: Sequence[str]) -> dict[str, MeetingRow]:
        """Rows keyed by exact meeting id."""
        columns = list(self.c.keys())
        rows: dict[str, MeetingRow] = {}
        for part in _chunks(list(meeting_ids), IN_LIST_LIMIT):
            query = sa.select(*self.c).where(self.c.meeting_id.in_(list(part)))
            for row in self._rows(self._records(query), columns):
                rows[row.meeting_id] = row
        return rows

    def existing_ids(self, meeting_ids: Sequence[str]) -> set[str]:
        """Which of ``meeting_ids`` are in the table at all (to name unknown ids)."""
        found: set[str] = set()
        for part in _chunks(sorted(set(meeting_ids)), IN_LIST_LIMIT):
            query = sa.select(self.c.meeting_id).where(self.c.meeting_id.in_(list(part)))
            found.update(record[0] for record in self._records(query))
        return found

    def provisioned_in(self, selection: Selection) -> list[MeetingRow]:
        """Provisioned meetings the selection covers (a dry run lists them as already done), in the
        database's order of ids: rows of ``meeting_id``, ``starts_at``, ``provisioned_at``,
        ``room_name`` only."""
        c, columns = self.c, ("meeting_id", "starts_at", "provisioned_at", "room_name")
        query = sa.select(*(c[name] for name in columns)).where(*self.due(replace(selection, force=True), room=True))
        for_ids = self._id_parts(query.order_by(c.meeting_id), selection)
        return [row for part in for_ids for row in self._rows(self._stream(part), columns)]

    def problem_rows(self, now: datetime, meeting_ids: Sequence[Any] | None = None) -> list[RowProblem]:
        """Rows no run can select, each with the reason: a NULL or empty id, an unreadable
        start/end or a ``series_id`` that names no series (:func:`daily_dialin.rows.series_problem`)
        on a provisionable row, or a status in none of the configured lists (only for meetings not
        known to be over). ``meeting_ids``: only those (a ``None`` among them: rows without an
        id), for a view that shows a few."""
        c = self.c
        kinds = self._problem_kinds(now)
        problem = sa.case(*((condition, kind) for kind, condition in kinds))
        series = c.series_id if self.has_series else sa.null()
        query = sa.select(c.meeting_id, c.status, series, c.starts_at, c.ends_at, problem).where(
            sa.or_(*(condition for _, condition in kinds))
        )
        if meeting_ids is not None:
            ids = [i for i in meeting_ids if i is not None][:IN_LIST_LIMIT]
            query = query.where(
                sa.or_(c.meeting_id.in_(ids), *([c.meeting_id.is_(None)] if None in meeting_ids else []))
            )
        return [
            RowProblem(meeting_id=meeting_id, kind=kind, reason=self._problem_reason(kind, meeting_id, status, values))
            for meeting_id, status, *values, kind in self._records(query)
        ]

    def _problem_kinds(self, now: datetime) -> list[tuple[str, ColumnElement[bool]]]:
        """``(kind, condition)`` of each problem, the first that holds naming a row's."""
        c, rules, config = self.c, self.rules, self.config
        provisionable = self._status_in(config.provisionable_statuses)
        known = self._status_in([*config.provisionable_statuses, *config.cancelled_statuses, *config.ignored_statuses])
        bad_id = sa.or_(c.meeting_id.is_(None), sa.func.trim(c.meeting_id) == "", sa.not_(rules.text_id(c.meeting_id)))
        # the round trip (valid_time), not the digit pattern: a month 13 is reported with its value on
        # the first run, whatever its text sorts as (before: "missed" for text sorting before now)
        malformed = sa.or_(sa.not_(rules.valid_time(c.starts_at)), sa.not_(rules.valid_time(c.ends_at)))
        unknown = sa.or_(sa.not_(known), c.status.is_(None))
        not_over = sa.or_(sa.not_(rules.valid_time(c.ends_at)), c.ends_at > self.ts(now))
        kinds = [("id", sa.and_(provisionable, bad_id)), ("time", sa.and_(provisionable, malformed))]
        if self.has_series:
            no_series = sa.and_(c.series_id.is_not(None), sa.not_(sa.and_(*self._in_series())))
            kinds.append(("series", sa.and_(provisionable, no_series)))
        return [*kinds, ("status", sa.and_(unknown, not_over))]

    def _problem_reason(self, kind: str, meeting_id: Any, status: Any, values: Sequence[Any]) -> str:
        series_id, *times = values
        if kind == "id" and meeting_id is not None and not isinstance(meeting_id, str):
            return f"meeting_id {meeting_id!r} is not text ({type(meeting_id).__name__}): store ids as text"
        if kind == "id":
            return "meeting_id is empty: the row cannot be provisioned or written to by id"
        if kind == "series":
            return series_problem(series_id) or f"series_id {series_id!r} names no series"
        if kind == "time":
            return self._time_reason(times)
        config = self.config
        return (
            f"status {status!r} is none of provisionable {config.provisionable_statuses}, "
            f"cancelled {config.cancelled_statuses} or ignored {config.ignored_statuses}"
        )

    def _time_reason(self, times: Sequence[Any]) -> str:
        bad = [
            f"{name} {value!r} {self.rules.time_problem(value)}"
            for name, value in zip(("starts_at", "ends_at"), times, strict=True)
            if not self.rules.well_formed(value)
        ]
        compare = "not a timestamp the table can compare (store UTC text 'YYYY-MM-DD HH:MM:SS')"
        return f"{'; '.join(bad) or 'a time'}: {compare}"

    def given_up(self, selection: Selection) -> list[str]:
        """Meetings of the selection left without a room after ``max_attempts`` failures."""
        c = self.c
        where = [
            self._status_in(self.config.provisionable_statuses),
            c.provisioned_at.is_(None),
            sa.not_(self._under_attempts()),
        ]
        if selection.ends_after is not None:
            where.append(c.ends_at > self.ts(selection.ends_after))
        query = sa.select(c.meeting_id).where(*where).order_by(c.meeting_id)
        return [record[0] for record in self._records(query)]

    def cancelled_with_rooms(self, *, limit: int) -> list[CancelledRoom]:
        """Meetings cancelled after provisioning whose room still holds a PIN."""
        c = self.c
        query = self._cancelled(c.meeting_id, c.room_name)
        if isinstance(query, sa.CompoundSelect):  # SQLite's index lookups: an ORDER BY would merge them by
            # scanning the key index instead, so the few rows are ordered here (text ids first)
            records = sorted(self._records(query), key=lambda r: (not isinstance(r[0], str), str(r[0])))[:limit]
        else:
            records = self._records(query.order_by(c.meeting_id).limit(limit))
        return [CancelledRoom(meeting_id=r[0], room_name=r[1]) for r in records]

    # -- room ownership (deletions and the orphan sweep) -----------------------------------------
    def owned_room_names(self) -> set[str]:
        """Every room name some row owns: the ``room_name`` of any row, whatever its status (a
        series' rooms are named by several rows), plus the name a provisionable row without
        ``room_name`` would get - its series' room, or its own (the room may exist already: a
        create whose write-back was lost). Streamed: cheap at 100,000 rows."""
        c = self.c
        provisionable = self._status_in(self.config.provisionable_statuses)
        series = c.series_id if self.has_series else sa.null()
        query = sa.select(c.meeting_id, c.room_name, sa.case((provisionable, 1), else_=0), series)
        owned: set[str] = set()
        for meeting_id, room_name, wanted, series_id in self._stream(query):
            if room_name is not None:
                owned.add(str(room_name))
            elif wanted:
                owned.update(self._would_be_room(meeting_id, series_id))
        return owned

    def _would_be_room(self, meeting_id: Any, series_id: Any) -> set[str]:
        """The room a provisionable row without ``room_name`` would be given (none for a bad id)."""
        from airflow_provider_daily.rooms import series_room_name_for
        from daily_dialin.provisioning.meetings import room_name_for, series_key

        prefix = self.config.room_name_prefix
        try:
            key = series_key(series_id)
        except ValueError:
            return set()
        if key is not None:
            return {series_room_name_for(key, prefix)}
        if isinstance(meeting_id, str) and meeting_id.strip():
            return {room_name_for(meeting_id, prefix)}
        return set()

    def room_names_kept(self, room_names: Iterable[str]) -> set[str]:
        """Which of ``room_names`` some row that is *not* cancelled still names (a series room
        with an occurrence left): such a room must stay when other rows naming it are cancelled."""
        c = self.c
        cancelled = self._status_in(self.config.cancelled_statuses)
        kept: set[str] = set()
        for part in _chunks(sorted(set(room_names)), IN_LIST_LIMIT):
            query = sa.select(c.room_name).where(
                c.room_name.in_(list(part)), sa.or_(c.status.is_(None), sa.not_(cancelled))
            )
            kept.update(str(record[0]) for record in self._records(query.distinct()))
        return kept

    def live_room_count(self) -> int:
        """Rooms the table believes live: distinct ``room_name`` of provisioned rows."""
        c = self.c
        query = sa.select(sa.func.count(sa.distinct(c.room_name))).where(
            c.provisioned_at.is_not(None), c.room_name.is_not(None)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def provisioned_rows(self, now: datetime) -> list[MeetingRow]:
        """Provisioned, provisionable meetings that are not over: what reconcile checks against Daily."""
        c = self.c
        query = (
            sa.select(*c)
            .where(self._status_in(self.config.provisionable_statuses))
            .where(c.provisioned_at.is_not(None), c.ends_at > self.ts(now))
            .order_by(c.meeting_id)
        )
        return list(self._rows(self._records(query), list(c.keys())))

    def read_all(self) -> list[MeetingRow]:
        """Every row, earliest first (for reports and the demo)."""
        query = sa.select(*self.c).order_by(self.c.starts_at, self.c.meeting_id)
        return list(self._rows(self._records(query), list(self.c.keys())))

    def alert_candidates(self, *, now: datetime, within: timedelta, limit: int) -> tuple[int, list[str]]:
        """The meetings a run's alerts may name, as its plan sees them at ``now``: without a room,
        started (and not reported as missed yet) or starting before ``now + within``. Their count
        and the first ``limit`` ids (started first). Taken before the plan selects its meetings, so
        every meeting seen here was there to be selected."""
        c = self.c
        soon = sa.or_(c.starts_at >= self.ts(now), self._not_marked())
        return self._count_and_ids([*self._unready(), c.starts_at < self.ts(now + within), soon], limit)

    def not_ready_soon(
        self, *, now: datetime, within: timedelta, limit: int, seen: Seen | None = None
    ) -> tuple[int, list[str]]:
        """Provisionable meetings starting in ``[now, now + within)`` without a room (of those the
        plan saw, :meth:`_seen`): their count and the first ``limit`` ids, earliest first."""
        c = self.c
        where = [*self._unready(), c.starts_at >= self.ts(now), c.starts_at < self.ts(now + within)]
        return self._count_and_ids([*where, *self._seen(seen)], limit)

    def overview_select(
        self,
        *,
        now: datetime,
        since: datetime,
        until: datetime,
        extra: Sequence[str] = (),
        states: Sequence[str] = (),
    ) -> sa.Select[Any]:
        """Rows for an operators' view (the dial-in page, :mod:`daily_dialin.ui`): every column,
        the optional physical columns ``extra`` (figures of the calls loop), and ``state`` by this
        module's rules - ``deferred`` (a room kept as it is: people in it), ``ready``, ``given_up``
        (``max_attempts`` failures), ``missed`` (started without a room), ``failing`` (a refusal in
        ``last_error``), ``pending``, ``cancelled``, ``ignored``, or ``problem`` (a row no run can
        select: :meth:`problem_rows`). Rows ending after ``since`` and starting before ``until``,
        plus every row problem. ``states``: only rows in these states, narrowed first by what each
        state implies on indexed columns where it can be (no room: the partial index of rows
        without one). Ordering and paging are the caller's (``starts_at`` is indexed)."""
        c, config = self.c, self.config
        error = sa.func.coalesce(c.last_error, "")
        usable = sa.case(
            (c.provisioned_at.is_not(None), "ready"),
            (sa.not_(self._under_attempts()), "given_up"),
            (sa.or_(c.starts_at <= self.ts(now), error.startswith(MISSED_PREFIX)), "missed"),
            (sa.and_(error != "", sa.not_(error.startswith("waiting"))), "failing"),
            else_="pending",
        )
        state = sa.case(
            (sa.and_(error.startswith("deferred: "), *self._holds_room()), "deferred"),
            (sa.and_(*self._selectable()), usable),
            (self._status_in(config.cancelled_statuses), "cancelled"),
            (self._status_in(config.ignored_statuses), "ignored"),
            else_="problem",
        )
        quote = self.engine.dialect.identifier_preparer.quote
        figures = [sa.literal_column(quote(check_identifier(name).lower())).label(name) for name in extra]
        window = sa.and_(c.ends_at > self.ts(since), c.starts_at < self.ts(until))
        logical = [column.label(key) for key, column in c.items()]  # keyed as configured, not by physical name
        query = sa.select(*logical, *figures, state.label("state")).where(sa.or_(window, state == "problem"))
        if states:
            query = query.where(*self._implied(states), state.in_(list(states)))
        return query

    def _implied(self, states: Sequence[str]) -> list[ColumnElement[bool]]:
        """A cheap condition every row in ``states`` meets (of :meth:`overview_select`), if any."""
        if set(states) <= {"given_up", "missed", "failing", "pending"}:
            return [self.c.provisioned_at.is_(None)]
        if set(states) <= {"ready"}:
            return [self.c.provisioned_at.is_not(None)]
        return []

    def _count_and_ids(self, where: Sequence[ColumnElement[bool]], limit: int) -> tuple[int, list[str]]:
        c = self.c
        count = sa.select(sa.func.count()).select_from(self.meetings).where(*where)
        ids = sa.select(c.meeting_id).where(*where).order_by(c.starts_at, c.meeting_id).limit(limit)
        with self.engine.connect() as conn:
            return int(conn.execute(count).scalar_one()), [record[0] for record in conn.execute(ids)]
