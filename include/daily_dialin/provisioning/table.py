"""The meetings source table, read and written with SQLAlchemy Core on the hook's engine.

Table and column names come from :class:`ProvisioningConfig` (validated plain identifiers,
case-insensitive like unquoted SQL names; the table may be ``schema.table``). They become a
:class:`sqlalchemy.Table`, so the dialect quotes whatever needs quoting (a table named
``select``, a column named ``end``) and every value travels as a bound parameter.

Timestamps are bound as aware datetimes, except on SQLite (and PostgreSQL tables whose times are
text columns), which store them as UTC text ``YYYY-MM-DD HH:MM:SS`` (the documented format,
compared as text: rows in any other format, with an offset or a zone, or naming no real instant -
month 13, 30 February - are reported by :meth:`MeetingsTable.problem_rows` with their value, never
silently skipped nor "missed"). Two checks of a time: ``comparable_time`` (the pattern, cheap: the
watcher's poll) and ``valid_time`` (a round trip through the calendar: everything else); the same
rule in Python is :func:`daily_dialin.rows.stored_time_problem`. Every SQLite difference lives in
:class:`_SqliteRules`, the text columns of PostgreSQL in :class:`_PgTextRules`.

Statuses are compared with the SQL mirror of :func:`daily_dialin.rows.normalize_status`
(``LOWER(TRIM(status))``, trimming the whitespace ``str.strip`` trims). Meeting ids are compared
exactly: a write-back always targets the row that was read. Rows come back as
:class:`~daily_dialin.rows.MeetingRow`.

A missing table or column is a :class:`DailyConfigError` saying what to add (found by reflection);
any other database error (an outage) is raised as it is, for Airflow to retry. Writes go through
one transaction helper (``engine.begin()``). A success resets ``attempts``: only failures count.

:meth:`MeetingsTable.pending_work` is what the freshness trigger polls every few seconds; the
shipped schemas' indexes keep it cheap at 100,000 rows (``bench/results/table-sqlalchemy.md``).
A table created before them needs ``CREATE INDEX daily_meetings_unprovisioned ON daily_meetings
(starts_at) WHERE provisioned_at IS NULL`` (and, on PostgreSQL, ``daily_meetings_status ON
daily_meetings (status COLLATE "C")``) for the same figures; without them it is still correct.

May import: SQLAlchemy, common-sql's ``DbApiHook``, the provider's errors and
``daily_dialin.provisioning`` (config, meetings, window) and ``daily_dialin.rows``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import operator
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from airflow.providers.common.sql.hooks.sql import DbApiHook
from sqlalchemy.sql.elements import ColumnElement

from airflow_provider_daily.errors import DailyConfigError
from daily_dialin.provisioning.config import OPTIONAL_COLUMNS, SOURCE_COLUMNS, ProvisioningConfig, check_identifier
from daily_dialin.provisioning.meetings import (
    FINGERPRINT_COLUMNS,
    fingerprint_of,
    id_text,
    needs_room,
    room_fingerprint,
    settings_part,
)
from daily_dialin.provisioning.window import Selection
from daily_dialin.rows import MeetingRow, stored_time_problem

log = logging.getLogger(__name__)

SQLITE_TS = "%Y-%m-%d %H:%M:%S"
IN_LIST_LIMIT = 500  # stay under old SQLite's 999 bound-variable limit
STREAM_BATCH = 5000
MISSED_PREFIX = "missed: "  # last_error of a meeting that started without a room (mark_missed)
_DIGIT = "[0-9]"
_SQLITE_TS_GLOB = f"{_DIGIT * 4}-{_DIGIT * 2}-{_DIGIT * 2} {_DIGIT * 2}:{_DIGIT * 2}:{_DIGIT * 2}"
# the documented SQLite timestamp text, optionally with a fraction of 1-6 digits - and nothing
# after it: text with an offset or a zone is refused (compared as text, its offset would be
# ignored; rows.stored_time_problem is the same rule in Python). The most common form first.
_SQLITE_TS_GLOBS = (_SQLITE_TS_GLOB, *(f"{_SQLITE_TS_GLOB}.{_DIGIT * n}" for n in range(1, 7)))
# what str.strip() strips (every whitespace character is below U+3001): SQL's TRIM, given these,
# trims a status exactly as rows.normalize_status does
_WHITESPACE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())
# the columns a row's values are read for a fingerprint (and the problem digest)
_DIGEST_COLUMNS = tuple(dict.fromkeys(("meeting_id", "status", *SOURCE_COLUMNS, *FINGERPRINT_COLUMNS)))
_FINGERPRINT_CACHE = 100_000  # fingerprints pending_work remembers (a few MB)
# a type to suggest when a column is missing (ALTER TABLE ... ADD COLUMN); others are TEXT
_ADD_TYPES = {"attempts": "INTEGER NOT NULL DEFAULT 0", "room_exp": "BIGINT"}


@dataclass(frozen=True)
class Provisioned:
    """A meeting's room, to be written into its row. The PIN and the dial string that carries it
    stay out of ``repr``: a logged or asserted value never shows them."""

    meeting_id: str
    room_name: str
    room_url: str | None
    pin: str = field(repr=False)
    number: str
    dial_string: str = field(repr=False)
    room_exp: int
    fingerprint: str


@dataclass(frozen=True)
class Failure:
    """Why a meeting has no room; ``counts`` says whether it is an attempt of that meeting (its
    row is bad, Daily refused its room) or not (an outage, a wrong key: never strands it)."""

    meeting_id: str
    reason: str
    counts: bool
    # a row problem no run can fix (a time that is no real instant): not an attempt, but its
    # problem digest is stored like a counted failure's, so pending_work sees it as reported
    reported: bool = False


@dataclass(frozen=True)
class Seen:
    """Which meetings a run's alerts may name (:meth:`MeetingsTable.alert_candidates`, taken by
    its plan): ``ids`` - all of them when ``complete``; otherwise every meeting starting before
    ``reach`` (the plan's now plus the alert window) is taken as seen."""

    ids: tuple[str, ...]
    complete: bool
    reach: datetime


@dataclass(frozen=True)
class PendingWork:
    """What a provisioning run would do now; ``token`` is a digest of the work's identity (ids,
    kinds, fingerprints): an equal token is the same work as before."""

    new: int
    changed: int
    cancelled: int
    token: str

    @property
    def any(self) -> bool:
        return bool(self.new or self.changed or self.cancelled)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def schema_sql(dialect: str) -> str:
    """The shipped ``CREATE TABLE`` script for ``sqlite`` or ``postgres`` (default names)."""
    name = {"sqlite": "meetings.sqlite.sql", "postgresql": "meetings.postgres.sql"}.get(
        "postgresql" if dialect.startswith("postgres") else dialect
    )
    if name is None:
        raise ValueError(f"no shipped schema for {dialect!r}; create the table from the documented columns")
    return resources.files("daily_dialin").joinpath("sql", name).read_text()


def problem_digest(values: Mapping[str, Any], config: ProvisioningConfig) -> str:
    """What a never-provisioned row's counted failure was about: its room fingerprint plus the
    other source columns (a fixed time zone is a change too). Stored in ``room_fingerprint`` of
    rows without a room, so :meth:`MeetingsTable.pending_work` can tell an unchanged reported
    problem from new work."""
    parts = [room_fingerprint(values, config), *(values.get(column) for column in SOURCE_COLUMNS)]
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


# -- the dialect differences, in one place --------------------------------------------------------
class _Rules:
    """How a database stores what the table compares (any database but SQLite)."""

    name = "postgresql"
    # how rare statuses are looked up in the status index: "or" - one statement whose OR of the
    # disjoint status terms the planner answers from the index (PostgreSQL's BitmapOr); "union" -
    # one statement per term (SQLite; see MeetingsTable._rare_status_select)
    rare_lookup = "or"

    @staticmethod
    def status_ranges(col: ColumnElement[Any]) -> ColumnElement[Any]:
        """``status`` in byte order, as the shipped schema's ``daily_meetings_status`` index holds it."""
        return sa.collate(col, "C")

    def ts(self, value: datetime) -> Any:
        return value.astimezone(UTC)

    def comparable_time(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        """SQL true when a time column can be compared: cheap, for the watcher's poll."""
        return col.is_not(None)

    def valid_time(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        """SQL true when a time column holds a real instant (a timestamp column holds nothing else)."""
        return self.comparable_time(col)

    def text_id(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        """SQL true when an id is stored as text (an XCom-safe key)."""
        return sa.true()

    def well_formed(self, value: Any) -> bool:
        return value is not None

    def time_problem(self, value: Any) -> str:
        """Why ``value`` is no time the table can compare (for a value :meth:`well_formed` refuses)."""
        return "is empty"


class _SqliteRules(_Rules):
    """SQLite: UTC text ``YYYY-MM-DD HH:MM:SS`` compared as text; any column may hold any type."""

    name = "sqlite"
    # SQLite's planner uses an index for no OR of status ranges, and, once ANALYZE saw one status
    # on most rows, not even for one status equality: a statement per term, each unlikely()
    rare_lookup = "union"

    @staticmethod
    def status_ranges(col: ColumnElement[Any]) -> ColumnElement[Any]:
        """``status`` in byte order: SQLite's default BINARY collation (UTF-8 bytes, code point order)."""
        return col

    def ts(self, value: datetime) -> Any:
        return value.astimezone(UTC).strftime(SQLITE_TS)

    def comparable_time(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        """The documented text, by its digit pattern: cheap enough for the poll's indexed paths,
        but blind to the calendar (month 13 passes): :meth:`valid_time` adds that."""
        return sa.and_(
            col.is_not(None),
            sa.func.typeof(col) == "text",
            sa.or_(*(col.op("GLOB")(sa.literal(glob, sa.String)) for glob in _SQLITE_TS_GLOBS)),
        )

    def valid_time(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        """The documented text naming a real instant, by round trip: its first 19 characters,
        read as a time and written back (``strftime(julianday(...))`` normalizes 30 February to 2
        March, 24:00 to the next day; month 13, minute 61 read as NULL), must come back unchanged.
        Year 0 is refused too (Python has none). Per-row date functions: for the plan, the chunks,
        the alerts and the problem report - never for the watcher's poll."""
        head = sa.func.substr(col, 1, 19)
        again = sa.func.strftime(SQLITE_TS, sa.func.julianday(head))
        return sa.and_(
            self.comparable_time(col), sa.func.coalesce(again == head, False), sa.func.substr(col, 1, 4) != "0000"
        )

    def text_id(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        return sa.func.typeof(col) == "text"

    def well_formed(self, value: Any) -> bool:
        """:meth:`valid_time` in Python (the same decision): :func:`daily_dialin.rows.stored_time_problem`."""
        return stored_time_problem(value) is None

    def time_problem(self, value: Any) -> str:
        return stored_time_problem(value) or "cannot be compared"


class _PgTextRules(_Rules):
    """PostgreSQL with ``starts_at``/``ends_at`` stored as text: the documented UTC text, compared
    as text (as on SQLite; the same rule, :func:`daily_dialin.rows.stored_time_problem`). Text
    with an offset or a zone is refused, not cast: a cast of a bad value would fail the whole
    statement, and text compared as text cannot honour an offset."""

    _PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$"

    def ts(self, value: datetime) -> Any:
        return value.astimezone(UTC).strftime(SQLITE_TS)

    def comparable_time(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        return sa.and_(col.is_not(None), col.regexp_match(self._PATTERN))

    def valid_time(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        """The pattern, then the calendar by arithmetic on its digits (no cast of the whole value
        that could raise): CASE evaluates the digits only where the pattern matched."""

        def part(start: int, length: int) -> ColumnElement[Any]:
            return sa.cast(sa.func.substr(col, start, length), sa.Integer)

        year, month, day = part(1, 4), part(6, 2), part(9, 2)
        leap = sa.or_(sa.and_(year % 4 == 0, year % 100 != 0), year % 400 == 0)
        days = sa.case((month.in_([4, 6, 9, 11]), 30), (month == 2, sa.case((leap, 29), else_=28)), else_=31)
        calendar = sa.and_(
            year >= 1,
            month.between(1, 12),
            day >= 1,
            day <= days,
            part(12, 2) < 24,
            part(15, 2) < 60,
            part(18, 2) < 60,
        )
        return sa.case((self.comparable_time(col), calendar), else_=sa.false())

    def well_formed(self, value: Any) -> bool:
        return stored_time_problem(value) is None

    def time_problem(self, value: Any) -> str:
        return stored_time_problem(value) or "cannot be compared"


def _table_object(config: ProvisioningConfig, *, absent: Iterable[str] = ()) -> sa.Table:
    """The table as SQLAlchemy sees it: every configured column but the optional ones in ``absent``."""
    schema, _, name = config.table.lower().rpartition(".")
    columns = [
        sa.Column(physical.lower(), key=logical)
        for logical, physical in config.column_map().items()
        if logical not in absent
    ]
    return sa.Table(name, sa.MetaData(), *columns, schema=schema or None)


def _required_columns(config: ProvisioningConfig) -> dict[str, str]:
    """The columns the table must have: all but an optional column left at its default name (a
    table without it works as before it existed); one mapped in ``columns`` is required."""
    return {
        logical: physical
        for logical, physical in config.column_map().items()
        if logical not in OPTIONAL_COLUMNS or logical in config.columns
    }


class MeetingsTable:
    """Reads due meetings and writes provisioning results back, one transaction per call."""

    def __init__(self, *, hook: DbApiHook, config: ProvisioningConfig) -> None:
        self.hook = hook
        self.config = config
        self.is_sqlite = getattr(hook, "conn_type", None) == "sqlite"
        self.ph = hook.placeholder
        self._fingerprints: dict[tuple[Any, ...], str] = {}

    @functools.cached_property
    def rules(self) -> _Rules:
        """The dialect's rules; on PostgreSQL those of text time columns where ``starts_at`` is
        text (looked up once, by reflection)."""
        if self.is_sqlite:
            return _SqliteRules()
        return _PgTextRules() if self._text_times() else _Rules()

    def _text_times(self) -> bool:
        """Whether the table stores ``starts_at`` as text (not a timestamp type)."""
        schema, _, name = self.config.table.lower().rpartition(".")
        inspector = sa.inspect(self.engine)
        if not inspector.has_table(name, schema=schema or None):
            return False
        column = self.config.column_map()["starts_at"].lower()
        types = {info["name"].lower(): info["type"] for info in inspector.get_columns(name, schema=schema or None)}
        return isinstance(types.get(column), sa.String)

    @functools.cached_property
    def meetings(self) -> sa.Table:
        """The table, with the optional columns (``series_id``) it has: reflected once, on first use."""
        physical = self.config.column_map()
        optional = {name: physical[name] for name in OPTIONAL_COLUMNS if name not in _required_columns(self.config)}
        missing = self._missing(optional.values()) if optional else []
        absent = [name for name, column in optional.items() if missing is None or column in missing]
        return _table_object(self.config, absent=absent)

    @property
    def c(self) -> Any:
        """The table's columns by logical name (``self.c.starts_at``)."""
        return self.meetings.c

    @property
    def has_series(self) -> bool:
        """Whether the table has the optional ``series_id`` column (recurring meetings)."""
        return "series_id" in self.c

    def _fingerprint_columns(self) -> tuple[str, ...]:
        """What :func:`room_fingerprint` reads: ``series_id`` too where the table has it."""
        return (*FINGERPRINT_COLUMNS, "series_id") if self.has_series else FINGERPRINT_COLUMNS

    def _digest_columns(self) -> tuple[str, ...]:
        return (*_DIGEST_COLUMNS, "series_id") if self.has_series else _DIGEST_COLUMNS

    def _one_off(self) -> list[ColumnElement[bool]]:
        """Rows that are no occurrence of a series (all of them, in a table without ``series_id``)."""
        return [self.c.series_id.is_(None)] if self.has_series else []

    @classmethod
    def from_config(cls, config: ProvisioningConfig) -> MeetingsTable:
        try:
            hook = DbApiHook.get_hook(config.meetings_conn_id)
        except Exception as exc:  # AirflowNotFoundException, a provider that is not installed, ...
            raise DailyConfigError(
                f"meetings connection {config.meetings_conn_id!r} is not usable ({type(exc).__name__}: {exc})"
            ) from None
        return cls(hook=hook, config=config)

    # -- the engine and the names, for SQL written elsewhere (tests, the demo) ------------------
    @functools.cached_property
    def engine(self) -> sa.Engine:
        """The hook's SQLAlchemy engine, created once per table object (it pools connections)."""
        # pre-ping: a long-lived poller (the freshness trigger) survives a database restart
        return self.hook.get_sqlalchemy_engine(engine_kwargs={"pool_pre_ping": True})

    @functools.cached_property
    def cols(self) -> dict[str, str]:
        """Logical column -> the physical name as this dialect quotes it."""
        preparer = self.engine.dialect.identifier_preparer
        return {column.key: preparer.format_column(column) for column in self.meetings.columns}

    @functools.cached_property
    def table(self) -> str:
        """The table's name as this dialect quotes it (``schema.table`` included)."""
        return self.engine.dialect.identifier_preparer.format_table(self.meetings)

    def ts(self, value: datetime) -> Any:
        """A time as the table stores it: an aware UTC datetime, or UTC text on SQLite."""
        return self.rules.ts(value)

    # -- helpers --------------------------------------------------------------------------
    def _status_in(self, statuses: Sequence[str], *, rare: bool = False) -> ColumnElement[bool]:
        """``LOWER(TRIM(status)) IN (...)``: the SQL mirror of rows.normalize_status.

        The configured statuses are normalized already, so a status stored exactly as one of
        them is decided by plain comparisons first (cheap: the full scan of ``pending_work``
        evaluates this on every row); only other values are trimmed and lowered. NULL is in no
        list (as ``normalize_status(None)``, ``""``, is not).

        ``rare``: few rows hold these statuses (cancelled ones). On PostgreSQL (its shipped
        ``daily_meetings_status`` index), the other values become ranges between the known
        statuses (:meth:`_rare_status_terms`), so the few odd rows are looked up instead of every
        row scanned; SQLite does that through :meth:`_rare_status_select` only."""
        if not statuses:
            return sa.false()
        if rare and self.rules.rare_lookup == "or":
            return sa.or_(*self._rare_status_terms(statuses))
        config, status = self.config, self.c.status
        known = {*config.provisionable_statuses, *config.cancelled_statuses, *config.ignored_statuses}
        # the provisionable ones first: most rows hold one of them, and the chain stops there
        others = [s for s in dict.fromkeys([*config.provisionable_statuses, *sorted(known)]) if s not in statuses]
        slow = sa.and_(*(status != other for other in others), self._normalized_in(statuses))
        return sa.or_(*(status == wanted for wanted in statuses), slow)

    def _normalized_in(self, statuses: Sequence[str]) -> ColumnElement[bool]:
        # chains of = and <> elsewhere (SQLite evaluates a constant IN list through a temporary b-tree: 3x slower)
        return sa.func.lower(sa.func.trim(self.c.status, sa.literal(_WHITESPACE, sa.String))).in_(list(statuses))

    def _rare_status_terms(self, statuses: Sequence[str]) -> list[ColumnElement[bool]]:
        """Disjoint terms whose OR is ``status`` in ``statuses`` (normalized), each a lookup of
        the status index: the statuses themselves, then the ranges between the known statuses
        (byte order: Python's ``sorted()``), where only odd spellings live, trimmed and lowered."""
        config = self.config
        ordered = self.rules.status_ranges(self.c.status)
        bounds = sorted({*config.provisionable_statuses, *config.cancelled_statuses, *config.ignored_statuses})
        gaps = [ordered < bounds[0], *(sa.and_(ordered > a, ordered < b) for a, b in pairwise(bounds))]
        gaps.append(ordered > bounds[-1])
        trimmed = self._normalized_in(statuses)
        return [*(ordered == wanted for wanted in statuses), *(sa.and_(gap, trimmed) for gap in gaps)]

    @functools.cached_property
    def _status_indexed(self) -> bool:
        """Whether an index of the table starts with ``status`` (SQLite: looked up once; the
        shipped schema has one, a table made before it may not)."""
        if not self.is_sqlite:
            return True
        inspector = sa.inspect(self.engine)
        with warnings.catch_warnings():  # the series key's index is on an expression: not reflected, not needed
            warnings.filterwarnings(
                "ignore", "Skipped unsupported reflection of expression-based index", sa.exc.SAWarning
            )
            indexes = inspector.get_indexes(self.meetings.name, schema=self.meetings.schema)
        return any((index.get("column_names") or [None])[0] == self.cols["status"] for index in indexes)

    def _rare_status_select(
        self, columns: Sequence[ColumnElement[Any]], statuses: Sequence[str], *where: ColumnElement[bool]
    ) -> sa.Select[Any] | sa.CompoundSelect:
        """``SELECT columns WHERE status in statuses AND where``, for statuses few rows hold.

        On SQLite with a status index: one SELECT per :meth:`_rare_status_terms` term, each marked
        ``unlikely()`` (so the planner searches the index even after ANALYZE counted one status on
        most rows), joined by ``UNION ALL`` - the terms are disjoint, so no row comes twice.
        Measured at 100,000 rows, none cancelled: 0.02 ms against 15-24 ms for the scan. Without
        the index, one statement (eleven scans would be slower than one)."""
        if not statuses:
            return sa.select(*columns).where(sa.false())
        if self.rules.rare_lookup == "union" and self._status_indexed:
            terms = self._rare_status_terms(statuses)
            return sa.union_all(*(sa.select(*columns).where(sa.func.unlikely(term), *where) for term in terms))
        return sa.select(*columns).where(self._status_in(statuses, rare=True), *where)

    def _selectable(self, *, strict: bool = True) -> list[ColumnElement[bool]]:
        """A provisionable row with a usable id and valid times (others: problem_rows).

        ``strict=False`` (the watcher's poll only): times checked by their pattern alone, no
        per-row date function. A row whose time is well-patterned but no real instant (month 13)
        may then look like work; its problem report stores the problem digest
        (:attr:`Failure.reported`), so the poll sees it as reported until the row changes."""
        c, rules = self.c, self.rules
        time = rules.valid_time if strict else rules.comparable_time
        return [
            self._status_in(self.config.provisionable_statuses),
            c.meeting_id.is_not(None),
            sa.func.trim(c.meeting_id) != "",
            rules.text_id(c.meeting_id),
            time(c.starts_at),
            time(c.ends_at),
        ]

    def _under_attempts(self) -> ColumnElement[bool]:
        return sa.func.coalesce(self.c.attempts, 0) < self.config.max_attempts

    def _records(self, statement: sa.Executable) -> list[sa.Row[Any]]:
        with self.engine.connect() as conn:
            return list(conn.execute(statement))

    def _stream(self, statement: sa.Executable) -> Iterator[sa.Row[Any]]:
        """Rows a few thousand at a time (a server-side cursor on PostgreSQL): a plan over
        100,000 meetings never holds them all."""
        with self.engine.connect() as conn:
            # yield_per streams (stream_results) in batches; iterating rows, not partitions(), is
            # as fast as a bare named cursor on psycopg
            yield from conn.execution_options(yield_per=STREAM_BATCH).execute(statement)

    def _rows(self, records: Iterable[Sequence[Any]], columns: Sequence[str]) -> Iterator[MeetingRow]:
        config = self.config
        for record in records:
            yield MeetingRow.from_record(dict(zip(columns, record, strict=True)), config=config)

    def _write(self, *steps: tuple[sa.Executable, Sequence[Mapping[str, Any]]]) -> None:
        """Every ``(statement, parameter sets)`` in one transaction (the one transaction helper)."""
        steps = tuple((statement, params) for statement, params in steps if params)
        if not steps:
            return
        with self.engine.begin() as conn:
            for statement, params in steps:
                conn.execute(statement, list(params))

    def _by_id(self) -> ColumnElement[bool]:
        return self.c.meeting_id == sa.bindparam("k_id")

    # -- the table's shape ----------------------------------------------------------------------
    def create_schema(self) -> None:
        """Run the shipped DDL (default table and column names only)."""
        if self.config.table != "daily_meetings" or self.config.columns:
            raise ValueError("the shipped schema uses the default names; create custom tables yourself")
        script = schema_sql(self.rules.name)
        code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
        statements = [part.strip() for part in code.split(";") if part.strip()]
        with self.engine.begin() as conn:
            conn.exec_driver_sql(statements[0])  # CREATE TABLE IF NOT EXISTS: an older table stays as it is
        # an index of an optional column only where the table has the column (a table made before it)
        lacking = set(self._missing(OPTIONAL_COLUMNS) or ())
        with self.engine.begin() as conn:
            for statement in statements[1:]:
                if not any(re.search(rf"\b{column}\b", statement) for column in lacking):
                    conn.exec_driver_sql(statement)
        self.__dict__.pop("meetings", None)  # reflect the optional columns again

    def _missing(self, physical: Iterable[str]) -> list[str] | None:
        """Which of the ``physical`` columns the table lacks (``None``: there is no such table),
        by reflection. Connecting may fail: an outage, raised as it is."""
        inspector = sa.inspect(self.engine)
        schema, _, name = self.config.table.lower().rpartition(".")
        schema = schema or None
        if not inspector.has_table(name, schema=schema):
            return None
        present = {column["name"].lower() for column in inspector.get_columns(name, schema=schema)}
        return [column for column in physical if column.lower() not in present]

    def check_columns(self) -> None:
        """Fail fast, saying what to add, when the table or a configured column is missing (e.g. a
        table created before ``room_fingerprint`` existed) - instead of an SQL error retried as an
        outage."""
        physical = _required_columns(self.config)
        missing = self._missing(physical.values())
        if missing is None:
            raise DailyConfigError(
                f"meetings table {self.config.table!r} does not exist on connection "
                f"{self.config.meetings_conn_id!r}: create it (the shipped schema is "
                "include/daily_dialin/sql/meetings.<dialect>.sql) or set 'table'"
            )
        if missing:
            logical = {name: key for key, name in physical.items()}
            adds = "; ".join(
                f"ALTER TABLE {self.config.table} ADD COLUMN {name} {_ADD_TYPES.get(logical[name], 'TEXT')}"
                for name in missing
            )
            raise DailyConfigError(
                f"meetings table {self.config.table!r} has no column(s) "
                f"{', '.join(f'{name!r} ({logical[name]})' for name in missing)}: add them ({adds}) or map "
                f"them in 'columns'. Expected columns (logical -> physical): {physical}"
            )

    def check_optional_column(self, physical: str, setting: str) -> None:
        """Fail fast when a column only ``setting`` uses is missing, saying how to add it."""
        missing = self._missing([check_identifier(physical)])
        if missing is None or missing:
            raise DailyConfigError(
                f"{setting} is on, but meetings table {self.config.table!r} has no column {physical!r}: "
                f"ALTER TABLE {self.config.table} ADD COLUMN {physical} TEXT"
            )

    def write_optional_column(self, physical: str, values: Sequence[tuple[str | None, str]]) -> None:
        """``(value, meeting_id)`` pairs into a column only a setting uses, in one transaction."""
        column, key = sa.column(check_identifier(physical).lower()), sa.column(self.c.meeting_id.name)
        target = sa.table(self.meetings.name, column, key, schema=self.meetings.schema)
        statement = sa.update(target).where(key == sa.bindparam("k_id")).values({column.name: sa.bindparam("k_value")})
        self._write((statement, [{"k_value": value, "k_id": meeting_id} for value, meeting_id in values]))

    # -- what a run selects -------------------------------------------------------------------
    def _where(self, selection: Selection) -> list[ColumnElement[bool]]:
        """The WHERE terms of "due in this selection" (the plan and every chunk use the same)."""
        c = self.c
        # a NULL or blank id, a BLOB id or an unreadable time is reported by problem_rows instead
        where = self._selectable()
        if selection.starts_from is not None:
            where.append(c.starts_at >= self.ts(selection.starts_from))
        if selection.starts_before is not None:
            where.append(c.starts_at < self.ts(selection.starts_before))
        if selection.ends_after is not None:
            where.append(c.ends_at > self.ts(selection.ends_after))
        if not selection.force:
            # not provisioned yet and not given up on, or provisioned (checked for changes later)
            where.append(
                sa.or_(sa.and_(c.provisioned_at.is_(None), self._under_attempts()), c.provisioned_at.is_not(None))
            )
        return where

    def _select(
        self, columns: Sequence[str], selection: Selection, extra: Sequence[ColumnElement[bool]] = ()
    ) -> Iterator[MeetingRow]:
        c = self.c
        query = sa.select(*(c[name] for name in columns)).where(*self._where(selection), *extra)
        for part in self._id_parts(query.order_by(c.meeting_id), selection):
            yield from self._rows(self._stream(part), columns)

    def select_due_ids(self, selection: Selection) -> list[str]:
        """Ids of meetings the run should provision, in the database's order of ids.

        The one place that reads rows as plain tuples (no :class:`MeetingRow`: 100,000 a plan):
        an unprovisioned row is due (the first clause of :func:`.meetings.needs_room`) without
        a dict; every provisioned row of the window is checked with ``needs_room`` itself (the
        rule MeetingRow applies too). The ids are text already (``_selectable``)."""
        c, force = self.c, selection.force
        columns = ("meeting_id", *FINGERPRINT_COLUMNS, "provisioned_at", "room_fingerprint")
        provisioned, stored, values = (
            columns.index("provisioned_at"),
            columns.index("room_fingerprint"),
            slice(1, 1 + len(FINGERPRINT_COLUMNS)),
        )
        settings = settings_part(self.config)  # once per run; a one-off row has no series_id
        query = sa.select(*(c[name] for name in columns)).where(*self._where(selection), *self._one_off())
        query = query.order_by(c.meeting_id)
        due: list[str] = []
        for part in self._id_parts(query, selection):
            for record in self._stream(part):
                if (
                    force
                    or record[provisioned] in (None, "")
                    or record[stored] != fingerprint_of(record[values], None, settings)  # needs_room, on a tuple
                ):
                    due.append(record[0])
        return due

    def _id_parts(self, query: sa.Select[Any], selection: Selection) -> Iterator[sa.Select[Any]]:
        """``query`` as it is, or once per slice of the selection's meeting ids."""
        if not selection.meeting_ids:
            yield query
            return
        for ids in _chunks(sorted(set(selection.meeting_ids)), IN_LIST_LIMIT):
            yield query.where(self.c.meeting_id.in_(list(ids)))

    def fetch_range(self, selection: Selection, first_id: str, last_id: str) -> list[MeetingRow]:
        """A chunk's rows: the selection's due rows with ``first_id <= id <= last_id``, every column."""
        c = self.c
        extra = [c.meeting_id >= first_id, c.meeting_id <= last_id, *self._one_off()]
        rows = self._select(list(self.c.keys()), selection, extra)
        return [row for row in rows if row.needs_room(self.config, force=selection.force)]

    def fetch(self, meeting_ids: Sequence[str]) -> dict[str, MeetingRow]:
        """Rows keyed by exact meeting id."""
        columns = list(self.c.keys())
        rows: dict[str, MeetingRow] = {}
        for part in _chunks(list(meeting_ids), IN_LIST_LIMIT):
            query = sa.select(*self.c).where(self.c.meeting_id.in_(list(part)))
            for row in self._rows(self._records(query), columns):
                rows[row.meeting_id] = row
        return rows

    # -- recurring series (the optional column series_id) -------------------------------------
    def _series_key(self) -> ColumnElement[Any]:
        """A row's series key in SQL: ``series_id`` as text (what :func:`.meetings.series_key`
        makes of it in Python); chunks of series are ranges of it, in the database's order."""
        return sa.cast(self.c.series_id, sa.Text)

    def _series_terms(self, selection: Selection, key_range: Sequence[str] | None) -> list[ColumnElement[bool]]:
        key = self._series_key()
        where = [self.c.series_id.is_not(None)]
        if key_range is not None:
            where += [key >= key_range[0], key <= key_range[1]]
        if selection.meeting_ids:
            where.append(key.in_(self._series_of(selection.meeting_ids)))
        return where

    def _series_of(self, meeting_ids: Sequence[str]) -> sa.Select[Any]:
        c = self.c
        return sa.select(self._series_key()).where(c.meeting_id.in_(list(meeting_ids)), c.series_id.is_not(None))

    def due_series(self, selection: Selection, *, now: datetime, cap_ends_by: datetime) -> list[tuple[str, int]]:
        """The series a run must provision, in the database's order of their keys, each with its
        number of rows: a series is due when one of its occurrences is due as a one-off meeting
        would be (the selection's window: new, or its room fingerprint changed), when it has an
        occurrence without a room that now fits Daily's 365 days (``ends_at <= cap_ends_by``,
        whatever the window: so the room's exp rolls forward before it could lapse), or when it
        has a cancelled occurrence that still holds the room (its exp is recomputed). A
        selection naming meeting ids covers the series of those ids."""
        if not self.has_series:
            return []
        due = self.due_series_keys(selection, now=now, cap_ends_by=cap_ends_by)
        key = self._series_key().label("series_key")
        sizes = sa.select(key, sa.func.count()).where(*self._series_terms(selection, None)).group_by(key).order_by(key)
        return [(series, int(count)) for series, count in self._records(sizes) if series in due]

    def due_series_keys(
        self, selection: Selection, *, now: datetime, cap_ends_by: datetime, key_range: Sequence[str] | None = None
    ) -> set[str]:
        """The keys of :meth:`due_series` (the rule is here), without their sizes; ``key_range``:
        only series keys within ``[first, last]`` (a chunk re-checks its own range)."""
        c, config = self.c, self.config
        if not self.has_series:
            return set()
        terms = self._series_terms(selection, key_range)
        key = self._series_key().label("series_key")
        columns = ("meeting_id", *self._fingerprint_columns(), "provisioned_at", "room_fingerprint")
        due_rows = sa.select(key, *(c[name] for name in columns)).where(*self._where(selection), *terms)
        due: set[str] = set()
        for series, *values in self._stream(due_rows):
            if series not in due and (selection.force or needs_room(dict(zip(columns, values, strict=True)), config)):
                due.add(series)
        fits = [*self._selectable(), c.provisioned_at.is_(None), self._under_attempts()]
        fits += [c.ends_at > self.ts(now), c.ends_at <= self.ts(cap_ends_by)]
        cancelled = [*self._cancelled_terms()]
        with self.engine.connect() as conn:
            for condition in (fits, cancelled):
                due.update(record[0] for record in conn.execute(sa.select(key).where(*condition, *terms).distinct()))
        return due

    def fetch_series(self, first_key: str, last_key: str) -> list[tuple[MeetingRow, bool]]:
        """Every row (any status) of the series with keys in ``[first_key, last_key]``, earliest
        first, each with whether a run can select it (the rule of one-off meetings: a text id,
        comparable times, a provisionable status; the others are ``problem_rows``)."""
        key = self._series_key()
        columns = list(self.c.keys())
        selectable = sa.case((sa.and_(*self._selectable()), 1), else_=0)
        query = sa.select(*self.c, selectable).where(self.c.series_id.is_not(None), key >= first_key, key <= last_key)
        query = query.order_by(key, self.c.starts_at, self.c.meeting_id)
        records = self._records(query)
        rows = self._rows((record[:-1] for record in records), columns)
        return [(row, bool(record[-1])) for row, record in zip(rows, records, strict=True)]

    def write_room_exp(self, rooms: Sequence[tuple[str, str, int]]) -> None:
        """``(meeting_id, room_name, exp)``: a room's new ``exp`` into the rows that hold the room
        (a series room's exp rolled forward: its other rows are unchanged)."""
        c = self.c
        statement = (
            sa.update(self.meetings)
            .where(self._by_id(), c.room_name == sa.bindparam("k_room"))
            .values(room_exp=sa.bindparam("k_exp"))
        )
        self._write((statement, [{"k_id": mid, "k_room": room, "k_exp": exp} for mid, room, exp in rooms]))

    def existing_ids(self, meeting_ids: Sequence[str]) -> set[str]:
        """Which of ``meeting_ids`` are in the table at all (to name unknown ids)."""
        found: set[str] = set()
        for part in _chunks(sorted(set(meeting_ids)), IN_LIST_LIMIT):
            query = sa.select(self.c.meeting_id).where(self.c.meeting_id.in_(list(part)))
            found.update(record[0] for record in self._records(query))
        return found

    def provisioned_in(self, selection: Selection) -> list[dict[str, Any]]:
        """Provisioned meetings the selection covers (a dry run lists them as already done):
        ``meeting_id``, ``starts_at``, ``provisioned_at``, ``room_name``."""
        columns = ("meeting_id", "starts_at", "provisioned_at", "room_name")
        done = Selection(**{**selection.__dict__, "force": True})
        rows = self._select(columns, done, [self.c.provisioned_at.is_not(None)])
        return [{name: row.get(name) for name in columns} for row in rows]

    def problem_rows(self, now: datetime, meeting_ids: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Rows no run can select, each with the reason: a NULL or empty id or an unreadable
        start/end on a provisionable row, or a status in none of the configured lists (only for
        meetings not known to be over). ``meeting_ids``: only those (a ``None`` among them: rows
        without an id), for a view that shows a few."""
        c, rules, config = self.c, self.rules, self.config
        provisionable = self._status_in(config.provisionable_statuses)
        known = self._status_in([*config.provisionable_statuses, *config.cancelled_statuses, *config.ignored_statuses])
        bad_id = sa.or_(c.meeting_id.is_(None), sa.func.trim(c.meeting_id) == "", sa.not_(rules.text_id(c.meeting_id)))
        # the round trip (valid_time), not the digit pattern: a month 13 is reported with its value on
        # the first run, whatever its text sorts as (before: "missed" for text sorting before now)
        malformed = sa.or_(sa.not_(rules.valid_time(c.starts_at)), sa.not_(rules.valid_time(c.ends_at)))
        unknown = sa.or_(sa.not_(known), c.status.is_(None))
        not_over = sa.or_(sa.not_(rules.valid_time(c.ends_at)), c.ends_at > self.ts(now))
        problem = sa.case(
            (sa.and_(provisionable, bad_id), "id"), (sa.and_(provisionable, malformed), "time"), (unknown, "status")
        )
        query = sa.select(c.meeting_id, c.status, c.starts_at, c.ends_at, problem).where(
            sa.or_(sa.and_(provisionable, sa.or_(bad_id, malformed)), sa.and_(unknown, not_over))
        )
        if meeting_ids is not None:
            ids = [i for i in meeting_ids if i is not None][:IN_LIST_LIMIT]
            query = query.where(
                sa.or_(c.meeting_id.in_(ids), *([c.meeting_id.is_(None)] if None in meeting_ids else []))
            )
        return [
            {"meeting_id": meeting_id, "problem": kind, "reason": self._problem_reason(kind, meeting_id, status, times)}
            for meeting_id, status, *times, kind in self._records(query)
        ]

    def _problem_reason(self, kind: str, meeting_id: Any, status: Any, times: Sequence[Any]) -> str:
        if kind == "id" and meeting_id is not None and not isinstance(meeting_id, str):
            return f"meeting_id {meeting_id!r} is not text ({type(meeting_id).__name__}): store ids as text"
        if kind == "id":
            return "meeting_id is empty: the row cannot be provisioned or written to by id"
        if kind == "time":
            bad = [
                f"{name} {value!r} {self.rules.time_problem(value)}"
                for name, value in zip(("starts_at", "ends_at"), times, strict=True)
                if not self.rules.well_formed(value)
            ]
            return (
                f"{'; '.join(bad) or 'a time'}: not a timestamp the table can compare "
                "(store UTC text 'YYYY-MM-DD HH:MM:SS')"
            )
        config = self.config
        return (
            f"status {status!r} is none of provisionable {config.provisionable_statuses}, "
            f"cancelled {config.cancelled_statuses} or ignored {config.ignored_statuses}"
        )

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

    def _holds_room(self) -> list[ColumnElement[bool]]:
        c = self.c
        return [c.room_name.is_not(None), sa.or_(c.dialin_pin.is_not(None), c.provisioned_at.is_not(None))]

    def _cancelled_terms(self) -> list[ColumnElement[bool]]:
        """A cancelled row that still holds its room (one statement's WHERE)."""
        return [self._status_in(self.config.cancelled_statuses, rare=True), *self._holds_room()]

    def _cancelled(self, *columns: ColumnElement[Any]) -> sa.Select[Any] | sa.CompoundSelect:
        """``columns`` of the rows of :meth:`_cancelled_terms`, looked up in the status index."""
        return self._rare_status_select(columns, self.config.cancelled_statuses, *self._holds_room())

    def cancelled_with_rooms(self, *, limit: int) -> list[dict[str, Any]]:
        """Meetings cancelled after provisioning whose room still holds a PIN."""
        c = self.c
        query = self._cancelled(c.meeting_id, c.room_name)
        if isinstance(query, sa.CompoundSelect):  # SQLite's index lookups: an ORDER BY would merge them by
            # scanning the key index instead, so the few rows are ordered here (text ids first)
            records = sorted(self._records(query), key=lambda r: (not isinstance(r[0], str), str(r[0])))[:limit]
        else:
            records = self._records(query.order_by(c.meeting_id).limit(limit))
        return [{"meeting_id": r[0], "room_name": r[1]} for r in records]

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

    # -- freshness and alerts -----------------------------------------------------------------
    def pending_work(self, *, now: datetime, horizon_days: int, look_ahead: timedelta) -> PendingWork:
        """What a run would do now, cheaply enough to poll every few seconds.

        ``new``: provisionable rows without a room that a rolling run selects (not over, starting
        within ``horizon_days``, not given up on), except a reported row problem whose row did
        not change since (its counted failure stored :func:`problem_digest` in
        ``room_fingerprint``; an outage stores nothing, so that work stays visible). SQL only,
        but for those few reported rows.
        ``changed``: provisioned rows starting before ``now + look_ahead`` (and not over) whose
        room fingerprint differs - a bounded window (the ``starts_at`` index), fingerprinted in
        Python. Moves of meetings starting later are the daily safety run's job: with
        ``look_ahead`` >= 24 h and a daily safety run, a moved meeting is always fixed before it
        starts.
        ``cancelled``: as :meth:`cancelled_with_rooms` (when rooms of cancelled meetings are deleted).
        Rows with any other status are never work.

        Three statements on one connection; the shipped schema's partial index on rows without a
        room (``daily_meetings_unprovisioned``) keeps ``new`` an index lookup."""
        c = self.c
        new = sa.select(c.meeting_id, c.room_fingerprint).where(
            c.provisioned_at.is_(None),
            c.starts_at < self.ts(now + timedelta(days=horizon_days)),
            c.ends_at > self.ts(now),
            self._under_attempts(),
            *self._selectable(strict=False),
        )
        columns = ("room_fingerprint", *self._digest_columns())
        changed = sa.select(*(c[name] for name in columns)).where(
            c.starts_at < self.ts(now + look_ahead), c.ends_at > self.ts(now), c.provisioned_at.is_not(None)
        )
        changed = changed.where(*self._selectable(strict=False))
        work: list[tuple[str, str, str]] = []
        with self.engine.connect() as conn:
            reported = []
            for meeting_id, stored in conn.execute(new):
                if stored is None:
                    work.append(("new", meeting_id, ""))
                else:
                    reported.append(meeting_id)
            work += [("new", mid, "") for mid in self._changed_since_reported(conn, reported)]
            pick = operator.itemgetter(*(columns.index(name) for name in self._fingerprint_columns()))
            where_id = columns.index("meeting_id")
            for record in conn.execute(changed):
                current = self._polled_fingerprint(record, columns, pick)
                if current != record[0]:  # the stored room_fingerprint
                    work.append(("changed", record[where_id], current))
            if self.config.delete_cancelled_rooms:
                cancelled = self._cancelled(c.meeting_id, c.room_name)
                work += [("cancelled", id_text(mid), str(room)) for mid, room in conn.execute(cancelled)]
        counts = {"new": 0, "changed": 0, "cancelled": 0}
        digest = hashlib.blake2b(digest_size=16)
        for kind, meeting_id, identity in sorted(work):
            counts[kind] += 1
            digest.update(f"{kind}\x1f{meeting_id}\x1f{identity}\x1e".encode("utf-8", "surrogatepass"))
        return PendingWork(**counts, token=digest.hexdigest())

    def _polled_fingerprint(
        self, record: Sequence[Any], columns: Sequence[str], pick: Callable[[Sequence[Any]], tuple[Any, ...]]
    ) -> str:
        """:func:`room_fingerprint` of a ``record`` of ``columns``, remembered per table object: a
        poller sees the same rows of its look-ahead window every few seconds (keyed by the
        fingerprint columns' values, ``pick(record)``, and their types, since ``1`` and ``1.0``
        fingerprint differently)."""
        picked = pick(record)
        key = (picked, tuple(map(type, picked)))
        found = self._fingerprints.get(key)
        if found is None:
            if len(self._fingerprints) >= _FINGERPRINT_CACHE:
                self._fingerprints.clear()
            values = dict(zip(columns, record, strict=True))
            found = self._fingerprints[key] = room_fingerprint(values, self.config)
        return found

    def _changed_since_reported(self, conn: sa.Connection, meeting_ids: Sequence[str]) -> list[str]:
        """Which rows with a reported problem changed since (their problem digest differs)."""
        c = self.c
        changed, columns = [], self._digest_columns()
        for part in _chunks(meeting_ids, IN_LIST_LIMIT):
            query = sa.select(c.room_fingerprint, *(c[name] for name in columns))
            for stored, *record in conn.execute(query.where(c.meeting_id.in_(list(part)))):
                values = dict(zip(columns, record, strict=True))
                if stored != problem_digest(values, self.config):
                    changed.append(values["meeting_id"])
        return changed

    def _unready(self) -> list[ColumnElement[bool]]:
        """Provisionable rows without a room whose times are real instants (a month 13 is a row
        problem, reported by problem_rows with its value - never "missed")."""
        return [*self._selectable(), self.c.provisioned_at.is_(None)]

    def _not_marked(self) -> ColumnElement[bool]:
        last_error = self.c.last_error
        return sa.or_(last_error.is_(None), sa.not_(last_error.startswith(MISSED_PREFIX)))

    def alert_candidates(self, *, now: datetime, within: timedelta, limit: int) -> tuple[int, list[str]]:
        """The meetings a run's alerts may name, as its plan sees them at ``now``: without a room,
        started (and not reported as missed yet) or starting before ``now + within``. Their count
        and the first ``limit`` ids (started first). Taken before the plan selects its meetings, so
        every meeting seen here was there to be selected."""
        c = self.c
        soon = sa.or_(c.starts_at >= self.ts(now), self._not_marked())
        return self._count_and_ids([*self._unready(), c.starts_at < self.ts(now + within), soon], limit)

    def _seen(self, seen: Seen | None) -> list[ColumnElement[bool]]:
        """The rows an alert may name: those the plan saw (``seen``; ``None``: every row).

        Why: the table has no insertion time, and the alerts are read after the chunks, so a
        meeting booked meanwhile - starting soon, or already in progress - would fail this run
        (and be written "missed") though no task of it could have provisioned it; the queued next
        run does, seconds later. Every meeting this run could have provisioned was in the table
        when its plan ran: the plan lists those in reach of an alert, and only they are named. If
        there were more than it can carry, every meeting starting before the plan's reach counts
        as seen (a booking in that range may then be named too: the run fails anyway)."""
        if seen is None:
            return []
        if not seen.complete:
            return [self.c.starts_at < self.ts(seen.reach)]
        return [self.c.meeting_id.in_(list(seen.ids))] if seen.ids else [sa.false()]

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

    def mark_missed(self, *, now: datetime, limit: int, seen: Seen | None = None) -> tuple[int, list[str]]:
        """Provisionable meetings that started (``starts_at <= now``) without ever having had a
        room and are not reported yet: write ``last_error`` = :data:`MISSED_PREFIX` ... (keeping
        the earlier error in the text) and return their count and the first ``limit`` ids. Each
        is reported once (until a later failure overwrites ``last_error``); ``attempts`` stay.

        Only meetings the plan saw (:meth:`_seen`): one booked while already in progress, after
        the plan, is no miss - the next run provisions it."""
        c = self.c
        where = [*self._unready(), c.starts_at <= self.ts(now), self._not_marked(), *self._seen(seen)]
        earlier = sa.literal(" (last error: ", sa.String).op("||")(c.last_error).op("||")(")")
        text = sa.literal(f"{MISSED_PREFIX}the meeting started without a room", sa.String).op("||")(
            sa.func.coalesce(earlier, "")
        )
        ids_query = sa.select(c.meeting_id).where(*where).order_by(c.starts_at, c.meeting_id)
        with self.engine.begin() as conn:
            ids = [record[0] for record in conn.execute(ids_query)]
            if ids:
                conn.execute(sa.update(self.meetings).where(*where).values(last_error=text))
        if ids:
            log.warning("%d meeting(s) started without a room: %s", len(ids), ids[:limit])
        return len(ids), ids[:limit]

    # -- writes ---------------------------------------------------------------------------
    def write_results(self, *, provisioned: Sequence[Provisioned], failed: Sequence[Failure], now: datetime) -> None:
        """Write every outcome of a chunk in one transaction, each to the row it was read from.

        A success resets ``attempts`` to 0: only failures of the meeting itself count (and an
        outage or a refused key records its reason and leaves the count alone, so it never
        strands a meeting)."""
        written = (
            "room_name",
            "room_url",
            "dialin_pin",
            "dialin_number",
            "dial_string",
            "room_exp",
            "room_fingerprint",
        )
        values = {name: sa.bindparam(f"k_{name}") for name in written}
        values.update(provisioned_at=self.ts(now), last_error=None, attempts=0)
        ok = sa.update(self.meetings).where(self._by_id()).values(values)
        ok_rows = [
            {
                "k_id": p.meeting_id,
                "k_room_name": p.room_name,
                "k_room_url": p.room_url,
                "k_dialin_pin": p.pin,
                "k_dialin_number": p.number,
                "k_dial_string": p.dial_string,
                "k_room_exp": p.room_exp,
                "k_room_fingerprint": p.fingerprint,
            }
            for p in provisioned
        ]
        self._write((ok, ok_rows), *self._failure_writes(failed))

    def write_failures(self, failed: Sequence[Failure]) -> None:
        self._write(*self._failure_writes(failed))

    def _failure_writes(self, failed: Sequence[Failure]) -> list[tuple[sa.Executable, list[dict[str, Any]]]]:
        """The statements that record ``failed``. A counted failure of a row without a room also
        stores the row's :func:`problem_digest` (see :meth:`pending_work`)."""
        c = self.c
        counted = [f for f in failed if f.counts and f.meeting_id is not None]
        remembered = [f for f in failed if f.reported and not f.counts and f.meeting_id is not None]
        digests = self._problem_digests([f.meeting_id for f in (*counted, *remembered)])
        digest = sa.case((c.provisioned_at.is_(None), sa.bindparam("k_digest")), else_=c.room_fingerprint)
        count = (
            sa.update(self.meetings)
            .where(self._by_id())
            .values(
                last_error=sa.bindparam("k_error"),
                attempts=sa.func.coalesce(c.attempts, 0) + 1,
                room_fingerprint=digest,
            )
        )
        remember = (
            sa.update(self.meetings)
            .where(self._by_id())
            .values(last_error=sa.bindparam("k_error"), room_fingerprint=digest)
        )
        record = sa.update(self.meetings).where(self._by_id()).values(last_error=sa.bindparam("k_error"))
        null_id = (
            sa.update(self.meetings)
            .where(c.meeting_id.is_(None), self._status_in(self.config.provisionable_statuses))
            .values(last_error=sa.bindparam("k_error"))
        )
        first_null = next((f for f in failed if f.meeting_id is None), None)
        return [
            (
                count,
                [
                    {"k_error": f.reason[:2000], "k_id": f.meeting_id, "k_digest": digests.get(f.meeting_id)}
                    for f in counted
                ],
            ),
            (
                remember,
                [
                    {"k_error": f.reason[:2000], "k_id": f.meeting_id, "k_digest": digests.get(f.meeting_id)}
                    for f in remembered
                ],
            ),
            (
                record,
                [
                    {"k_error": f.reason[:2000], "k_id": f.meeting_id}
                    for f in failed
                    if not f.counts and not f.reported and f.meeting_id is not None
                ],
            ),
            (null_id, [{"k_error": first_null.reason[:2000]}] if first_null else []),
        ]

    def _problem_digests(self, meeting_ids: Sequence[str]) -> dict[str, str]:
        """:func:`problem_digest` of the rows (as they are now) of ``meeting_ids`` without a room."""
        c = self.c
        digests: dict[str, str] = {}
        columns = self._digest_columns()
        for part in _chunks(sorted(set(meeting_ids)), IN_LIST_LIMIT):
            query = sa.select(*(c[name] for name in columns)).where(
                c.meeting_id.in_(list(part)), c.provisioned_at.is_(None)
            )
            for record in self._records(query):
                values = dict(zip(columns, record, strict=True))
                digests[values["meeting_id"]] = problem_digest(values, self.config)
        return digests

    def clear_rooms(self, retired: Sequence[tuple[str, str]]) -> None:
        """After deleting their rooms: clear PIN, URL and dial string of ``(meeting_id, room_name)``
        and reset ``attempts``, so a meeting scheduled again starts afresh."""
        c = self.c
        statement = (
            sa.update(self.meetings)
            .where(self._by_id(), c.room_name == sa.bindparam("k_room"))
            .values(
                room_url=None,
                dialin_pin=None,
                dial_string=None,
                provisioned_at=None,
                room_exp=None,
                room_fingerprint=None,
                last_error=None,
                attempts=0,
            )
        )
        self._write((statement, [{"k_id": meeting_id, "k_room": room} for meeting_id, room in retired]))
