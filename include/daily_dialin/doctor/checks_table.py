"""The doctor's meetings-table checks, through :class:`~daily_dialin.provisioning.table.MeetingsTable`
(read-only: its public methods and its dialect rules ``table.rules``; a few aggregate SELECTs).

Reachable with every mapped column; usable column types; the watcher's indexes; rows with
impossible or unparseable times or ids (:meth:`MeetingsTable.problem_rows` plus ``ends_at <=
starts_at``); statuses in none of the lists, with counts (:func:`daily_dialin.rows.normalize_status`);
duplicate meeting ids; provisionable meetings more than 365 days ahead; series whose occurrences
disagree on the settings their shared room takes; and, when a column is named, expected phone
callers above Daily's 5 per room. Each query is one aggregate, cheap at 100,000 rows.

May import: SQLAlchemy, :mod:`daily_dialin.provisioning` (config, table), :mod:`daily_dialin.rows`,
the provider's errors and :mod:`daily_dialin.doctor` (report, checks_daily's ``Demand``).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from airflow_provider_daily.errors import DailyConfigError
from daily_dialin.doctor.checks_daily import Demand, requested_numbers
from daily_dialin.doctor.report import Check, fail, ok, skip, warn
from daily_dialin.rows import StatusKind, normalize_status, status_kind

AREA = "table"
DAYS_AHEAD = 365  # Daily's limit on a dial-in room's life [doc]
MAX_PHONE_SESSIONS = 5  # SIP/PSTN sessions per room [doc]
SHOWN = 3


def _records(table: Any, query: sa.Select[Any]) -> list[Any]:
    with table.engine.connect() as conn:
        return list(conn.execute(query))


def _ids(values: list[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:SHOWN])
    return shown + (" ..." if len(values) > SHOWN else "")


def reachable(table: Any) -> Check:
    """The table exists on the connection with every mapped column (its own check, its own fix)."""
    try:
        table.check_columns()
    except DailyConfigError as exc:
        return fail(AREA, "columns", str(exc).split(". Expected columns")[0], _columns_fix(str(exc)))
    except Exception as exc:  # an outage, a driver missing, a wrong host
        return fail(
            AREA,
            "reachable",
            f"cannot read the table ({type(exc).__name__}: {_first_line(exc)})",
            "check the meetings connection's host, login and database",
        )
    return ok(AREA, "columns", f"{table.config.table!r}: every mapped column present")


def _columns_fix(message: str) -> str:
    if "does not exist" in message:
        return (
            "python -m daily_dialin.bootstrap --create-meetings-table (shipped schema), or set 'table' in the Variable"
        )
    return "add the columns (ALTER TABLE ... ADD COLUMN, as above) or map them in the Variable's 'columns'"


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:160]


def _reflected(table: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Columns (lower-case name -> reflected column) and indexes of the table."""
    inspector = sa.inspect(table.engine)
    schema, name = table.meetings.schema, table.meetings.name
    with warnings.catch_warnings():  # an index on an expression (the series key) is not reflected
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        columns = {col["name"].lower(): col for col in inspector.get_columns(name, schema=schema)}
        indexes = inspector.get_indexes(name, schema=schema)
    return columns, indexes


def column_types(table: Any) -> Check:
    """Times compare as times (TIMESTAMPTZ; SQLite: text), counters are integers."""
    columns, _ = _reflected(table)
    physical = table.config.column_map()
    problems = []
    for logical in ("starts_at", "ends_at", "provisioned_at"):
        problems += _time_type(table, physical[logical], columns.get(physical[logical].lower()))
    for logical in ("attempts", "room_exp"):
        col = columns.get(physical[logical].lower())
        if col is not None and not isinstance(col["type"], sa.Integer):
            problems.append(f"{physical[logical]} is {col['type']}, not an integer")
    if problems:
        fix = (
            "use the shipped schema's types (include/daily_dialin/sql/meetings.<dialect>.sql): "
            "ALTER TABLE ... ALTER COLUMN ... TYPE"
        )
        return Check(
            area=AREA,
            name="column types",
            status=_worst(problems),
            why="; ".join(p.lstrip("!") for p in problems),
            fix=fix,
        )
    return ok(AREA, "column types", "times and counters have usable types")


def _worst(problems: list[str]) -> str:
    return "fail" if any(p.startswith("!") for p in problems) else "warn"


def _time_type(table: Any, name: str, col: dict[str, Any] | None) -> list[str]:
    if col is None:
        return []
    kind = col["type"]
    if table.is_sqlite:
        numeric = isinstance(kind, sa.Integer | sa.Float | sa.Numeric)
        return [f"{name} is declared {kind}: SQLite times must be UTC text"] if numeric else []
    if not isinstance(kind, sa.DateTime):
        return [f"!{name} is {kind}: PostgreSQL cannot compare it with a time (use TIMESTAMPTZ)"]
    if not getattr(kind, "timezone", False):
        return [f"{name} is TIMESTAMP WITHOUT TIME ZONE: read in the session's time zone (use TIMESTAMPTZ)"]
    return []


