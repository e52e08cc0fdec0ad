"""The meetings table's dialect rules and the values every part of the table shares.

What differs between databases lives here, once: :class:`_Rules` (PostgreSQL with timestamp
columns), :class:`_SqliteRules` (UTC text ``YYYY-MM-DD HH:MM:SS`` compared as text; any column may
hold any type) and :class:`_PgTextRules` (PostgreSQL with text time columns). Two checks of a
time: ``comparable_time`` (the pattern, cheap: the watcher's poll) and ``valid_time`` (a round
trip through the calendar: everything else); the same rule in Python is
:func:`daily_dialin.rows.stored_time_problem`. Also: the shipped schema scripts
(:func:`schema_sql`), the table object built from the settings, and :func:`problem_digest` (what
a reported row problem was about).

May import: SQLAlchemy, the standard library, ``daily_dialin.provisioning`` (config, meetings) and
``daily_dialin.rows``. Nothing of the table package itself: every other module of it builds on this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from daily_dialin.provisioning.config import OPTIONAL_COLUMNS, SOURCE_COLUMNS, ProvisioningConfig
from daily_dialin.rows import FINGERPRINT_COLUMNS, room_fingerprint, stored_time_problem

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
# a type to suggest when a column is missing (ALTER TABLE ... ADD COLUMN); others are TEXT
_ADD_TYPES = {"attempts": "INTEGER NOT NULL DEFAULT 0", "room_exp": "BIGINT"}


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
    rows without a room, so the watcher's poll (:func:`daily_dialin.freshness.pending.pending_work`)
    can tell an unchanged reported problem from new work."""
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

    def series_text(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        """SQL true when a ``series_id`` is text or an integer (what :func:`daily_dialin.rows.series_problem`
        accepts; a typed column holds nothing else)."""
        return sa.true()

    @staticmethod
    def first_code(text: ColumnElement[Any]) -> ColumnElement[Any]:
        """The code point of the text's first character (0 for ``""``)."""
        return sa.func.ascii(text)

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

    def series_text(self, col: ColumnElement[Any]) -> ColumnElement[bool]:
        # a BLOB b"S1" would CAST to "S1" silently, a REAL to "1.5": both are problem rows
        return sa.func.typeof(col).in_(["text", "integer"])

    @staticmethod
    def first_code(text: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.func.coalesce(sa.func.unicode(text), 0)  # unicode("") is NULL

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
