"""The meetings source table, read and written through any common-sql ``DbApiHook``.

Table and column names come from :class:`ProvisioningConfig` and are validated as plain SQL
identifiers before they are put into a statement; every value travels as a bound parameter.
Timestamps are bound as aware datetimes, except for SQLite, which stores them as UTC text
``YYYY-MM-DD HH:MM:SS`` (the documented format, compared as text).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from airflow.providers.common.sql.hooks.sql import DbApiHook

from airflow_provider_daily.provisioning.config import ProvisioningConfig
from airflow_provider_daily.provisioning.meetings import parse_utc, room_exp_for

SQLITE_TS = "%Y-%m-%d %H:%M:%S"
IN_LIST_LIMIT = 500  # stay under old SQLite's 999 bound-variable limit


@dataclass(frozen=True)
class Selection:
    """Which rows a run wants: time bounds (any may be None), ids, and whether to redo done ones."""

    starts_from: datetime | None = None
    starts_before: datetime | None = None
    ends_after: datetime | None = None
    meeting_ids: tuple[str, ...] = ()
    force: bool = False


@dataclass(frozen=True)
class Provisioned:
    meeting_id: str
    room_name: str
    room_url: str | None
    pin: str
    number: str
    dial_string: str
    room_exp: int


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
    return resources.files("airflow_provider_daily").joinpath("sql", name).read_text()


class MeetingsTable:
    """Reads due meetings and writes provisioning results back, one transaction per call."""

    def __init__(self, *, hook: DbApiHook, config: ProvisioningConfig) -> None:
        self.hook = hook
        self.config = config
        self.cols = config.column_map()
        self.table = config.table
        self.ph = hook.placeholder
        self.is_sqlite = getattr(hook, "conn_type", None) == "sqlite"

    @classmethod
    def from_config(cls, config: ProvisioningConfig) -> MeetingsTable:
        return cls(hook=DbApiHook.get_hook(config.meetings_conn_id), config=config)

    # -- helpers --------------------------------------------------------------------------
    def ts(self, value: datetime) -> Any:
        value = value.astimezone(UTC)
        return value.strftime(SQLITE_TS) if self.is_sqlite else value

    def _c(self, logical: str) -> str:
        return self.cols[logical]

    def _in(self, values: Sequence[Any]) -> str:
        return ", ".join([self.ph] * len(values))

    def create_schema(self) -> None:
        """Run the shipped DDL (default table and column names only)."""
        if self.table != "daily_meetings" or self.config.columns:
            raise ValueError("the shipped schema uses the default names; create custom tables yourself")
        script = schema_sql("sqlite" if self.is_sqlite else "postgresql")
        code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
        statements = [part.strip() for part in code.split(";") if part.strip()]
        with closing(self.hook.get_conn()) as conn:
            cur = conn.cursor()
            for statement in statements:
                cur.execute(statement)
            conn.commit()

    # -- reads ----------------------------------------------------------------------------
    def select_due_ids(self, selection: Selection) -> list[str]:
        """Ids of meetings the run should provision, earliest first."""
        where = [f"{self._c('status')} IN ({self._in(self.config.provisionable_statuses)})"]
        params: list[Any] = list(self.config.provisionable_statuses)
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
            # not provisioned yet (within the attempt limit), or provisioned: checked below
            where.append(
                f"({self._c('provisioned_at')} IS NULL AND {self._c('attempts')} < {self.ph}"
                f" OR {self._c('provisioned_at')} IS NOT NULL)"
            )
            params.append(self.config.max_attempts)
        columns = ", ".join(self._c(c) for c in ("meeting_id", "ends_at", "provisioned_at", "room_exp"))
        sql = (
            f"SELECT {columns} FROM {self.table} WHERE {' AND '.join(where)}"
            f" ORDER BY {self._c('starts_at')}, {self._c('meeting_id')}"
        )
        if not selection.meeting_ids:
            records = self.hook.get_records(sql, parameters=params)
        else:
            records = []
            for part in _chunks(sorted(set(selection.meeting_ids)), IN_LIST_LIMIT):
                sql_ids = sql.replace(" ORDER BY", f" AND {self._c('meeting_id')} IN ({self._in(part)}) ORDER BY")
                records.extend(self.hook.get_records(sql_ids, parameters=[*params, *part]))
        return [str(r[0]) for r in records if selection.force or self._needs_room(r[1], r[2], r[3])]

    def _needs_room(self, ends_at: Any, provisioned_at: Any, room_exp: Any) -> bool:
        """Not provisioned yet, or provisioned for another end time (the meeting was moved)."""
        if provisioned_at in (None, ""):
            return True
        try:
            return room_exp is None or int(room_exp) != room_exp_for(parse_utc(ends_at), self.config)
        except (TypeError, ValueError):
            return True  # unreadable: let the chunk report the row

    def fetch(self, meeting_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Rows keyed by meeting id, each keyed by logical column names."""
        logical = list(self.cols)
        select = ", ".join(self.cols[name] for name in logical)
        rows: dict[str, dict[str, Any]] = {}
        for part in _chunks(list(meeting_ids), IN_LIST_LIMIT):
            sql = f"SELECT {select} FROM {self.table} WHERE {self._c('meeting_id')} IN ({self._in(part)})"
            for record in self.hook.get_records(sql, parameters=list(part)):
                row = dict(zip(logical, record, strict=True))
                rows[str(row["meeting_id"])] = row
        return rows

    def read_all(self) -> list[dict[str, Any]]:
        """Every row, earliest first (for reports and the demo)."""
        logical = list(self.cols)
        select = ", ".join(self.cols[name] for name in logical)
        sql = f"SELECT {select} FROM {self.table} ORDER BY {self._c('starts_at')}, {self._c('meeting_id')}"
        return [dict(zip(logical, r, strict=True)) for r in self.hook.get_records(sql)]

    # -- writes ---------------------------------------------------------------------------
    def write_results(self, *, provisioned: Sequence[Provisioned], failed: dict[str, str], now: datetime) -> None:
        """Write every outcome of a chunk in one transaction."""
        c = self._c
        ok_sql = (
            f"UPDATE {self.table} SET {c('room_name')} = {self.ph}, {c('room_url')} = {self.ph}, "
            f"{c('dialin_pin')} = {self.ph}, {c('dialin_number')} = {self.ph}, "
            f"{c('dial_string')} = {self.ph}, {c('provisioned_at')} = {self.ph}, {c('room_exp')} = {self.ph}, "
            f"{c('last_error')} = NULL, {c('attempts')} = {c('attempts')} + 1 "
            f"WHERE {c('meeting_id')} = {self.ph}"
        )
        fail_sql = (
            f"UPDATE {self.table} SET {c('last_error')} = {self.ph}, {c('attempts')} = {c('attempts')} + 1 "
            f"WHERE {c('meeting_id')} = {self.ph}"
        )
        stamp = self.ts(now)
        ok_rows = [
            (p.room_name, p.room_url, p.pin, p.number, p.dial_string, stamp, p.room_exp, p.meeting_id)
            for p in provisioned
        ]
        fail_rows = [(reason[:2000], meeting_id) for meeting_id, reason in failed.items()]
        with closing(self.hook.get_conn()) as conn:
            try:
                cur = conn.cursor()
                if ok_rows:
                    cur.executemany(ok_sql, ok_rows)
                if fail_rows:
                    cur.executemany(fail_sql, fail_rows)
                conn.commit()
            except Exception:
                conn.rollback()
                raise
