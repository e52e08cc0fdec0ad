"""Create many rooms at once with ``POST /batch/rooms``, one outcome per room.

``POST /batch/rooms`` is all or nothing, so the algorithm is built to never let one bad room
sink the others, and never to make two rooms for one name:

1. validate every spec locally as it comes; invalid ones fail alone with the reason;
2. send the valid ones in batches of at most ``batch_size``, each as soon as it is full (the
   caller's building of the next specs overlaps the calls in flight);
3. on a 400 for a batch: find which names already exist (a lost response, a crash before
   write-back, an earlier run) and reuse those (updating drifted settings); send the rest again;
   if none existed, split the batch in halves until the offending rooms stand alone, each
   failing with Daily's own reason;
4. on "quota reached" halve the batch until a single room does not fit, so every room that
   fits is created; after that no more calls, the remaining rooms fail with that reason;
5. make sure every room has a PIN, enabling dial-in with ``POST /rooms/:name`` (the documented
   path) for any room the batch response returned without one.

Results are recorded into ``outcomes`` as they happen, so a caller that catches an unexpected
error (an outage outlasting the retries) can still write back what was done.

Latency is overlapped: up to ``concurrency`` batch calls (or, with ``per_room``, single-room
creates and PIN fallbacks) are in flight at once, all through the hook's one pacer, so Daily's
rate limit holds globally however many are in flight. Each request owns distinct room names, so
threads never write the same outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from airflow_provider_daily.errors import (
    DailyApiError,
    DailyAuthError,
    DailyConfigError,
    DailyError,
    DailyInvalidRequestError,
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
from airflow_provider_daily.rooms import room_differences, validate_room_create

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

        def note_failure(future: Future[None]) -> None:
            if not future.cancelled() and future.exception() is not None:
                failed.set()

        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="daily-bulk") as pool:
            futures = []
            for job in jobs:
                if failed.is_set():
                    break  # an error ends the call: build and send no more
                futures.append(pool.submit(job))
                futures[-1].add_done_callback(note_failure)
            _, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            wait(futures)
        for future in futures:
            if not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]

    def ensure_rooms(
        self, specs: Iterable[RoomCreate], outcomes: dict[str, RoomOutcome] | None = None
    ) -> dict[str, RoomOutcome]:
        """Ensure every spec's room exists with a PIN. Returns ``{name: RoomOutcome}``.

        ``specs`` is read lazily: each batch (or, with ``per_room``, each room) is sent as soon
        as it is complete, so a caller that builds specs in a generator overlaps that work with
        the calls in flight. A name requested twice in one call fails (never two meetings on one
        room), with no room made unless its first request had already been sent.
        """
        outcomes = {} if outcomes is None else outcomes
        valid: dict[str, RoomCreate] = {}
        self._quota_error = None
        self._run_all(self._jobs(specs, outcomes, valid))
        lacking = [o for o in outcomes.values() if o.room is not None and o.error is None and not o.room.pin]
        self._run_all([lambda o=o: self._pin_fallback(valid[o.name], o) for o in lacking])
        return outcomes

    def _jobs(
        self, specs: Iterable[RoomCreate], outcomes: dict[str, RoomOutcome], valid: dict[str, RoomCreate]
    ) -> Iterator[Callable[[], None]]:
        """Validate specs as they come and yield one job per full batch (or per room)."""
        batch: list[RoomCreate] = []
        seen: set[str] = set()
        for spec in specs:
            if spec.name in seen:  # the name fails; its first request is withdrawn unless already sent
                outcomes[spec.name].error = f"room {spec.name} was requested more than once in one call"
                batch = [queued for queued in batch if queued.name != spec.name]
                valid.pop(spec.name, None)
                continue
            seen.add(spec.name)
            outcome = outcomes[spec.name] = RoomOutcome(name=spec.name)
            try:
                validate_room_create(spec)
            except DailyValidationError as exc:
                outcome.error = str(exc)
                continue
            valid[spec.name] = spec
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
            self._quota_error = f"Daily room quota reached: {exc.info or exc}"
            outcome.error, outcome.counts = self._quota_error, False
            return
        except DailyInvalidRequestError as exc:
            outcome.error = f"Daily refused room {spec.name}: {exc.error}: {exc.info}"
            return
        outcome.room, outcome.outcome = ensured.room, ensured.outcome

    # -- creation -------------------------------------------------------------------------
    def _create(self, specs: list[RoomCreate], outcomes: dict[str, RoomOutcome]) -> None:
        if not specs:
            return
        if self._quota_error:
            for spec in specs:
                outcomes[spec.name].error = self._quota_error
                outcomes[spec.name].counts = False
            return
        try:
            self._count("batch")
            rooms = self.hook.create_rooms_batch(specs)
        except DailyQuotaReachedError as exc:
            if len(specs) > 1:  # some may still fit: halve until one room alone does not
                self._count("split")
                middle = len(specs) // 2
                self._create(specs[:middle], outcomes)
                self._create(specs[middle:], outcomes)
                return
            self._quota_error = f"Daily room quota reached: {exc.info or exc}"
            outcomes[specs[0].name].error = self._quota_error
            outcomes[specs[0].name].counts = False
            return
        except DailyInvalidRequestError as exc:
            self._isolate(specs, exc, outcomes)
            return
        for spec, room in zip(specs, rooms, strict=True):
            outcomes[spec.name].room, outcomes[spec.name].outcome = room, "created"

    def _isolate(
        self, specs: list[RoomCreate], exc: DailyInvalidRequestError, outcomes: dict[str, RoomOutcome]
    ) -> None:
        if len(specs) == 1:
            spec = specs[0]
            if isinstance(exc, DailyRoomAlreadyExistsError):
                self._reconcile_one(spec, outcomes)
            else:
                outcomes[spec.name].error = f"Daily refused room {spec.name}: {exc.error}: {exc.info}"
            return
        # Only a name clash is worth a lookup; any other refusal is isolated by splitting.
        existing = {}
        if isinstance(exc, DailyRoomAlreadyExistsError):
            existing = self._find_existing([s.name for s in specs])
        if existing:
            rest = []
            for spec in specs:
                if spec.name in existing:
                    self._reuse(spec, existing[spec.name], outcomes)
                else:
                    rest.append(spec)
            self._create(rest, outcomes)
            return
        self._count("split")
        middle = len(specs) // 2
        self._create(specs[:middle], outcomes)
        self._create(specs[middle:], outcomes)

    def _reconcile_one(self, spec: RoomCreate, outcomes: dict[str, RoomOutcome]) -> None:
        try:
            room, outcome = self.hook.reconcile_room(spec)
        except DailyApiError as exc:
            _fail(outcomes[spec.name], f"Daily refused room {spec.name}: {exc.error}: {exc.info}", exc)
            return
        outcomes[spec.name].room, outcomes[spec.name].outcome = room, outcome

    def _reuse(self, spec: RoomCreate, room: Room, outcomes: dict[str, RoomOutcome]) -> None:
        if room_differences(room, spec):
            self._reconcile_one(spec, outcomes)
        else:
            outcomes[spec.name].room, outcomes[spec.name].outcome = room, "reused"

    def _find_existing(self, names: list[str]) -> dict[str, Room]:
        """The rooms among ``names`` that exist now, by the cheaper of listing or fetching."""
        wanted = set(names)
        found: dict[str, Room] = {}
        if len(wanted) > LIST_INSTEAD_OF_GET_THRESHOLD:
            for room in self.hook.iter_rooms():
                self._count("lookups")
                if room.name in wanted:
                    found[room.name] = room
                    if len(found) == len(wanted):
                        break
            return found
        for name in names:
            self._count("lookups")
            try:
                found[name] = self.hook.get_room(name)
            except DailyNotFoundError:
                continue
        return found

    def _pin_fallback(self, spec: RoomCreate, outcome: RoomOutcome) -> None:
        self._count("pin_fallback")
        try:
            outcome.room = self.hook.ensure_pin(outcome.room, spec)
        except DailyApiError as exc:
            _fail(outcome, f"could not enable dial-in on room {spec.name}: {exc.error}: {exc.info}", exc)
        except DailyError as exc:
            _fail(outcome, str(exc), exc)


def _fail(outcome: RoomOutcome, reason: str, exc: DailyError) -> None:
    """Record a room's failure. A wrong key or setting is not this room's: it ends the whole call
    (fail fast). An outage that outlasted the retries (429, 5xx, no answer) is recorded but is not
    an attempt of this meeting: the room may well exist in Daily, and the next run reuses it."""
    if isinstance(exc, DailyAuthError | DailyConfigError):
        raise exc
    outcome.error = reason
    outcome.counts = not isinstance(exc, DailyRateLimitedError | DailyServerError | DailyTransportError)