def indexes(table: Any) -> Check:
    """The watcher's indexes: rows without a room by start (and status on PostgreSQL)."""
    _, found = _reflected(table)
    physical = table.config.column_map()
    firsts = {(idx.get("column_names") or [None])[0] for idx in found}
    wanted = {"starts_at": physical["starts_at"].lower()}
    if not table.is_sqlite:
        wanted["status"] = physical["status"].lower()
    missing = [logical for logical, name in wanted.items() if name not in firsts]
    if missing:
        name = table.config.table
        statements = {
            "starts_at": f"CREATE INDEX daily_meetings_unprovisioned ON {name} ({physical['starts_at']}) "
            f"WHERE {physical['provisioned_at']} IS NULL",
            "status": f'CREATE INDEX daily_meetings_status ON {name} ({physical["status"]} COLLATE "C")',
        }
        why = f"no index starting with {', '.join(missing)}: the watcher scans the whole table every few seconds"
        return warn(AREA, "indexes", why, "; ".join(statements[m] for m in missing))
    return ok(AREA, "indexes", f"the watcher's indexes are there ({', '.join(wanted)})")


def bad_rows(table: Any, now: datetime) -> Check:
    """Provisionable rows no run can provision: unparseable times or ids, or ending before they start."""
    problems = table.problem_rows(now)
    unparseable = {p.meeting_id for p in problems if p.kind == "time"}
    parts = _bad_row_parts(problems, [mid for mid in _impossible(table) if mid not in unparseable])
    if parts:
        fix = (
            "store UTC times as the shipped schema does (SQLite: 'YYYY-MM-DD HH:MM:SS' text), "
            "ends_at after starts_at, ids as text"
        )
        return fail(AREA, "times and ids", "provisionable rows: " + "; ".join(parts), fix)
    return ok(AREA, "times and ids", "every provisionable row has a usable id and start < end")


def _bad_row_parts(problems: list[Any], impossible: list[Any]) -> list[str]:
    """What is wrong with the provisionable rows, one phrase per kind (none: nothing)."""
    kinds = Counter(p.kind for p in problems)
    parts = []
    if kinds["time"]:
        example = next(p.reason for p in problems if p.kind == "time")
        parts.append(f"{kinds['time']} with unparseable times (e.g. {example[:140]})")
    if impossible:
        parts.append(f"{len(impossible)} ending before they start ({_ids(impossible)})")
    if kinds["id"]:
        parts.append(f"{kinds['id']} without a usable meeting_id")
    return parts


def _impossible(table: Any) -> list[Any]:
    c, rules, config = table.c, table.rules, table.config
    query = sa.select(c.meeting_id, c.status).where(
        rules.valid_time(c.starts_at), rules.valid_time(c.ends_at), c.ends_at <= c.starts_at
    )
    return [mid for mid, status in _records(table, query) if _provisionable(status, config)]


def _provisionable(status: Any, config: Any) -> bool:
    return status_kind(normalize_status(status), config) is StatusKind.PROVISIONABLE


def statuses(table: Any) -> Check:
    """Statuses in none of the configured lists, with their counts."""
    c, config = table.c, table.config
    counts = _records(table, sa.select(c.status, sa.func.count()).group_by(c.status))
    unknown: Counter[str] = Counter()
    for status, count in counts:
        if status_kind(normalize_status(status), config) is StatusKind.UNKNOWN:
            unknown["(empty)" if not normalize_status(status) else str(status)] += count
    if unknown:
        shown = ", ".join(f"{status!r}: {count}" for status, count in unknown.most_common(6))
        fix = (
            "add each to provisionable_statuses, cancelled_statuses or ignored_statuses in the Variable "
            "(or fix the rows)"
        )
        return warn(AREA, "statuses", f"{sum(unknown.values())} rows have a status in none of the lists ({shown})", fix)
    return ok(AREA, "statuses", f"every status is listed ({len(counts)} distinct)")


def duplicates(table: Any) -> Check:
    """Meeting ids that name more than one row (a write-back would hit them all)."""
    c = table.c
    query = sa.select(c.meeting_id).where(c.meeting_id.is_not(None)).group_by(c.meeting_id).having(sa.func.count() > 1)
    dupes = [row[0] for row in _records(table, query)]
    if dupes:
        fix = "make meeting_id unique (ALTER TABLE ... ADD PRIMARY KEY (meeting_id) after removing the copies)"
        return fail(AREA, "duplicate ids", f"{len(dupes)} meeting ids name several rows ({_ids(dupes)})", fix)
    return ok(AREA, "duplicate ids", "every meeting id names one row")


def far_ahead(table: Any, now: datetime) -> Check:
    """Provisionable meetings starting more than 365 days ahead: no room can live that long."""
    c, config = table.c, table.config
    limit = table.ts(now + timedelta(days=DAYS_AHEAD))
    query = sa.select(c.status, sa.func.count()).where(table.rules.valid_time(c.starts_at), c.starts_at > limit)
    count = sum(n for status, n in _records(table, query.group_by(c.status)) if _provisionable(status, config))
    if count:
        why = f"{count} provisionable meetings start more than {DAYS_AHEAD} days ahead (a typo in the year?)"
        return warn(
            AREA, "far ahead", why, "check their starts_at; they get rooms only once they are within the horizon"
        )
    return ok(AREA, "far ahead", f"no meeting starts more than {DAYS_AHEAD} days ahead")


