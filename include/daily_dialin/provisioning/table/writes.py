"""What the table writes: a chunk's outcomes, failures, cleared rooms of deleted rooms, a series
room's new ``exp``, meetings that started without a room, and the columns only a setting uses.

Writes go through one transaction helper (:meth:`~.schema.TableBase._write`, ``engine.begin()``),
each to the row it was read from (the exact meeting id). A success resets ``attempts``: only
failures count, and only failures of the meeting itself (:attr:`Failure.counts`): an outage or a
refused key records its reason and leaves the count alone, so it never strands a meeting.

May import: SQLAlchemy, the standard library, ``daily_dialin.provisioning`` (config, recording)
and the table package's :mod:`.dialect` and :mod:`.due`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from daily_dialin.provisioning.config import check_identifier
from daily_dialin.provisioning.recording import Failure, Provisioned
from daily_dialin.provisioning.table.dialect import IN_LIST_LIMIT, MISSED_PREFIX, _chunks, problem_digest
from daily_dialin.provisioning.table.due import DueRules, Seen

log = logging.getLogger(__name__)

_WRITTEN = ("room_name", "room_url", "dialin_pin", "dialin_number", "dial_string", "room_exp", "room_fingerprint")
_ERROR_LENGTH = 2000  # last_error keeps this much of a reason


class Writes(DueRules):
    """The table's writes (see the module docstring)."""

    def write_results(self, *, provisioned: Sequence[Provisioned], failed: Sequence[Failure], now: datetime) -> None:
        """Write every outcome of a chunk in one transaction, each to the row it was read from.

        A success resets ``attempts`` to 0: only failures of the meeting itself count (and an
        outage or a refused key records its reason and leaves the count alone, so it never
        strands a meeting)."""
        values: dict[str, Any] = {name: sa.bindparam(f"k_{name}") for name in _WRITTEN}
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
        """The statements that record ``failed``, by kind: a counted failure (an attempt), a
        reported row problem (not one), any other reason (an outage: the reason only), and the
        reason for provisionable rows without an id. A counted failure or a reported problem of a
        row without a room also stores the row's :func:`problem_digest`, so the watcher's poll
        (:func:`daily_dialin.freshness.pending.pending_work`) sees it as reported until the row
        changes."""
        counted, remembered, others, first_null = _by_kind(failed)
        digests = self._problem_digests([f.meeting_id for f in (*counted, *remembered)])
        return [
            (self._failure_update(attempt=True, digest=True), _params(counted, digests)),
            (self._failure_update(attempt=False, digest=True), _params(remembered, digests)),
            (self._failure_update(attempt=False, digest=False), _params(others, None)),
            (self._null_id_update(), [{"k_error": _error(first_null)}] if first_null else []),
        ]

    def _failure_update(self, *, attempt: bool, digest: bool) -> sa.Update:
        """``last_error`` of the row by id; with ``attempt``, one more attempt; with ``digest``, the
        problem digest into ``room_fingerprint`` of a row without a room (a room's stays)."""
        c = self.c
        values: dict[str, Any] = {"last_error": sa.bindparam("k_error")}
        if attempt:
            values["attempts"] = sa.func.coalesce(c.attempts, 0) + 1
        if digest:
            values["room_fingerprint"] = sa.case(
                (c.provisioned_at.is_(None), sa.bindparam("k_digest")), else_=c.room_fingerprint
            )
        return sa.update(self.meetings).where(self._by_id()).values(values)

    def _null_id_update(self) -> sa.Update:
        """A failure without an id: its reason on every provisionable row without one."""
        c = self.c
        return (
            sa.update(self.meetings)
            .where(c.meeting_id.is_(None), self._status_in(self.config.provisionable_statuses))
            .values(last_error=sa.bindparam("k_error"))
        )

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

    def write_optional_column(self, physical: str, values: Sequence[tuple[str | None, str]]) -> None:
        """``(value, meeting_id)`` pairs into a column only a setting uses, in one transaction."""
        column, key = sa.column(check_identifier(physical).lower()), sa.column(self.c.meeting_id.name)
        target = sa.table(self.meetings.name, column, key, schema=self.meetings.schema)
        statement = sa.update(target).where(key == sa.bindparam("k_id")).values({column.name: sa.bindparam("k_value")})
        self._write((statement, [{"k_value": value, "k_id": meeting_id} for value, meeting_id in values]))

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


def _by_kind(failed: Sequence[Failure]) -> tuple[list[Failure], list[Failure], list[Failure], Failure | None]:
    """``failed`` as counted failures, reported problems (not counted), other reasons (with an id
    each), and the first failure without an id."""
    counted: list[Failure] = []
    remembered: list[Failure] = []
    others: list[Failure] = []
    first_null = None
    for failure in failed:
        if failure.meeting_id is None:
            first_null = first_null or failure
        elif failure.counts:
            counted.append(failure)
        else:
            (remembered if failure.reported else others).append(failure)
    return counted, remembered, others, first_null


def _error(failure: Failure) -> str:
    return failure.reason[:_ERROR_LENGTH]


def _params(failed: Sequence[Failure], digests: dict[str, str] | None) -> list[dict[str, Any]]:
    """Bound values of a failure statement (``digests``: the statement stores the problem digest)."""
    if digests is None:
        return [{"k_error": _error(f), "k_id": f.meeting_id} for f in failed]
    return [{"k_error": _error(f), "k_id": f.meeting_id, "k_digest": digests.get(f.meeting_id)} for f in failed]
