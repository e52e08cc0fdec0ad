"""The watcher's question to the meetings table: is there provisioning work now? Cheap enough to
ask every few seconds (:class:`~daily_dialin.freshness.trigger.MeetingsTableTrigger` polls it).

:func:`pending_work` asks the table's one ``due`` rule (:meth:`MeetingsTable.due
<daily_dialin.provisioning.table.due.DueRules.due>`) for two narrow slices, each along an index:

* ``new``: provisionable rows without a room that a rolling run selects (not over, starting within
  ``horizon_days``, not given up on), except a reported row problem whose row did not change since
  (its counted failure stored :func:`~daily_dialin.provisioning.table.problem_digest` in
  ``room_fingerprint``; an outage stores nothing, so that work stays visible). SQL only, but for
  those few reported rows.
* ``changed``: provisioned rows starting before ``now + look_ahead`` (and not over) whose room
  fingerprint differs (the Python half of "due") - a bounded window (the ``starts_at`` index),
  fingerprinted in Python with a cache (:class:`_Fingerprints`: a poller sees the same rows every
  few seconds). Moves of meetings starting later are the daily safety run's job: with
  ``look_ahead`` >= 24 h and a daily safety run, a moved meeting is always fixed before it starts.
  A series counts too when its room may still carry the settings of an occurrence that is over
  (ended lately, the next one starting within the look-ahead: the table's rule,
  :func:`~daily_dialin.provisioning.table.due.settings_outdated`) - so the next occurrence's
  display name and wait flag reach the room before its callers dial in.
* ``cancelled``: as :meth:`MeetingsTable.cancelled_with_rooms` (when rooms of cancelled meetings
  are deleted).

Rows with any other status are never work. Times are checked by their pattern only
(``strict=False``: no per-row date function); a well-patterned time that is no real instant may
look like work once, until its problem report stores the problem digest.

Measured against the poll before this module existed (100,000 rows, 48 h look-ahead; A/B in one
sitting, ``bench/results/freshness-ab.md``): a table of one-off meetings polls 4.6 % faster on
PostgreSQL (p50) and 2.3 % on SQLite; about 4 ms more on SQLite where 10 % of the rows are
occurrences of series (the series occurrences that ended lately are read and grouped too).

May import: SQLAlchemy, the standard library, ``daily_dialin.rows``, ``daily_dialin.provisioning``
(window) and the table package's :mod:`~daily_dialin.provisioning.table.dialect` and
:mod:`~daily_dialin.provisioning.table.due` (the table object itself is handed in). Imported by the
trigger inside its poll only (the triggerer loads the trigger class without it).
"""

from __future__ import annotations

import hashlib
import operator
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from daily_dialin.provisioning.table.dialect import IN_LIST_LIMIT, _chunks, problem_digest
from daily_dialin.provisioning.table.due import settings_outdated
from daily_dialin.provisioning.window import Selection
from daily_dialin.rows import id_text, room_fingerprint, series_problem

__all__ = ["PendingWork", "pending_work"]

_FINGERPRINT_CACHE = 100_000  # fingerprints remembered per table object (a few MB)


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


class _Fingerprints:
    """:func:`room_fingerprint` of polled records, remembered per table object: keyed by the
    fingerprint columns' values and their types (``1`` and ``1.0`` fingerprint differently)."""

    def __init__(self) -> None:
        self.known: dict[tuple[Any, ...], str] = {}

    def of(self, record: Sequence[Any], columns: Sequence[str], pick: Callable[..., Any], config: Any) -> str:
        picked = pick(record)
        key = (picked, tuple(map(type, picked)))
        found = self.known.get(key)
        if found is None:
            if len(self.known) >= _FINGERPRINT_CACHE:
                self.known.clear()
            found = self.known[key] = room_fingerprint(dict(zip(columns, record, strict=True)), config)
        return found


_CACHES: weakref.WeakKeyDictionary[Any, _Fingerprints] = weakref.WeakKeyDictionary()


def pending_work(table: Any, *, now: datetime, horizon_days: int, look_ahead: timedelta) -> PendingWork:
    """What a run of ``table`` (a :class:`~daily_dialin.provisioning.table.MeetingsTable`) would do
    now (the module docstring says what counts). Three statements on one connection; the shipped
    schema's partial index on rows without a room (``daily_meetings_unprovisioned``) keeps ``new``
    an index lookup."""
    work: list[tuple[str, str, str]] = []
    with table.engine.connect() as conn:
        work += _new(table, conn, now=now, horizon_days=horizon_days)
        work += _changed(table, conn, now=now, look_ahead=look_ahead)
        if table.config.delete_cancelled_rooms:
            cancelled = table._cancelled(table.c.meeting_id, table.c.room_name)
            work += [("cancelled", id_text(mid), str(room)) for mid, room in conn.execute(cancelled)]
    counts = {"new": 0, "changed": 0, "cancelled": 0}
    digest = hashlib.blake2b(digest_size=16)
    for kind, meeting_id, identity in sorted(work):
        counts[kind] += 1
        digest.update(f"{kind}\x1f{meeting_id}\x1f{identity}\x1e".encode("utf-8", "surrogatepass"))
    return PendingWork(**counts, token=digest.hexdigest())