def series(table: Any) -> Check:
    """Occurrences of one series that disagree on what their shared room takes."""
    if not table.has_series:
        return skip(AREA, "series", "the table has no series_id column (no recurring meetings)")
    c, config = table.c, table.config
    query = (
        sa.select(c.series_id, c.status, c.requested_phone_number, c.dialin_display_name, c.wait_for_meeting_start)
        .where(c.series_id.is_not(None))
        .distinct()
    )
    numbers: dict[Any, set[Any]] = {}
    settings: dict[Any, set[Any]] = {}
    for key, status, number, name, wait in _records(table, query):
        if _provisionable(status, config):
            numbers.setdefault(key, set()).add(number)
            settings.setdefault(key, set()).add((name, wait))
    split = sorted(str(k) for k, v in numbers.items() if len(v) > 1)
    differ = sorted(str(k) for k, v in settings.items() if len(v) > 1)
    if split:
        why = (
            f"{len(split)} series request different phone numbers across occurrences ({_ids(split)}): they get no room"
        )
        return fail(AREA, "series", why, "give every occurrence of a series the same requested_phone_number")
    if differ:
        why = (
            f"{len(differ)} series differ in dialin_display_name or wait_for_meeting_start ({_ids(differ)}): "
            "the room follows the next occurrence"
        )
        return warn(AREA, "series", why, "make the occurrences agree, or split the series")
    return ok(AREA, "series", f"{len(numbers)} series, each consistent")


def callers(table: Any, column: str | None) -> Check:
    """Expected phone callers above Daily's 5 per room (an optional column, only when named)."""
    if not column:
        return skip(AREA, "phone callers", "not configured (name the column with --callers-column)")
    columns, _ = _reflected(table)
    if column.lower() not in columns:
        return fail(
            AREA, "phone callers", f"the table has no column {column!r}", "add it or name another with --callers-column"
        )
    col, config = sa.column(column.lower()), table.config
    query = sa.select(table.c.status, sa.func.count()).select_from(table.meetings).where(col > MAX_PHONE_SESSIONS)
    count = sum(n for status, n in _records(table, query.group_by(table.c.status)) if _provisionable(status, config))
    if count:
        why = (
            f"{count} meetings expect more than {MAX_PHONE_SESSIONS} phone callers: "
            f"Daily connects {MAX_PHONE_SESSIONS} per room"
        )
        return warn(AREA, "phone callers", why, "split those meetings, or let the extra callers join by app or browser")
    return ok(AREA, "phone callers", f"no meeting expects more than {MAX_PHONE_SESSIONS} phone callers")


def demand(table: Any, now: datetime) -> Demand:
    """The numbers the table requests and the rooms the horizon still needs (one room per series)."""
    c, config = table.c, table.config
    numbers, bad = requested_numbers(row[0] for row in _records(table, sa.select(c.requested_phone_number).distinct()))
    series_col = c.series_id if table.has_series else sa.null()
    query = sa.select(c.status, series_col, sa.func.count()).where(
        c.provisioned_at.is_(None),
        table.rules.valid_time(c.starts_at),
        table.rules.valid_time(c.ends_at),
        c.starts_at < table.ts(now + timedelta(days=config.horizon_days)),
        c.ends_at > table.ts(now),
    )
    rooms = 0
    for status, key, count in _records(table, query.group_by(c.status, series_col)):
        if _provisionable(status, config):
            rooms += count if key is None else 1
    return Demand(requested_numbers=numbers, unreadable_numbers=bad, rooms_needed=rooms)


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # a check's own query failed: a finding, never a traceback
        return fail(
            AREA,
            name,
            f"could not be checked ({type(exc).__name__}: {_first_line(exc)})",
            "see the error; check the table",
        )


def run(table: Any, *, now: datetime, callers_column: str | None = None) -> list[Check]:
    """Every table check; when the table or a column is missing, the rest say *skip*."""
    first = reachable(table)
    rest = (
        "column types",
        "indexes",
        "times and ids",
        "statuses",
        "duplicate ids",
        "far ahead",
        "series",
        "phone callers",
    )
    if first.status == "fail":
        return [first, *(skip(AREA, name, "the table is not usable") for name in rest)]
    checks: list[tuple[str, Callable[[], Check]]] = [
        ("column types", lambda: column_types(table)),
        ("indexes", lambda: indexes(table)),
        ("times and ids", lambda: bad_rows(table, now)),
        ("statuses", lambda: statuses(table)),
        ("duplicate ids", lambda: duplicates(table)),
        ("far ahead", lambda: far_ahead(table, now)),
        ("series", lambda: series(table)),
        ("phone callers", lambda: callers(table, callers_column)),
    ]
    return [first, *(_guarded(name, check) for name, check in checks)]
