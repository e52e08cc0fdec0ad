"""What is work: the one ``due(selection)`` rule of the meetings table, and the row states built on it.

"Due" is decided in two halves, the same for every reader - the plan (:meth:`select_due_ids`), a
chunk (:meth:`fetch_range`), the series selection (:meth:`due_series_keys`) and the watcher's poll
(:func:`daily_dialin.freshness.pending.pending_work`):

1. **SQL** (:meth:`DueRules.due`): a provisionable row with a usable id and readable times, in the
   selection's window, and either without a room and not given up on (``attempts`` below
   ``max_attempts``; ``force`` lifts that) or with a room. ``room=False``/``True`` narrows to one
   side: the poll asks for new work and for changed rooms separately (two index paths), the series
   selection for occurrences without a room.
2. **Python** (:func:`due_records`, the mirror of :func:`~daily_dialin.rows.needs_room`
   on tuples): a row without a room is due; a row with one is due when its room fingerprint differs
   from the stored one (it moved or its settings changed) - SQL cannot hash the fingerprint, so
   every provisioned row of the window is fingerprinted here, on plain tuples (100,000 rows a plan:
   no dict, no :class:`~daily_dialin.rows.MeetingRow` for rows that are not due).

Why one home: the four copies this replaced (the plan's WHERE, the poll's ``new``, the series'
``fits``, the chunk's re-check through ``MeetingRow.needs_room``) had to agree by hand; a rule
changed in one (a new status, the attempts limit) silently split what the plan selects from what
the poll fires on.

A series room's settings (display name, wait flag) come from its next occurrence, so a series is
also due when the occurrence that gave them is over: :func:`settings_outdated` (the comparison,
used by the table's SQL aggregate and by the series chunk on its rows).

May import: SQLAlchemy, the standard library, ``daily_dialin.provisioning`` (config, meetings,
window), ``daily_dialin.rows`` and the table package's :mod:`.dialect` and :mod:`.schema`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import parse_utc
from daily_dialin.provisioning.table.dialect import MISSED_PREFIX
from daily_dialin.provisioning.table.schema import TableBase
from daily_dialin.provisioning.window import Selection
from daily_dialin.rows import FINGERPRINT_COLUMNS, MeetingRow, StatusKind, fingerprint_of, settings_part

# the columns the Python half reads (a query may select more; see due_records)
DUE_COLUMNS = ("meeting_id", *FINGERPRINT_COLUMNS, "provisioned_at", "room_fingerprint")


@dataclass(frozen=True)
class Seen:
    """Which meetings a run's alerts may name (:meth:`MeetingsTable.alert_candidates`, taken by
    its plan): ``ids`` - all of them when ``complete``; otherwise every meeting starting before
    ``reach`` (the plan's now plus the alert window) is taken as seen."""

    ids: tuple[str, ...]
    complete: bool
    reach: datetime


def due_records(
    records: Iterable[Sequence[Any]], columns: Sequence[str], config: ProvisioningConfig, *, force: bool
) -> Iterator[Sequence[Any]]:
    """The Python half of "due": the ``records`` (tuples of ``columns``, which hold
    :data:`DUE_COLUMNS` and maybe ``series_id``) that need (an update of) their room - exactly
    :func:`~daily_dialin.rows.needs_room` of each, without a dict per row."""
    if force:
        return iter(records)
    at = _Positions(
        provisioned=columns.index("provisioned_at"),
        stored=columns.index("room_fingerprint"),
        values=operator.itemgetter(*(columns.index(name) for name in FINGERPRINT_COLUMNS)),
        settings=settings_part(config),  # once per call, not per row
    )
    if "series_id" not in columns:  # one-off rows only (the plan's 100,000): no per-row look at a series
        return _due_one_offs(records, at)
    return _due_occurrences(records, at, columns.index("series_id"))


@dataclass(frozen=True)
class _Positions:
    provisioned: int
    stored: int
    values: Callable[[Sequence[Any]], Any]
    settings: str


def _due_one_offs(records: Iterable[Sequence[Any]], at: _Positions) -> Iterator[Sequence[Any]]:
    provisioned, stored, values, settings = at.provisioned, at.stored, at.values, at.settings
    for record in records:
        if record[provisioned] in (None, "") or record[stored] != fingerprint_of(values(record), None, settings):
            yield record


def _due_occurrences(records: Iterable[Sequence[Any]], at: _Positions, series: int) -> Iterator[Sequence[Any]]:
    provisioned, stored, values, settings = at.provisioned, at.stored, at.values, at.settings
    for record in records:
        if record[provisioned] in (None, "") or record[stored] != fingerprint_of(
            values(record), record[series], settings
        ):
            yield record


def settings_outdated(ended: Any, applied: Any, config: ProvisioningConfig) -> bool:
    """Whether a series room may still carry the settings of an occurrence that is over.

    ``ended``: the latest end of the series' provisioned occurrences that are over (their end plus
    the grace is past, as :mod:`~daily_dialin.provisioning.series` drops them); ``applied``: the
    latest ``provisioned_at`` of its provisioned occurrences that are not. The room's settings were
    last applied at ``applied`` (the series chunk rewrites the occurrence that gives them whenever
    they are applied because of this rule); an occurrence not over then (``ended`` + grace after
    ``applied``) may have given them, so the next one's must reach the room now. No stored value
    but these two: no extra column. Unreadable values decide nothing (they are row problems)."""
    if ended is None or applied is None:
        return False
    try:
        return parse_utc(ended) + timedelta(minutes=config.exp_grace_minutes) > parse_utc(applied)
    except (ValueError, TypeError, OverflowError):
        return False


def series_settings_outdated(rows: Iterable[MeetingRow], *, now: datetime, config: ProvisioningConfig) -> bool:
    """:func:`settings_outdated` of a series from its rows (the series chunk's check; the table's
    SQL aggregate in :meth:`SeriesQueries._outdated` reads the same two values)."""
    over = now - timedelta(minutes=config.exp_grace_minutes)
    ended, applied = None, None
    for row in rows:
        if not row.is_provisioned or row.status_kind is not StatusKind.PROVISIONABLE:
            continue
        try:
            ends = parse_utc(row.get("ends_at"))
            provisioned = parse_utc(row.get("provisioned_at"))
        except (ValueError, TypeError, OverflowError):
            continue
        if ends <= over:
            ended = ends if ended is None else max(ended, ends)
        else:
            applied = provisioned if applied is None else max(applied, provisioned)
    return settings_outdated(ended, applied, config)


class DueRules(TableBase):
    """The SQL half of "due" and the row states the queries, the alerts and the writes share."""

    def due(self, selection: Selection, *, room: bool | None = None, strict: bool = True) -> list[ColumnElement[bool]]:
        """The WHERE terms of "due in this selection" (the module docstring says why one home).

        ``room``: ``None`` - rows without a room (not given up on, unless ``force``) and rows with
        one (their fingerprint is checked by :func:`due_records`); ``False`` - rows without a room
        only (not given up on, unless ``force``); ``True`` - rows with a room only. ``strict=False``
        (the watcher's poll only): times checked by their pattern, no per-row date function
        (:meth:`_selectable`). A NULL or blank id, a BLOB id or an unreadable time is never due:
        :meth:`problem_rows` reports it."""
        c = self.c
        where: list[ColumnElement[bool]] = []
        if selection.starts_from is not None:
            where.append(c.starts_at >= self.ts(selection.starts_from))
        if selection.starts_before is not None:
            where.append(c.starts_at < self.ts(selection.starts_before))
        if selection.ends_after is not None:
            where.append(c.ends_at > self.ts(selection.ends_after))
        if room is True:
            where.append(c.provisioned_at.is_not(None))
        elif room is False:
            # separate terms, not one OR: the partial index of rows without a room needs them so
            where.append(c.provisioned_at.is_(None))
            if not selection.force:
                where.append(self._under_attempts())
        elif not selection.force:
            where.append(
                sa.or_(sa.and_(c.provisioned_at.is_(None), self._under_attempts()), c.provisioned_at.is_not(None))
            )
        # the cheap comparisons first: SQLite evaluates the terms in this order, so a row outside the
        # window is dropped before the per-row pattern checks of its times (the poll's budget)
        return [*where, *self._selectable(strict=strict)]

    # -- rooms of cancelled meetings ---------------------------------------------------------------
    def _holds_room(self) -> list[ColumnElement[bool]]:
        c = self.c
        return [c.room_name.is_not(None), sa.or_(c.dialin_pin.is_not(None), c.provisioned_at.is_not(None))]

    def _cancelled_terms(self) -> list[ColumnElement[bool]]:
        """A cancelled row that still holds its room (one statement's WHERE)."""
        return [self._status_in(self.config.cancelled_statuses, rare=True), *self._holds_room()]

    def _cancelled(self, *columns: ColumnElement[Any]) -> sa.Select[Any] | sa.CompoundSelect:
        """``columns`` of the rows of :meth:`_cancelled_terms`, looked up in the status index."""
        return self._rare_status_select(columns, self.config.cancelled_statuses, *self._holds_room())

    # -- rows without a room, for the alerts and mark_missed ---------------------------------------
    def _unready(self) -> list[ColumnElement[bool]]:
        """Provisionable rows without a room whose times are real instants (a month 13 is a row
        problem, reported by problem_rows with its value - never "missed")."""
        return [*self._selectable(), self.c.provisioned_at.is_(None)]

    def _not_marked(self) -> ColumnElement[bool]:
        last_error = self.c.last_error
        return sa.or_(last_error.is_(None), sa.not_(last_error.startswith(MISSED_PREFIX)))

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
