"""Create and delete many rooms at once (``POST`` / ``DELETE /batch/rooms``), one outcome per room.

May import the hook, models, rooms and errors of this provider; never the application.

Creation (:class:`BulkRoomCreator`). ``POST /batch/rooms`` is all or nothing, so the algorithm is
built to never let one bad room sink the others, and never to make two rooms for one name:

1. send the specs in batches of at most ``batch_size``, each as soon as it is full (the
   caller's building of the next specs overlaps the calls in flight); a spec the hook refuses
   before any call (bad name, ``exp`` out of range) fails alone with the reason, the rest go;
2. on a 400 for a batch: find which names already exist (a lost response, a crash before
   write-back, an earlier run) and reuse those through the hook's one reuse path,
   :meth:`DailyHook.reconcile_room`, handing it the room just looked up (no second fetch);
   send the rest again; if none existed, split the batch in halves until the offending rooms
   stand alone, each failing with Daily's own reason;
3. on "quota reached" halve the batch until a single room does not fit, so every room that
   fits is created; after that no more calls, the remaining rooms fail with that reason;
4. make sure every room has a PIN, enabling dial-in with ``POST /rooms/:name`` (the documented
   path) for any room the batch response returned without one.

Results are recorded into ``outcomes`` as they happen, so a caller that catches an unexpected
error (an outage outlasting the retries) can still write back what was done.

Latency is overlapped: up to ``concurrency`` batch calls (or, with ``per_room``, single-room
creates and PIN fallbacks) are in flight at once, all through the hook's one pacer, so Daily's
rate limit holds globally however many are in flight. Each request owns distinct room names, so
threads never write the same outcome.

A room reused with an ``exp`` moved earlier goes through the hook's one reuse path, which keeps the
room's ``exp`` while the room is live when the new one is less than a margin away
(:meth:`DailyHook.live_exp`): such a room's outcome carries ``deferred``.

Deletion (:class:`~airflow_provider_daily.bulk_delete.BulkRoomDeleter`, :func:`delete_rooms`) lives
in :mod:`airflow_provider_daily.bulk_delete`; this module re-exports it, so
``from airflow_provider_daily.bulk import BulkRoomDeleter`` keeps working.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from airflow_provider_daily.bulk_delete import (  # re-exported: the old import path
    MAX_FAILED_BATCHES,
    PER_ROOM_CHECKS,
    PRESENCE_CONCURRENCY,
    BulkRoomDeleter,
    DeleteResults,
    delete_rooms,
)
from airflow_provider_daily.errors import (
    DailyApiError,
    DailyAuthError,
    DailyConfigError,
    DailyError,
    DailyInvalidRequestError,
    DailyInvalidSpecsError,
    DailyNotFoundError,
    DailyQuotaReachedError,
    DailyRateLimitedError,
    DailyRoomAlreadyExistsError,
    DailyServerError,
    DailyTransportError,
    DailyValidationError,
)
from airflow_provider_daily.hooks.daily import DailyHook, Outcome
from airflow_provider_daily.models import BATCH_LIMIT, Room, RoomCreate

__all__ = [
    "LIST_INSTEAD_OF_GET_THRESHOLD",
    "MAX_FAILED_BATCHES",
    "PER_ROOM_CHECKS",
    "PRESENCE_CONCURRENCY",
    "BulkRoomCreator",
    "BulkRoomDeleter",
    "DeleteResults",
    "RoomOutcome",
    "delete_rooms",
]

log = logging.getLogger(__name__)

# Above this many unknown names, one paged listing of the domain's rooms is cheaper than one
# GET per name (a page holds 100 rooms).
LIST_INSTEAD_OF_GET_THRESHOLD = 25


@dataclass
class RoomOutcome:
    """What happened to one requested room: ``room`` and ``outcome`` on success, else ``error``."""

    name: str
    outcome: Outcome | None = None
    room: Room | None = None
    error: str | None = None
    # False for failures that are not this room's fault (the domain's quota): they must not
    # count against the meeting's attempts
    counts: bool = True
    # the room was reused, but its exp kept, not moved as early as asked: it is live ("deferred: live
    # (N participants, M on the phone)") or presence could not say; see DailyHook.live_exp
    deferred: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.room is not None


class BulkRoomCreator:
    """Idempotent bulk creation of named rooms through one :class:`DailyHook`."""

    def __init__(
        self, *, hook: DailyHook, batch_size: int = BATCH_LIMIT, concurrency: int = 1, per_room: bool = False
    ) -> None:
        if not 1 <= batch_size <= BATCH_LIMIT:
            raise ValueError(f"batch_size must be within 1..{BATCH_LIMIT}")
        if not 1 <= concurrency <= 64:
            raise ValueError("concurrency must be within 1..64")
        self.hook = hook
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.per_room = per_room
        self.calls = {"batch": 0, "split": 0, "lookups": 0, "pin_fallback": 0, "single": 0}
        self._lock = threading.Lock()
        self._quota_error: str | None = None

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.calls[key] += n

    def _run_all(self, jobs: Iterable[Callable[[], None]]) -> None:
        """Run ``jobs`` with up to ``concurrency`` in flight, each started as soon as the iterable
        yields it (so whatever produces the next job overlaps the calls already in flight); on
        the first error, start no more, let the running ones finish (their outcomes are
        recorded), then raise it."""
        if self.concurrency == 1:
            for job in jobs:
                job()
            return
        failed = threading.Event()
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="daily-bulk") as pool:
            futures = []
            for job in jobs:
                if failed.is_set():
                    break  # an error ends the call: build and send no more
                futures.append(pool.submit(job))
                futures[-1].add_done_callback(lambda future: _note_failure(future, failed))
            _, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            wait(futures)
        _raise_first_error(futures)

    def ensure_rooms(
        self, specs: Iterable[RoomCreate], outcomes: dict[str, RoomOutcome] | None = None
    ) -> dict[str, RoomOutcome]:
        """Ensure every spec's room exists with a PIN. Returns ``{name: RoomOutcome}``.

        ``specs`` is read lazily: each batch (or, with ``per_room``, each room) is sent as soon
        as it is complete, so a caller that builds specs in a generator overlaps that work with
        the calls in flight. A spec the hook refuses before any call (bad name, ``exp`` out of
        range) fails alone with the reason. A name requested twice in one call fails (never two
        meetings on one room), with no room made unless its first request had already been sent.
        """
        outcomes = {} if outcomes is None else outcomes
        requested: dict[str, RoomCreate] = {}
        self._quota_error = None
        self._run_all(self._jobs(specs, outcomes, requested))
        lacking = [o for o in outcomes.values() if o.room is not None and o.error is None and not o.room.pin]
        self._run_all([lambda o=o: self._pin_fallback(requested[o.name], o) for o in lacking])
        return outcomes

    def _jobs(
        self, specs: Iterable[RoomCreate], outcomes: dict[str, RoomOutcome], requested: dict[str, RoomCreate]
    ) -> Iterator[Callable[[], None]]:
        """Yield one job per full batch (or per room) as the specs come."""
        batch: list[RoomCreate] = []
        seen: set[str] = set()
        for spec in specs:
            if spec.name in seen:  # the name fails; its first request is withdrawn unless already sent
                outcomes[spec.name].error = f"room {spec.name} was requested more than once in one call"
                batch = [queued for queued in batch if queued.name != spec.name]
                requested.pop(spec.name, None)
                continue
            seen.add(spec.name)
            outcomes[spec.name] = RoomOutcome(name=spec.name)
            requested[spec.name] = spec
            if self.per_room:
                yield lambda spec=spec: self._create_one(spec, outcomes)
                continue
            batch.append(spec)
            if len(batch) == self.batch_size:
                yield lambda batch=batch: self._create(batch, outcomes)
                batch = []
        if batch:
            yield lambda batch=batch: self._create(batch, outcomes)

    def _create_one(self, spec: RoomCreate, outcomes: dict[str, RoomOutcome]) -> None:
        """Per-room mode: ``POST /rooms`` (or reuse by name) for one room; its own refusals fail it alone."""
        outcome = outcomes[spec.name]
        if self._quota_error:
            outcome.error, outcome.counts = self._quota_error, False
            return
        self._count("single")
        try:
            ensured = self.hook.ensure_room(spec)
        except DailyQuotaReachedError as exc:
            self._quota_reached(exc, [spec], outcomes)
            return
        except DailyInvalidRequestError as exc:
            outcome.error = _refusal(spec.name, exc)
            return
        except DailyValidationError as exc:
            outcome.error = str(exc)
            return
        outcome.room, outcome.outcome, outcome.deferred = ensured.room, ensured.outcome, ensured.deferred

    # -- creation -------------------------------------------------------------------------
    def _create(self, specs: list[RoomCreate], outcomes: dict[str, RoomOutcome]) -> None:
        if not specs:
            return
        if self._quota_error:
            self._quota_reached(None, specs, outcomes)
            return
        try:
            self._count("batch")
            rooms = self.hook.create_rooms_batch(specs)
        except DailyInvalidSpecsError as exc:  # refused by the hook before any call: send the rest
            self._refused_unsent(specs, exc, outcomes)
        except DailyQuotaReachedError as exc:
            self._quota_reached(exc, specs, outcomes)
        except DailyInvalidRequestError as exc:
            self._isolate(specs, exc, outcomes)
        else:
            for spec, room in zip(specs, rooms, strict=True):
                outcomes[spec.name].room, outcomes[spec.name].outcome = room, "created"

    def _refused_unsent(
        self, specs: list[RoomCreate], exc: DailyInvalidSpecsError, outcomes: dict[str, RoomOutcome]
    ) -> None:
        """The hook refused some specs before sending the batch: they fail with their reasons, the
        rest are sent (that refusal was no call)."""
        self._count("batch", -1)
        for name, reason in exc.reasons.items():
            outcomes[name].error = reason
        self._create([spec for spec in specs if spec.name not in exc.reasons], outcomes)

    def _quota_reached(
        self, exc: DailyQuotaReachedError | None, specs: list[RoomCreate], outcomes: dict[str, RoomOutcome]
    ) -> None:
        """Halve a batch refused for the quota until one room alone does not fit (so every room that
        fits is made); from then on, every room fails with that reason, without a call."""
        if exc is not None and len(specs) > 1:
            self._count("split")
            self._halves(specs, outcomes)
            return
        if exc is not None:
            self._quota_error = f"Daily room quota reached: {exc.info or exc}"
        for spec in specs:
            outcomes[spec.name].error, outcomes[spec.name].counts = self._quota_error, False

    def _halves(self, specs: list[RoomCreate], outcomes: dict[str, RoomOutcome]) -> None:
        middle = len(specs) // 2
        self._create(specs[:middle], outcomes)
        self._create(specs[middle:], outcomes)

    def _isolate(
        self, specs: list[RoomCreate], exc: DailyInvalidRequestError, outcomes: dict[str, RoomOutcome]
    ) -> None:
        clash = isinstance(exc, DailyRoomAlreadyExistsError)
        if len(specs) == 1:
            if clash:
                self._reconcile_one(specs[0], None, outcomes)
            else:
                outcomes[specs[0].name].error = _refusal(specs[0].name, exc)
            return
        # Only a name clash is worth a lookup; any other refusal is isolated by splitting.
        existing = self._find_existing([s.name for s in specs]) if clash else {}
        if not existing:
            self._count("split")
            self._halves(specs, outcomes)
            return
        for spec in specs:
            if spec.name in existing:
                self._reconcile_one(spec, existing[spec.name], outcomes)
        self._create([spec for spec in specs if spec.name not in existing], outcomes)

    def _reconcile_one(self, spec: RoomCreate, room: Room | None, outcomes: dict[str, RoomOutcome]) -> None:
        """Reuse the room that has the name (``room`` as just looked up, or ``None``: fetch it)."""
        outcome = outcomes[spec.name]
        try:
            ensured = self.hook.reconcile_room(spec, room=room)
        except DailyApiError as exc:
            _fail(outcome, _refusal(spec.name, exc), exc)
        except DailyError as exc:
            _fail(outcome, str(exc), exc)
        else:
            outcome.room, outcome.outcome, outcome.deferred = ensured.room, ensured.outcome, ensured.deferred

    def _find_existing(self, names: list[str]) -> dict[str, Room]:
        """The rooms among ``names`` that exist now, by the cheaper of listing or fetching."""
        if len(names) > LIST_INSTEAD_OF_GET_THRESHOLD:
            return self._find_by_listing(set(names))
        found: dict[str, Room] = {}
        for name in names:
            self._count("lookups")
            try:
                found[name] = self.hook.get_room(name)
            except DailyNotFoundError:
                continue
        return found

    def _find_by_listing(self, wanted: set[str]) -> dict[str, Room]:
        found: dict[str, Room] = {}
        for room in self.hook.iter_rooms():
            self._count("lookups")
            if room.name in wanted:
                found[room.name] = room
                if len(found) == len(wanted):
                    break
        return found

    def _pin_fallback(self, spec: RoomCreate, outcome: RoomOutcome) -> None:
        self._count("pin_fallback")
        try:
            outcome.room = self.hook.ensure_pin(outcome.room, spec)
        except DailyApiError as exc:
            _fail(outcome, f"could not enable dial-in on room {spec.name}: {exc.error}: {exc.info}", exc)
        except DailyError as exc:
            _fail(outcome, str(exc), exc)


def _note_failure(future: Future[None], failed: threading.Event) -> None:
    if not future.cancelled() and future.exception() is not None:
        failed.set()


def _raise_first_error(futures: list[Future[None]]) -> None:
    for future in futures:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]


def _refusal(name: str, exc: DailyApiError) -> str:
    return f"Daily refused room {name}: {exc.error}: {exc.info}"


def _fail(outcome: RoomOutcome, reason: str, exc: DailyError) -> None:
    """Record a room's failure. A wrong key or setting is not this room's: it ends the whole call
    (fail fast). An outage that outlasted the retries (429, 5xx, no answer) is recorded but is not
    an attempt of this meeting: the room may well exist in Daily, and the next run reuses it."""
    if isinstance(exc, DailyAuthError | DailyConfigError):
        raise exc
    outcome.error = reason
    outcome.counts = not isinstance(exc, _OUTAGE)


_OUTAGE = (DailyRateLimitedError, DailyServerError, DailyTransportError)
