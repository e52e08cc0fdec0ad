"""Which rows are in the page's rare states, from one pass over the table, kept for a minute.

The list filtered by a state few rows are in (problems, missed, deferred, given up, cancelled) cannot
be found through an index: a row's state is the table module's decision
(:meth:`MeetingsTable.overview_select`), and a row problem (a month 13, say) is visible to no index.
Scanning for them costs a pass over every row (0.4-0.5 s at 100,000 rows on SQLite) - too slow for
every page. So one pass (:func:`take`) notes the ids of the rows in those states and the count of
every state; a list request then looks its rows up by id (the primary key), and checks each one's
state again in the same statement: a row that left the state since is not shown; a row that entered
it shows with the next snapshot. A snapshot is used for :data:`TTL_SECONDS`; the tiles' refresh
(every 30 s while a page is open) takes a new one in the background once the last is
:data:`REFRESH_AFTER_SECONDS` old; a list request finding none fresh takes one itself.

May import: SQLAlchemy and the standard library.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["RARE_STATES", "Snapshot", "Snapshots", "take"]

log = logging.getLogger(__name__)

TTL_SECONDS = 60.0
REFRESH_AFTER_SECONDS = 5.0
# the states few rows are in: their ids are kept (the other states, ready and pending, are found by
# scanning in index order: most rows are in one of them)
RARE_STATES = ("problem", "failing", "missed", "deferred", "given_up", "cancelled", "ignored")


@dataclass(frozen=True)
class Snapshot:
    """The rows' states at ``taken`` (monotonic seconds): the count of every state and day
    (``cells``: ``(state, day or None)`` -> count), and the ids of the rows in :data:`RARE_STATES`
    (``None`` among them: rows without an id)."""

    taken: float
    cells: dict[tuple[str, Any], int]
    ids: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (state, _day), n in self.cells.items():
            counts[state] = counts.get(state, 0) + n
        return counts

    def age(self) -> float:
        return time.monotonic() - self.taken

    def count(self, states: tuple[str, ...] = ()) -> int:
        """Rows in ``states`` (none given: every row listed)."""
        counts = self.counts
        return sum(counts.get(state, 0) for state in states) if states else sum(counts.values())

    def ids_in(self, states: tuple[str, ...]) -> list[Any]:
        return [meeting_id for state in states for meeting_id in self.ids.get(state, [])]


def take(engine: sa.Engine, overview: sa.Subquery, day: ColumnElement[Any]) -> Snapshot:
    """One pass over ``overview`` (a subquery with ``state`` and ``meeting_id`` columns), counting by
    state and ``day`` (an expression of its columns, or NULL) and noting the rare states' ids."""
    rare = sa.case((overview.c.state.in_(RARE_STATES), overview.c.meeting_id), else_=None)
    query = sa.select(overview.c.state, day, rare, sa.func.count()).group_by(overview.c.state, day, rare)
    started = time.monotonic()
    cells: dict[tuple[str, Any], int] = {}
    ids: dict[str, list[Any]] = {}
    with engine.connect() as conn:
        for state, on, meeting_id, n in conn.execute(query):
            cells[state, on] = cells.get((state, on), 0) + int(n)
            if state in RARE_STATES:
                ids.setdefault(state, []).append(meeting_id)
    log.debug("dial-in page: states of the table's rows read in %.2f s", time.monotonic() - started)
    return Snapshot(taken=started, cells=cells, ids={state: list(dict.fromkeys(found)) for state, found in ids.items()})


class Snapshots:
    """The latest :class:`Snapshot` of one table: :meth:`fresh` for a list request, :meth:`refresh_soon`
    from the tiles' refresh (one pass at a time)."""

    def __init__(self, *, ttl_seconds: float = TTL_SECONDS, refresh_after: float = REFRESH_AFTER_SECONDS) -> None:
        self._ttl, self._refresh_after = ttl_seconds, refresh_after
        self._latest: Snapshot | None = None
        self._lock = threading.Lock()  # held while a pass runs

    def latest(self) -> Snapshot | None:
        """The latest snapshot if it is fresh (younger than the TTL), else ``None``."""
        latest = self._latest
        return latest if latest is not None and latest.age() < self._ttl else None

    def fresh(self, take_one: Callable[[], Snapshot]) -> Snapshot:
        """A fresh snapshot: the latest, or one taken now (waiting for a pass under way)."""
        with self._lock:
            latest = self.latest()
            if latest is None:
                latest = self._latest = take_one()
            return latest

    def current(self, take_one: Callable[[], Snapshot]) -> Snapshot:
        """For the tiles: the latest snapshot if fresh (and a new one in the background once it is
        ``refresh_after`` old: the next refresh shows it), else one taken now."""
        latest = self.latest()
        if latest is None:
            return self.fresh(take_one)
        self.refresh_soon(take_one)
        return latest

    def refresh_soon(self, take_one: Callable[[], Snapshot]) -> None:
        """Take a new snapshot in a background thread if the latest is older than ``refresh_after``."""
        latest = self._latest
        if latest is not None and latest.age() < self._refresh_after:
            return
        if not self._lock.acquire(blocking=False):
            return  # a pass is under way

        def run() -> None:
            try:
                self._latest = take_one()
            except Exception:  # a background refresh: the next request takes one itself
                log.exception("dial-in page: the states of the table's rows could not be read")
            finally:
                self._lock.release()

        threading.Thread(target=run, name="dialin-snapshot", daemon=True).start()
