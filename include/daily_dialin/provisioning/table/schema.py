"""The meetings table as a database object: the engine, the reflected columns, the status and
time rules turned into SQL, the one transaction helper, and the table's shape (``create_schema``,
``check_columns``).

Table and column names come from :class:`ProvisioningConfig` (validated plain identifiers,
case-insensitive like unquoted SQL names; the table may be ``schema.table``). They become a
:class:`sqlalchemy.Table`, so the dialect quotes whatever needs quoting (a table named ``select``,
a column named ``end``) and every value travels as a bound parameter. Statuses are compared with
the SQL mirror of :func:`daily_dialin.rows.normalize_status` (``LOWER(TRIM(status))``). A missing
table or column is a :class:`DailyConfigError` saying what to add (found by reflection); any other
database error (an outage) is raised as it is, for Airflow to retry.

May import: SQLAlchemy, common-sql's ``DbApiHook``, the provider's errors, ``daily_dialin.rows``,
``daily_dialin.provisioning`` (config, meetings) and :mod:`.dialect`.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any, Self

import sqlalchemy as sa
from airflow.providers.common.sql.hooks.sql import DbApiHook
from sqlalchemy.sql.elements import ColumnElement

from airflow_provider_daily.errors import DailyConfigError
from daily_dialin.provisioning.config import OPTIONAL_COLUMNS, ProvisioningConfig, check_identifier
from daily_dialin.provisioning.table.dialect import (
    _ADD_TYPES,
    _DIGEST_COLUMNS,
    _WHITESPACE,
    STREAM_BATCH,
    _PgTextRules,
    _required_columns,
    _Rules,
    _SqliteRules,
    _table_object,
    schema_sql,
)
from daily_dialin.rows import FINGERPRINT_COLUMNS, SERIES_BLANK, MeetingRow

BLANK_ABOVE = max(map(ord, SERIES_BLANK))  # a first character above it: not blank


class TableBase:
    """The table's engine, columns and SQL building blocks; the other parts of
    :class:`~daily_dialin.provisioning.table.MeetingsTable` build on these."""

    def __init__(self, *, hook: DbApiHook, config: ProvisioningConfig) -> None:
        self.hook = hook
        self.config = config
        self.is_sqlite = getattr(hook, "conn_type", None) == "sqlite"
        self.ph = hook.placeholder

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

    def _series_key(self) -> ColumnElement[Any]:
        """A row's series key in SQL: ``series_id`` as text (what :func:`daily_dialin.rows.series_key`
        makes of it in Python); chunks of series are ranges of it, in the database's order."""
        return sa.cast(self.c.series_id, sa.Text)

    def _in_series(self) -> list[ColumnElement[bool]]:
        """An occurrence of a series: the SQL mirror of :func:`daily_dialin.rows.series_key` naming
        one (not NULL, text or an integer, not blank). Other non-NULL values are problem rows
        (:meth:`problem_rows`), in no series and no one-off. ``series_id IS NOT NULL`` stays a term
        of its own: the shipped key index is partial on it.

        Not blank: a key whose first character is above ``" "`` is not blank (every character of
        ``SERIES_BLANK`` is at most 32), and only the others are trimmed. Trimming every key cost
        about 15 ms per statement at 100,000 series rows on PostgreSQL, and a plan runs five of
        them (``docs/benchmarks.md``, the scale A/B)."""
        key = self._series_key()
        return [
            self.c.series_id.is_not(None),
            self.rules.series_text(self.c.series_id),
            sa.or_(
                self.rules.first_code(key) > BLANK_ABOVE, sa.func.trim(key, sa.literal(SERIES_BLANK, sa.String)) != ""
            ),
        ]

    def _one_off(self) -> list[ColumnElement[bool]]:
        """Rows that are no occurrence of a series (all of them, in a table without ``series_id``)."""
        return [self.c.series_id.is_(None)] if self.has_series else []

    @classmethod
    def from_config(cls, config: ProvisioningConfig) -> Self:
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
