"""The meetings source table, read and written with SQLAlchemy Core on the hook's engine.

:class:`MeetingsTable` is the one class users construct (``MeetingsTable.from_config(config)``).
Its parts, one module per concern:

* :mod:`.dialect` - what differs between databases (SQLite's UTC text, PostgreSQL's timestamp or
  text columns), the shipped schema scripts, :func:`problem_digest`;
* :mod:`.schema` - the engine, the reflected columns, SQL building blocks, the one transaction
  helper, ``create_schema``/``check_columns``;
* :mod:`.due` - the one ``due(selection)`` rule (SQL terms and their Python mirror) and the row
  states built on it;
* :mod:`.queries` - what a run selects and reads (plan, chunk, problem rows, cancelled and owned
  rooms, alerts, the operators' overview);
* :mod:`.groups` - recurring series: which are due, a series chunk's rows;
* :mod:`.writes` - outcomes, failures, cleared rooms, ``mark_missed``, optional columns.

Why mixins, not delegation: every part needs the same few things (the engine, the columns, the
dialect rules, the ``due`` terms), and callers (DAG tasks, the UI, the doctor, tests, benchmarks)
use one object with one set of method names. Each mixin builds on :class:`~.schema.TableBase`
(and :class:`~.due.DueRules`) only, never on a sibling, so a module can be read alone; the class
here just joins them. The watcher's poll is not a part: it lives beside the watcher
(:mod:`daily_dialin.freshness.pending`) and reads the table through these methods.

Timestamps are bound as aware datetimes, except on SQLite (and PostgreSQL tables whose times are
text columns), which store them as UTC text ``YYYY-MM-DD HH:MM:SS`` (the documented format,
compared as text: rows in any other format, with an offset or a zone, or naming no real instant -
month 13, 30 February - are reported by :meth:`MeetingsTable.problem_rows` with their value,
never silently skipped nor "missed").

The shipped schemas' indexes keep the watcher's poll cheap at 100,000 rows
(``bench/results/table-sqlalchemy.md``). A table created before them needs ``CREATE INDEX
daily_meetings_unprovisioned ON daily_meetings (starts_at) WHERE provisioned_at IS NULL`` (and, on
PostgreSQL, ``daily_meetings_status ON daily_meetings (status COLLATE "C")``) for the same figures;
without them it is still correct.

May import: its own modules, ``daily_dialin.provisioning.recording`` (re-exported here).
"""

from __future__ import annotations

from daily_dialin.provisioning.recording import Failure, Provisioned
from daily_dialin.provisioning.table.dialect import (
    IN_LIST_LIMIT,
    MISSED_PREFIX,
    SQLITE_TS,
    STREAM_BATCH,
    problem_digest,
    schema_sql,
)
from daily_dialin.provisioning.table.due import DUE_COLUMNS, Seen, due_records, series_settings_outdated
from daily_dialin.provisioning.table.groups import SeriesQueries
from daily_dialin.provisioning.table.queries import CancelledRoom, Queries, RowProblem
from daily_dialin.provisioning.table.writes import Writes

__all__ = [
    "DUE_COLUMNS",
    "IN_LIST_LIMIT",
    "MISSED_PREFIX",
    "SQLITE_TS",
    "STREAM_BATCH",
    "CancelledRoom",
    "Failure",
    "MeetingsTable",
    "Provisioned",
    "RowProblem",
    "Seen",
    "due_records",
    "problem_digest",
    "schema_sql",
    "series_settings_outdated",
]


class MeetingsTable(Queries, SeriesQueries, Writes):
    """Reads due meetings and writes provisioning results back, one transaction per call."""
