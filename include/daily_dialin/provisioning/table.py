"""The meetings source table, read and written through any common-sql ``DbApiHook``.

Table and column names come from :class:`ProvisioningConfig`, are validated as plain SQL
identifiers and quoted when they are reserved words (``select``), so they can never change a
statement; every value travels as a bound parameter. Timestamps are bound as aware datetimes,
except for SQLite, which stores them as UTC text ``YYYY-MM-DD HH:MM:SS`` (the documented format,
compared as text: rows in any other format are reported by :meth:`MeetingsTable.problem_rows`,
never silently skipped).

Statuses are compared trimmed and case-insensitively. Meeting ids are compared exactly: a
write-back always targets the row that was read.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from airflow.providers.common.sql.hooks.sql import DbApiHook

from airflow_provider_daily.errors import DailyConfigError
from daily_dialin.provisioning.config import ProvisioningConfig, check_identifier
from daily_dialin.provisioning.meetings import FINGERPRINT_COLUMNS, needs_room
from daily_dialin.provisioning.window import Selection

SQLITE_TS = "%Y-%m-%d %H:%M:%S"
IN_LIST_LIMIT = 500  # stay under old SQLite's 999 bound-variable limit
STREAM_BATCH = 5000
_DIGIT = "[0-9]"
# the documented SQLite timestamp text, optionally with fractional seconds
_SQLITE_TS_GLOBS = (
    f"{_DIGIT * 4}-{_DIGIT * 2}-{_DIGIT * 2} {_DIGIT * 2}:{_DIGIT * 2}:{_DIGIT * 2}",
    f"{_DIGIT * 4}-{_DIGIT * 2}-{_DIGIT * 2} {_DIGIT * 2}:{_DIGIT * 2}:{_DIGIT * 2}.*",
)
# words that need quoting as identifiers in every dialect we know, besides the hook's own list
_ALWAYS_RESERVED = frozenset(
    (
        "all",
        "and",
        "any",
        "as",
        "asc",
        "between",
        "by",
        "case",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "cross",
        "current_date",
        "current_time",
        "current_timestamp",
        "default",
        "delete",
        "desc",
        "distinct",
        "drop",
        "else",
        "end",
        "except",
        "exists",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "in",
        "index",
        "inner",
        "insert",
        "intersect",
        "into",
        "is",
        "join",
        "key",
        "left",
        "like",
        "limit",
        "natural",
        "not",
        "null",
        "offset",
        "on",
        "or",
        "order",
        "outer",
        "primary",
        "references",
        "right",
        "select",
        "set",
        "table",
        "then",
        "to",
        "true",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "values",
        "when",
        "where",
        "window",
        "with",
    )
)


@dataclass(frozen=True)
class Provisioned:
    """A meeting's room, to be written into its row."""

    meeting_id: str
    room_name: str
    room_url: str | None
    pin: str
    number: str
    dial_string: str
    room_exp: int
    fingerprint: str


@dataclass(frozen=True)
class Failure:
    """Why a meeting has no room; ``counts`` says whether it is an attempt of that meeting (its
    row is bad, Daily refused its room) or not (an outage, a wrong key: never strands it)."""

    meeting_id: str
    reason: str
    counts: bool


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


