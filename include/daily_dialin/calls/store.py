"""The calls loop's two tables, in the meetings database, with SQLAlchemy Core on the meetings hook's engine.

* **events** (``daily_call_events``): every webhook event the receiver accepted, keyed by Daily's
  event ``id`` (unique): :meth:`CallsStore.insert_event` is ``INSERT ... ON CONFLICT DO NOTHING``,
  so a replay is acknowledged and stored once. ``seq`` orders arrivals; ``processed_at`` is set by
  the calls DAG once the event is folded in (the watcher polls for rows without it). The payload is
  stored sanitized (:func:`daily_dialin.calls.events.sanitized_payload`): no caller number.
* **calls** (``daily_calls``): one row per phone session (``session_id``), rewritten from all of its
  room's events each time they change, so the rows converge whatever order events arrive in.

Both are created when missing (:meth:`CallsStore.ensure_schema`, idempotent); the application owns
them. Timestamps are timezone-aware UTC (SQLAlchemy's ``DateTime(timezone=True)``; on SQLite, text
read back as UTC).

May import: SQLAlchemy and ``daily_dialin.calls`` (events, settings).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from daily_dialin.calls.events import WebhookEvent
from daily_dialin.calls.settings import CallsSettings

__all__ = ["CallRow", "CallsStore", "StoredEvent"]

_IN_LIMIT = 500  # ids per IN list (old SQLite: 999 bound variables)


@dataclass(frozen=True)
class StoredEvent:
    """One stored event (payload sanitized)."""

    seq: int
    event_id: str
    event_type: str
    room: str | None
    event_ts: float | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class CallRow:
    """One phone call as the calls table holds it (``caller`` is masked)."""

    session_id: str
    room: str
    meeting_id: str | None
    caller: str | None = field(repr=False)  # a caller's (masked) number
    joined_at: datetime | None
    left_at: datetime | None
    duration_seconds: float | None
    error: str | None


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _chunks(items: Sequence[Any], size: int = _IN_LIMIT) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _split(name: str) -> tuple[str | None, str]:
    schema, _, table = name.lower().rpartition(".")
    return schema or None, table


def _tables(settings: CallsSettings) -> tuple[sa.MetaData, sa.Table, sa.Table]:
    metadata = sa.MetaData()
    schema, name = _split(settings.events_table)
    seq_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only
    events = sa.Table(
        name,
        metadata,
        sa.Column("seq", seq_type, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(200), nullable=False, unique=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("room", sa.String(200)),
        sa.Column("event_ts", sa.Float),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True)),
        schema=schema,
    )
    sa.Index(
        f"{name}_unprocessed",
        events.c.seq,
        sqlite_where=events.c.processed_at.is_(None),
        postgresql_where=events.c.processed_at.is_(None),
    )
    sa.Index(f"{name}_room", events.c.room)
    schema, name = _split(settings.calls_table)
    calls = sa.Table(
        name,
        metadata,
        sa.Column("session_id", sa.String(200), primary_key=True),
        sa.Column("room", sa.String(200), nullable=False),
        sa.Column("meeting_id", sa.Text),
        sa.Column("caller", sa.String(40)),
        sa.Column("joined_at", sa.DateTime(timezone=True)),
        sa.Column("left_at", sa.DateTime(timezone=True)),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )
    sa.Index(f"{name}_meeting", calls.c.meeting_id)
    return metadata, events, calls


class CallsStore:
    """The events and calls tables on one engine (the meetings database's)."""

    def __init__(self, *, engine: sa.Engine, settings: CallsSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.metadata, self.events, self.calls = _tables(settings)
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def ensure_schema(self) -> None:
        """Create the tables and indexes that are missing (once per store object; one thread at a
        time: the receiver serves concurrent requests). Another process creating them at the same
        moment makes this fail once; the next call finds them."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                self.metadata.create_all(self.engine, checkfirst=True)
                self._schema_ready = True

    # -- the receiver ---------------------------------------------------------------------------
    def _insert_ignoring_duplicates(self, values: dict[str, Any]) -> sa.Executable | None:
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            return None
        statement = insert(self.events).values(values).on_conflict_do_nothing(index_elements=["event_id"])
        return statement.returning(self.events.c.seq)

    def insert_event(self, event: WebhookEvent, *, received_at: datetime) -> bool:
        """Store ``event`` durably (committed on return); False when its ``id`` was stored already."""
        values = {
            "event_id": event.id,
            "event_type": event.type,
            "room": event.room,
            "event_ts": event.event_ts,
            "received_at": received_at,
            "payload": json.dumps(event.payload, separators=(",", ":"), default=str),
        }
        statement = self._insert_ignoring_duplicates(values)
        if statement is not None:
            with self.engine.begin() as conn:
                return conn.execute(statement).first() is not None  # RETURNING: a row only when inserted
        try:  # another database: the unique key refuses the replay
            with self.engine.begin() as conn:
                conn.execute(sa.insert(self.events).values(values))
        except sa.exc.IntegrityError:
            return False
        return True

    # -- the watcher and the DAG ---------------------------------------------------------------------
    def pending(self) -> tuple[int, int]:
        """How many events wait to be folded in, and the highest ``seq`` among them (0: none)."""
        e = self.events
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(e.c.seq), 0)).where(e.c.processed_at.is_(None))
        with self.engine.connect() as conn:
            count, top = conn.execute(query).one()
        return int(count), int(top)

    def _stored(self, records: Iterable[Sequence[Any]]) -> list[StoredEvent]:
        return [
            StoredEvent(
                seq=int(seq), event_id=str(eid), event_type=str(kind), room=room, event_ts=ts, payload=json.loads(body)
            )
            for seq, eid, kind, room, ts, body in records
        ]

    def _columns(self) -> list[sa.ColumnElement[Any]]:
        e = self.events.c
        return [e.seq, e.event_id, e.event_type, e.room, e.event_ts, e.payload]

    def unprocessed(self, *, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` events not folded in yet, oldest first."""
        e = self.events.c
        query = sa.select(*self._columns()).where(e.processed_at.is_(None)).order_by(e.seq).limit(limit)
        with self.engine.connect() as conn:
            return self._stored(conn.execute(query))

    def events_of_rooms(self, rooms: Iterable[str]) -> list[StoredEvent]:
        """Every stored event of ``rooms`` (processed or not), in arrival order."""
        e, found = self.events.c, []
        with self.engine.connect() as conn:
            for part in _chunks(sorted(set(rooms))):
                query = sa.select(*self._columns()).where(e.room.in_(list(part))).order_by(e.seq)
                found += self._stored(conn.execute(query))
        return sorted(found, key=lambda event: event.seq)

    def mark_processed(self, seqs: Sequence[int], *, now: datetime) -> None:
        e = self.events
        with self.engine.begin() as conn:
            for part in _chunks(sorted(set(seqs))):
                conn.execute(sa.update(e).where(e.c.seq.in_(list(part))).values(processed_at=now))

    def prune(self, *, cutoff: datetime) -> int:
        """Delete processed events received before ``cutoff``, whole Daily meetings at a time: an event
        of a room goes once that room's ``meeting.ended`` that came after it (by Daily's ``event_ts``)
        is itself older than ``cutoff``, or once the room got no event since ``cutoff``. So the events
        a later fold reloads for a room are never part of a meeting (a call, an attendance) whose start
        is gone. Returns how many rows were deleted."""
        e = self.events
        ended = e.alias("ended")
        later = e.alias("later")
        old = [e.c.processed_at.is_not(None), e.c.received_at < cutoff]
        closed = sa.exists().where(
            ended.c.room == e.c.room,
            ended.c.event_type == "meeting.ended",
            ended.c.processed_at.is_not(None),
            ended.c.received_at < cutoff,
            ended.c.event_ts < cutoff.timestamp(),
            ended.c.event_ts >= e.c.event_ts,
        )
        quiet = ~sa.exists().where(later.c.room == e.c.room, later.c.received_at >= cutoff)
        with self.engine.begin() as conn:
            result = conn.execute(sa.delete(e).where(*old, sa.or_(closed, quiet, e.c.room.is_(None))))
        return int(result.rowcount or 0)

    def replace_calls(self, calls: Sequence[CallRow], *, now: datetime) -> None:
        """Write ``calls`` (every call of their rooms, recomputed), replacing their earlier rows."""
        if not calls:
            return
        c = self.calls
        rows = [{**call.__dict__, "updated_at": now} for call in calls]
        with self.engine.begin() as conn:
            for part in _chunks([call.session_id for call in calls]):
                conn.execute(sa.delete(c).where(c.c.session_id.in_(list(part))))
            conn.execute(sa.insert(c), rows)

    def read_calls(self) -> list[CallRow]:
        c = self.calls.c
        query = sa.select(
            c.session_id, c.room, c.meeting_id, c.caller, c.joined_at, c.left_at, c.duration_seconds, c.error
        ).order_by(c.room, c.joined_at, c.session_id)
        with self.engine.connect() as conn:
            return [
                CallRow(
                    session_id=r[0],
                    room=r[1],
                    meeting_id=r[2],
                    caller=r[3],
                    joined_at=_utc(r[4]),
                    left_at=_utc(r[5]),
                    duration_seconds=r[6],
                    error=r[7],
                )
                for r in conn.execute(query)
            ]
