"""Recurring series in the table (the optional column ``series_id``): which series a run must
provision, and a series chunk's rows.

A series is due when an occurrence is due as a one-off meeting would be (:meth:`~.due.DueRules.due`
and :func:`~.due.due_records`), when an occurrence without a room now fits Daily's 365 days, when a
cancelled occurrence still holds the room, or when the occurrence that gave the room its settings
is over (:func:`~.due.settings_outdated`). Series keys are ``series_id`` as text, in the database's
order; a chunk of series is a range of them.

May import: SQLAlchemy, the standard library, ``daily_dialin.provisioning`` (window),
``daily_dialin.rows`` and the table package's :mod:`.due`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from daily_dialin.provisioning.table.due import DUE_COLUMNS, DueRules, due_records, settings_outdated
from daily_dialin.provisioning.window import Selection
from daily_dialin.rows import MeetingRow


class SeriesQueries(DueRules):
    """The series selection and a series chunk's rows (see the module docstring)."""

    def _series_terms(self, selection: Selection, key_range: Sequence[str] | None) -> list[ColumnElement[bool]]:
        key = self._series_key()
        where = self._in_series()
        if key_range is not None:
            where += [key >= key_range[0], key <= key_range[1]]
        if selection.meeting_ids:
            where.append(key.in_(self._series_of(selection.meeting_ids)))
        return where

    def _series_of(self, meeting_ids: Sequence[str]) -> sa.Select[Any]:
        c = self.c
        return sa.select(self._series_key()).where(c.meeting_id.in_(list(meeting_ids)), *self._in_series())

    def due_series(self, selection: Selection, *, now: datetime, cap_ends_by: datetime) -> list[tuple[str, int]]:
        """The series a run must provision, in the database's order of their keys, each with its
        number of rows: a series is due when one of its occurrences is due as a one-off meeting
        would be (the selection's window: new, or its room fingerprint changed), when it has an
        occurrence without a room that now fits Daily's 365 days (``ends_at <= cap_ends_by``,
        whatever the window: so the room's exp rolls forward before it could lapse), when it has a
        cancelled occurrence that still holds the room (its exp is recomputed), or when the
        occurrence that gave the room its settings is over and a later one holds the room (its
        settings must reach the room: :func:`~.due.settings_outdated`). A selection naming meeting
        ids covers the series of those ids."""
        if not self.has_series:
            return []
        due = self._due_keys(selection, now=now, cap_ends_by=cap_ends_by, key_range=None)
        # one statement: every series' size and the two values of its settings rule
        summary = self._records(self._summary(selection, None, now))
        return [
            (key, int(count))
            for key, count, ended, applied in summary
            if key in due or settings_outdated(ended, applied, self.config)
        ]

    def due_series_keys(
        self, selection: Selection, *, now: datetime, cap_ends_by: datetime, key_range: Sequence[str] | None = None
    ) -> set[str]:
        """The keys of :meth:`due_series` (the rule is here), without their sizes; ``key_range``:
        only series keys within ``[first, last]`` (a chunk re-checks its own range)."""
        if not self.has_series:
            return set()
        due = self._due_keys(selection, now=now, cap_ends_by=cap_ends_by, key_range=key_range)
        for key, _, ended, applied in self._records(self._summary(selection, key_range, now)):
            if key not in due and settings_outdated(ended, applied, self.config):
                due.add(key)
        return due

    def _due_keys(
        self, selection: Selection, *, now: datetime, cap_ends_by: datetime, key_range: Sequence[str] | None
    ) -> set[str]:
        """Series due for any reason but their settings' (those need the :meth:`_summary`)."""
        c = self.c
        terms = self._series_terms(selection, key_range)
        key = self._series_key().label("series_key")
        columns = ("series_key", *DUE_COLUMNS, "series_id")
        due_rows = sa.select(key, *(c[name] for name in columns[1:])).where(*self.due(selection), *terms)
        due = {record[0] for record in due_records(self._stream(due_rows), columns, self.config, force=selection.force)}
        fits = [*self.due(Selection(ends_after=now), room=False), c.ends_at <= self.ts(cap_ends_by)]
        with self.engine.connect() as conn:
            for condition in (fits, self._cancelled_terms()):
                due.update(record[0] for record in conn.execute(sa.select(key).where(*condition, *terms).distinct()))
        return due

    def _summary(self, selection: Selection, key_range: Sequence[str] | None, now: datetime) -> sa.Select[Any]:
        """Per series key: its number of rows, the latest end of its provisioned occurrences that
        are over, and the latest ``provisioned_at`` of those that are not (the two values of
        :func:`~.due.settings_outdated`; over: the end plus the grace is past, as the series chunk
        drops them). One GROUP BY over the series' rows (their key index)."""
        c = self.c
        key = self._series_key().label("series_key")
        holds = sa.and_(c.provisioned_at.is_not(None), self._status_in(self.config.provisionable_statuses))
        over = c.ends_at <= self.ts(now - timedelta(minutes=self.config.exp_grace_minutes))
        ended = sa.func.max(sa.case((sa.and_(holds, over), c.ends_at)))
        applied = sa.func.max(sa.case((sa.and_(holds, sa.not_(over)), c.provisioned_at)))
        terms = self._series_terms(selection, key_range)
        return sa.select(key, sa.func.count(), ended, applied).where(*terms).group_by(key).order_by(key)

    def fetch_series(self, first_key: str, last_key: str, *, force: bool = True) -> list[tuple[MeetingRow, bool]]:
        """Every row (any status) of the series with keys in ``[first_key, last_key]`` (a row whose
        ``series_id`` names no series is none of them: :meth:`problem_rows`), earliest
        first, each with whether a run can write it: :meth:`due` without a window (a text id,
        comparable times, a provisionable status - the others are ``problem_rows`` -, and, unless
        ``force``, not given up on: the one attempts rule)."""
        key = self._series_key()
        columns = list(self.c.keys())
        selectable = sa.case((sa.and_(*self.due(Selection(force=force))), 1), else_=0)
        query = sa.select(*self.c, selectable).where(*self._in_series(), key >= first_key, key <= last_key)
        query = query.order_by(key, self.c.starts_at, self.c.meeting_id)
        records = self._records(query)
        rows = self._rows((record[:-1] for record in records), columns)
        return [(row, bool(record[-1])) for row, record in zip(rows, records, strict=True)]