def _new(table: Any, conn: sa.Connection, *, now: datetime, horizon_days: int) -> list[tuple[str, str, str]]:
    """Rows without a room a rolling run selects, but reported problems whose row is unchanged."""
    c = table.c
    rolling = Selection(starts_before=now + timedelta(days=horizon_days), ends_after=now)
    new = sa.select(c.meeting_id, c.room_fingerprint).where(*table.due(rolling, room=False, strict=False))
    work, reported = [], []
    for meeting_id, stored in conn.execute(new):
        if stored is None:
            work.append(("new", meeting_id, ""))
        else:
            reported.append(meeting_id)
    return work + [("new", mid, "") for mid in _changed_since_reported(table, conn, reported)]


def _changed(table: Any, conn: sa.Connection, *, now: datetime, look_ahead: timedelta) -> list[tuple[str, str, str]]:
    """Rows with a room in the look-ahead window whose fingerprint differs (the identity: the new
    one), and series of the window whose room may still carry the settings of an occurrence that
    is over (:func:`_outdated_series`) - one pass along the ``starts_at`` index: the occurrences
    of series that ended lately are rows that pass there anyway, read too, not scanned again."""
    config = table.config
    grace = timedelta(minutes=config.exp_grace_minutes)
    columns = ("room_fingerprint", *table._digest_columns(), *(("provisioned_at",) if table.has_series else ()))
    changed = _window(table, columns, now=now, look_ahead=look_ahead, grace=grace)
    pick = operator.itemgetter(*(columns.index(name) for name in table._fingerprint_columns()))
    where_id, ends_at, now_ts = columns.index("meeting_id"), columns.index("ends_at"), table.ts(now)
    series_at = columns.index("series_id") if table.has_series else None  # per poll, not per row
    cache = _CACHES.setdefault(table, _Fingerprints())
    work, occurrences = [], []
    for record in conn.execute(changed):
        if series_at is not None and record[series_at] is not None:
            occurrences.append(record)
            if record[ends_at] <= now_ts:  # over lately: for the series' rule only
                continue
        current = cache.of(record, columns, pick, config)
        if current != record[0]:  # the stored room_fingerprint
            work.append(("changed", record[where_id], current))
    return work + (_outdated_series(occurrences, columns, table.ts(now - grace), config) if occurrences else [])


def _window(
    table: Any, columns: Sequence[str], *, now: datetime, look_ahead: timedelta, grace: timedelta
) -> sa.Select[Any]:
    """Rows with a room starting before the look-ahead's end and not over - and the occurrences of
    series over within the look-ahead (and the grace) - as the table's ``due`` rule reads them."""
    c = table.c
    not_over = c.ends_at > table.ts(now)
    if table.has_series:
        not_over = sa.or_(not_over, sa.and_(c.series_id.is_not(None), c.ends_at > table.ts(now - look_ahead - grace)))
    window = Selection(starts_before=now + look_ahead)
    return sa.select(*(_read(table, name) for name in columns)).where(
        not_over, *table.due(window, room=True, strict=False)
    )


def _read(table: Any, name: str) -> sa.ColumnElement[Any]:
    """The column ``name`` as the poll reads it: ``provisioned_at`` only for occurrences of series
    (the series' rule alone reads it), NULL for one-off meetings - measured on PostgreSQL at 100,000
    rows: a timestamp converted per window row cost the poll about 2 ms of its 25 (issue 22's A/B)."""
    c = table.c
    if name != "provisioned_at":
        return c[name]
    return sa.case((c.series_id.is_not(None), c.provisioned_at)).label(name)


def _outdated_series(
    occurrences: Sequence[Sequence[Any]], columns: Sequence[str], over: Any, config: Any
) -> list[tuple[str, str, str]]:
    """The series of ``occurrences`` (their provisioned rows starting before the look-ahead's end
    and not over long ago) whose next occurrence's settings must reach the room: the table's rule,
    :func:`~daily_dialin.provisioning.table.due.settings_outdated`, on the latest end of those
    over (``ends_at <= over``, compared as stored) and the latest ``provisioned_at`` of the others."""
    series_at, ends_at, applied_at = (columns.index(name) for name in ("series_id", "ends_at", "provisioned_at"))
    ended: dict[str, Any] = {}
    applied: dict[str, Any] = {}
    for record in occurrences:
        if series_problem(record[series_at]) is not None:
            continue
        key, ends = id_text(record[series_at]), record[ends_at]
        if ends <= over:
            ended[key] = max(ended.get(key, ends), ends)
        else:
            applied[key] = max(applied.get(key, record[applied_at]), record[applied_at])
    return [
        ("changed", f"series {key}", str(ended[key]))
        for key in sorted(ended.keys() & applied.keys())
        if settings_outdated(ended[key], applied[key], config)
    ]


def _changed_since_reported(table: Any, conn: sa.Connection, meeting_ids: Sequence[str]) -> list[str]:
    """Which rows with a reported problem changed since (their problem digest differs)."""
    c = table.c
    changed, columns = [], table._digest_columns()
    for part in _chunks(meeting_ids, IN_LIST_LIMIT):
        query = sa.select(c.room_fingerprint, *(c[name] for name in columns))
        for stored, *record in conn.execute(query.where(c.meeting_id.in_(list(part)))):
            values = dict(zip(columns, record, strict=True))
            if stored != problem_digest(values, table.config):
                changed.append(values["meeting_id"])
    return changed