class MeetingsTable:
    """Reads due meetings and writes provisioning results back, one transaction per call."""

    def __init__(self, *, hook: DbApiHook, config: ProvisioningConfig) -> None:
        self.hook = hook
        self.config = config
        self.is_sqlite = getattr(hook, "conn_type", None) == "sqlite"
        self.ph = hook.placeholder
        self.cols = {logical: self._quote(physical) for logical, physical in config.column_map().items()}
        self.table = ".".join(self._quote(part) for part in config.table.split("."))

    @classmethod
    def from_config(cls, config: ProvisioningConfig) -> MeetingsTable:
        try:
            hook = DbApiHook.get_hook(config.meetings_conn_id)
        except Exception as exc:  # AirflowNotFoundException, a provider that is not installed, ...
            raise DailyConfigError(
                f"meetings connection {config.meetings_conn_id!r} is not usable ({type(exc).__name__}: {exc})"
            ) from None
        return cls(hook=hook, config=config)

    # -- helpers --------------------------------------------------------------------------
    def _quote(self, word: str) -> str:
        try:
            reserved = {w.casefold() for w in self.hook.reserved_words}
        except Exception:
            reserved = set()
        if word.casefold() in _ALWAYS_RESERVED or word.casefold() in reserved:
            return self.hook.escape_word_format.format(word)
        return word

    def ts(self, value: datetime) -> Any:
        value = value.astimezone(UTC)
        return value.strftime(SQLITE_TS) if self.is_sqlite else value

    def _c(self, logical: str) -> str:
        return self.cols[logical]

    def _in(self, values: Sequence[Any]) -> str:
        return ", ".join([self.ph] * len(values))

    def _status_in(self, statuses: Sequence[str]) -> tuple[str, list[Any]]:
        return f"LOWER(TRIM({self._c('status')})) IN ({self._in(statuses)})", list(statuses)

    def _malformed_time(self, logical: str) -> str:
        """SQL true when a time column cannot be compared (NULL; on SQLite: not the documented text)."""
        col = self._c(logical)
        if not self.is_sqlite:
            return f"{col} IS NULL"
        globs = " OR ".join(f"{col} GLOB '{g}'" for g in _SQLITE_TS_GLOBS)
        return f"({col} IS NULL OR typeof({col}) != 'text' OR NOT ({globs}))"

    def create_schema(self) -> None:
        """Run the shipped DDL (default table and column names only)."""
        if self.config.table != "daily_meetings" or self.config.columns:
            raise ValueError("the shipped schema uses the default names; create custom tables yourself")
        script = schema_sql("sqlite" if self.is_sqlite else "postgresql")
        code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
        statements = [part.strip() for part in code.split(";") if part.strip()]
        with closing(self.hook.get_conn()) as conn:
            cur = conn.cursor()
            for statement in statements:
                cur.execute(statement)
            conn.commit()

    def check_columns(self) -> None:
        """Fail fast, saying what to fix, when the table lacks a configured column (e.g. a table
        created before ``room_fingerprint`` existed) - instead of an SQL error retried as an outage."""
        exc = self._shape_error(", ".join(self.cols.values()))
        if exc is not None:
            raise DailyConfigError(
                f"meetings table {self.config.table!r} cannot be read with the configured columns "
                f"({type(exc).__name__}: {str(exc).strip()[:300]}). Expected columns (logical -> physical): "
                f"{self.config.column_map()}. Tables created before version 0.2 need: "
                f"ALTER TABLE {self.config.table} ADD COLUMN room_fingerprint TEXT"
            ) from None

    def check_optional_column(self, physical: str, setting: str) -> None:
        """Fail fast when a column only ``setting`` uses is missing, saying how to add it."""
        exc = self._shape_error(self._quote(check_identifier(physical)))
        if exc is not None:
            raise DailyConfigError(
                f"{setting} is on, but meetings table {self.config.table!r} has no column {physical!r} "
                f"({type(exc).__name__}): ALTER TABLE {self.config.table} ADD COLUMN {physical} TEXT"
            ) from None

    def write_optional_column(self, physical: str, values: Sequence[tuple[str | None, str]]) -> None:
        """``(value, meeting_id)`` pairs into a column only a setting uses, in one transaction."""
        if not values:
            return
        column = self._quote(check_identifier(physical))
        sql = f"UPDATE {self.table} SET {column} = {self.ph} WHERE {self._c('meeting_id')} = {self.ph}"
        self._write_many(sql, values)

    def _shape_error(self, select: str) -> Exception | None:
        """Read ``select`` (no rows): the error if the table's shape is wrong (a missing table or
        column), None if it reads. Any other error (the database is down) is raised: an outage."""
        try:
            self.hook.get_records(f"SELECT {select} FROM {self.table} WHERE 1 = 0")
        except Exception as exc:
            text = str(exc).lower()
            if not any(word in text for word in ("column", "relation", "table", "syntax")):
                raise
            return exc
        return None

    def _write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """``executemany`` in one transaction."""
        with closing(self.hook.get_conn()) as conn:
            try:
                conn.cursor().executemany(sql, list(rows))
                conn.commit()
            except Exception:
                conn.rollback()
                raise

    # -- what a run selects -------------------------------------------------------------------
    def _where(self, selection: Selection) -> tuple[list[str], list[Any]]:
        """The WHERE terms of "due in this selection" (the plan and every chunk use the same)."""
        status_sql, params = self._status_in(self.config.provisionable_statuses)
        # a NULL or blank id is reported by problem_rows (once, not also as a failed meeting)
        where = [status_sql, f"{self._c('meeting_id')} IS NOT NULL", f"TRIM({self._c('meeting_id')}) != ''"]
        if self.is_sqlite:  # a BLOB or number id cannot be an XCom-safe key: reported by problem_rows
            where.append(f"typeof({self._c('meeting_id')}) = 'text'")
        if self.is_sqlite:  # rows whose times cannot be compared are reported by problem_rows instead
            where.append(f"NOT {self._malformed_time('starts_at')} AND NOT {self._malformed_time('ends_at')}")
        if selection.starts_from is not None:
            where.append(f"{self._c('starts_at')} >= {self.ph}")
            params.append(self.ts(selection.starts_from))
        if selection.starts_before is not None:
            where.append(f"{self._c('starts_at')} < {self.ph}")
            params.append(self.ts(selection.starts_before))
        if selection.ends_after is not None:
            where.append(f"{self._c('ends_at')} > {self.ph}")
            params.append(self.ts(selection.ends_after))
        if not selection.force:
            # not provisioned yet and not given up on, or provisioned (checked for changes later)
            where.append(
                f"({self._c('provisioned_at')} IS NULL AND COALESCE({self._c('attempts')}, 0) < {self.ph}"
                f" OR {self._c('provisioned_at')} IS NOT NULL)"
            )
            params.append(self.config.max_attempts)
        return where, params

    def _select(
        self, columns: Sequence[str], selection: Selection, extra: Sequence[str] = (), extra_params: Sequence[Any] = ()
    ) -> Iterator[dict[str, Any]]:
        where, params = self._where(selection)
        where = [*where, *extra]
        params = [*params, *extra_params]
        select = ", ".join(self._c(c) for c in columns)
        sql = f"SELECT {select} FROM {self.table} WHERE {' AND '.join(where)}"
        order = f" ORDER BY {self._c('meeting_id')}"
        if not selection.meeting_ids:
            parts: list[tuple[str, list[Any]]] = [(sql + order, params)]
        else:
            parts = [
                (f"{sql} AND {self._c('meeting_id')} IN ({self._in(ids)}){order}", [*params, *ids])
                for ids in _chunks(sorted(set(selection.meeting_ids)), IN_LIST_LIMIT)
            ]
        for statement, bound in parts:
            yield from self._stream(statement, bound, columns)

    def _stream(self, sql: str, params: Sequence[Any], columns: Sequence[str]) -> Iterator[dict[str, Any]]:
        """Rows a few thousand at a time: a plan over 100,000 meetings never holds them all."""
        with closing(self.hook.get_conn()) as conn:
            cur = conn.cursor()
            try:
                cur.execute(sql, list(params))
                while records := cur.fetchmany(STREAM_BATCH):
                    for record in records:
                        yield dict(zip(columns, record, strict=True))
            finally:
                cur.close()

    def select_due_ids(self, selection: Selection) -> list[str]:
        """Ids of meetings the run should provision, in the database's order of ids."""
        columns = ("meeting_id", *FINGERPRINT_COLUMNS, "provisioned_at", "room_fingerprint")
        rows = self._select(columns, selection)
        return [row["meeting_id"] for row in rows if needs_room(row, self.config, force=selection.force)]

    def fetch_range(self, selection: Selection, first_id: str, last_id: str) -> list[dict[str, Any]]:
        """A chunk's rows: the selection's due rows with ``first_id <= id <= last_id``, every column."""
        extra = [f"{self._c('meeting_id')} >= {self.ph}", f"{self._c('meeting_id')} <= {self.ph}"]
        rows = self._select(list(self.cols), selection, extra, [first_id, last_id])
        return [row for row in rows if needs_room(row, self.config, force=selection.force)]

    def fetch(self, meeting_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Rows keyed by exact meeting id, each keyed by logical column names."""
        logical = list(self.cols)
        select = ", ".join(self.cols[name] for name in logical)
        rows: dict[str, dict[str, Any]] = {}
        for part in _chunks(list(meeting_ids), IN_LIST_LIMIT):
            sql = f"SELECT {select} FROM {self.table} WHERE {self._c('meeting_id')} IN ({self._in(part)})"
            for record in self.hook.get_records(sql, parameters=list(part)):
                row = dict(zip(logical, record, strict=True))
                rows[row["meeting_id"]] = row
        return rows

    def existing_ids(self, meeting_ids: Sequence[str]) -> set[str]:
        """Which of ``meeting_ids`` are in the table at all (to name unknown ids)."""
        found: set[str] = set()
        for part in _chunks(sorted(set(meeting_ids)), IN_LIST_LIMIT):
            sql = (
                f"SELECT {self._c('meeting_id')} FROM {self.table} WHERE {self._c('meeting_id')} IN ({self._in(part)})"
            )
            found.update(r[0] for r in self.hook.get_records(sql, parameters=list(part)))
        return found

    def provisioned_in(self, selection: Selection) -> list[dict[str, Any]]:
        """Provisioned meetings the selection covers (a dry run lists them as already done)."""
        columns = ("meeting_id", "starts_at", "provisioned_at", "room_name")
        done = Selection(**{**selection.__dict__, "force": True})
        return list(self._select(columns, done, [f"{self._c('provisioned_at')} IS NOT NULL"]))

    def problem_rows(self, now: datetime) -> list[dict[str, Any]]:
        """Rows no run can select, each with the reason: a NULL or empty id or an unreadable
        start/end on a provisionable row, or a status in none of the configured lists (only for
        meetings not known to be over)."""
        c = self._c
        provisionable, p_params = self._status_in(self.config.provisionable_statuses)
        known = [*self.config.provisionable_statuses, *self.config.cancelled_statuses, *self.config.ignored_statuses]
        known_sql, k_params = self._status_in(known)
        malformed = f"({self._malformed_time('starts_at')} OR {self._malformed_time('ends_at')})"
        bad_id = f"({c('meeting_id')} IS NULL OR TRIM({c('meeting_id')}) = ''"
        bad_id += f" OR typeof({c('meeting_id')}) != 'text')" if self.is_sqlite else ")"
        not_over = f"({self._malformed_time('ends_at')} OR {c('ends_at')} > {self.ph})"
        sql = (
            f"SELECT {c('meeting_id')}, {c('status')}, {c('starts_at')}, {c('ends_at')}, "
            f"CASE WHEN {provisionable} AND {bad_id} THEN 'id' "
            f"WHEN {provisionable} AND {malformed} THEN 'time' "
            f"WHEN NOT ({known_sql}) OR {c('status')} IS NULL THEN 'status' END AS problem "
            f"FROM {self.table} "
            f"WHERE ({provisionable} AND ({bad_id} OR {malformed})) "
            f"OR ((NOT ({known_sql}) OR {c('status')} IS NULL) AND {not_over})"
        )
        params = [*p_params, *p_params, *k_params, *p_params, *k_params, self.ts(now)]
        out = []
        for meeting_id, status, starts_at, ends_at, problem in self.hook.get_records(sql, parameters=params):
            if problem == "id" and meeting_id is not None and not isinstance(meeting_id, str):
                reason = f"meeting_id {meeting_id!r} is not text ({type(meeting_id).__name__}): store ids as text"
            elif problem == "id":
                reason = "meeting_id is empty: the row cannot be provisioned or written to by id"
            elif problem == "time":
                bad = [
                    f"{name} {value!r}"
                    for name, value in (("starts_at", starts_at), ("ends_at", ends_at))
                    if not _well_formed(value, self.is_sqlite)
                ]
                reason = (
                    f"{' and '.join(bad) or 'a time'} is not a timestamp the table can compare "
                    "(store UTC text 'YYYY-MM-DD HH:MM:SS')"
                )
            else:
                reason = (
                    f"status {status!r} is none of provisionable {self.config.provisionable_statuses}, "
                    f"cancelled {self.config.cancelled_statuses} or ignored {self.config.ignored_statuses}"
                )
            out.append({"meeting_id": meeting_id, "problem": problem, "reason": reason})
        return out

    def given_up(self, selection: Selection) -> list[str]:
        """Meetings of the selection left without a room after ``max_attempts`` failures."""
        c = self._c
        status_sql, params = self._status_in(self.config.provisionable_statuses)
        where = [status_sql, f"{c('provisioned_at')} IS NULL", f"COALESCE({c('attempts')}, 0) >= {self.ph}"]
        params.append(self.config.max_attempts)
        if selection.ends_after is not None:
            where.append(f"{c('ends_at')} > {self.ph}")
            params.append(self.ts(selection.ends_after))
        sql = f"SELECT {c('meeting_id')} FROM {self.table} WHERE {' AND '.join(where)} ORDER BY {c('meeting_id')}"
        return [r[0] for r in self.hook.get_records(sql, parameters=params)]

    def cancelled_with_rooms(self, *, limit: int) -> list[dict[str, Any]]:
        """Meetings cancelled after provisioning whose room still holds a PIN."""
        c = self._c
        status_sql, params = self._status_in(self.config.cancelled_statuses)
        sql = (
            f"SELECT {c('meeting_id')}, {c('room_name')} FROM {self.table} WHERE {status_sql} "
            f"AND {c('room_name')} IS NOT NULL "
            f"AND ({c('dialin_pin')} IS NOT NULL OR {c('provisioned_at')} IS NOT NULL) "
            f"ORDER BY {c('meeting_id')}"
        )
        return [{"meeting_id": r[0], "room_name": r[1]} for r in self.hook.get_records(sql, parameters=params)[:limit]]

    def provisioned_rows(self, now: datetime) -> list[dict[str, Any]]:
        """Provisioned, provisionable meetings that are not over: what reconcile checks against Daily."""
        c = self._c
        status_sql, params = self._status_in(self.config.provisionable_statuses)
        columns = list(self.cols)
        sql = (
            f"SELECT {', '.join(self.cols[n] for n in columns)} FROM {self.table} WHERE {status_sql} "
            f"AND {c('provisioned_at')} IS NOT NULL AND {c('ends_at')} > {self.ph} ORDER BY {c('meeting_id')}"
        )
        return [
            dict(zip(columns, r, strict=True)) for r in self.hook.get_records(sql, parameters=[*params, self.ts(now)])
        ]

    def read_all(self) -> list[dict[str, Any]]:
        """Every row, earliest first (for reports and the demo)."""
        logical = list(self.cols)
        select = ", ".join(self.cols[name] for name in logical)
        sql = f"SELECT {select} FROM {self.table} ORDER BY {self._c('starts_at')}, {self._c('meeting_id')}"
        return [dict(zip(logical, r, strict=True)) for r in self.hook.get_records(sql)]

    # -- writes ---------------------------------------------------------------------------
    def write_results(self, *, provisioned: Sequence[Provisioned], failed: Sequence[Failure], now: datetime) -> None:
        """Write every outcome of a chunk in one transaction, each to the row it was read from.

        Only failures of the meeting itself add to ``attempts``; an outage or a refused key
        records its reason and leaves the count alone, so it never strands a meeting."""
        c = self._c
        ok_sql = (
            f"UPDATE {self.table} SET {c('room_name')} = {self.ph}, {c('room_url')} = {self.ph}, "
            f"{c('dialin_pin')} = {self.ph}, {c('dialin_number')} = {self.ph}, "
            f"{c('dial_string')} = {self.ph}, {c('provisioned_at')} = {self.ph}, {c('room_exp')} = {self.ph}, "
            f"{c('room_fingerprint')} = {self.ph}, {c('last_error')} = NULL, "
            f"{c('attempts')} = COALESCE({c('attempts')}, 0) + 1 WHERE {c('meeting_id')} = {self.ph}"
        )
        stamp = self.ts(now)
        ok_rows = [
            (p.room_name, p.room_url, p.pin, p.number, p.dial_string, stamp, p.room_exp, p.fingerprint, p.meeting_id)
            for p in provisioned
        ]
        with closing(self.hook.get_conn()) as conn:
            try:
                cur = conn.cursor()
                if ok_rows:
                    cur.executemany(ok_sql, ok_rows)
                self._write_failures(cur, failed)
                conn.commit()
            except Exception:
                conn.rollback()
                raise

    def write_failures(self, failed: Sequence[Failure]) -> None:
        with closing(self.hook.get_conn()) as conn:
            try:
                self._write_failures(conn.cursor(), failed)
                conn.commit()
            except Exception:
                conn.rollback()
                raise

    def _write_failures(self, cur: Any, failed: Sequence[Failure]) -> None:
        c = self._c
        set_error = f"UPDATE {self.table} SET {c('last_error')} = {self.ph}"
        counted = f"{set_error}, {c('attempts')} = COALESCE({c('attempts')}, 0) + 1 WHERE {c('meeting_id')} = {self.ph}"
        uncounted = f"{set_error} WHERE {c('meeting_id')} = {self.ph}"
        for sql, rows in (
            (counted, [(f.reason[:2000], f.meeting_id) for f in failed if f.counts and f.meeting_id is not None]),
            (uncounted, [(f.reason[:2000], f.meeting_id) for f in failed if not f.counts and f.meeting_id is not None]),
        ):
            if rows:
                cur.executemany(sql, rows)
        null_ids = [f for f in failed if f.meeting_id is None]
        if null_ids:
            status_sql, params = self._status_in(self.config.provisionable_statuses)
            cur.execute(
                f"{set_error} WHERE {c('meeting_id')} IS NULL AND {status_sql}", [null_ids[0].reason[:2000], *params]
            )

    def clear_rooms(self, retired: Sequence[tuple[str, str]]) -> None:
        """After deleting their rooms: clear PIN, URL and dial string of ``(meeting_id, room_name)``."""
        c = self._c
        sql = (
            f"UPDATE {self.table} SET {c('room_url')} = NULL, {c('dialin_pin')} = NULL, {c('dial_string')} = NULL, "
            f"{c('provisioned_at')} = NULL, {c('room_exp')} = NULL, {c('room_fingerprint')} = NULL, "
            f"{c('last_error')} = NULL WHERE {c('meeting_id')} = {self.ph} AND {c('room_name')} = {self.ph}"
        )
        if retired:
            self._write_many(sql, retired)


def _well_formed(value: Any, is_sqlite: bool) -> bool:
    if value is None:
        return False
    if not is_sqlite:
        return True
    return isinstance(value, str) and any(
        fnmatch.fnmatchcase(value, g.replace("[0-9]", "[0123456789]")) for g in _SQLITE_TS_GLOBS
    )
