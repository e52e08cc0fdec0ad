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

Deletion (:class:`BulkRoomDeleter`, :func:`delete_rooms`). Deleting a room ends every session in it,
video and phone [doc], so presence comes first (:mod:`.presence`, the one home of the rule):

1. one ``GET /presence`` for the whole set: live rooms leave the delete set (bulk stays bulk); if
   the call fails, nobody knows who is in them, so nothing is deleted this time (every room is
   deferred, with one reason, logged once) and no more presence calls are made;
2. right before each ``DELETE /batch/rooms``, the few rooms of that batch (up to ``per_room_checks``,
   10: the usual run) are checked one by one, ``GET /rooms/:name/presence``; a larger batch gets
   one more ``GET /presence`` instead (as fresh, one call - per-room checks of 1,000 rooms would
   take 50 s at Daily's rate limit). A room someone joined since step 1 (or whose check fails)
   leaves the batch too.

The window that remains: someone joining between that check and the batch call (a fraction of a
second: a few paced calls), and Daily's presence lag of about 15 s [doc] - someone who joined
within it may not be listed by either call. Rooms held back are reported as *deferred: live (N
participants, M on the phone)* (or *deferred: presence unknown (...)*), never as deleted: the caller
keeps them and tries again on its next run. API calls added per :meth:`BulkRoomDeleter.delete`: at
most 1 + the rooms being deleted (nothing when nothing is to be deleted). ``force_live`` (only a
person sets it) deletes live rooms anyway: the one ``GET /presence`` is still made, to log them.

``DELETE /batch/rooms`` is all or nothing too, and whether an unknown name fails it is not
documented. A refused batch is split in halves and each half sent again; a name that still fails
alone is deleted with ``DELETE /rooms/:name`` (paced in Daily's slow delete class), where 404 means
already gone. Only a name Daily refuses on its own is reported; an outage or a wrong key stops the
call with an error that carries every result settled so far.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from airflow_provider_daily.errors import (
    DailyApiError,
    DailyAuthError,
    DailyBulkDeleteAbortedError,
    DailyBulkDeleteError,
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
from airflow_provider_daily.presence import LiveRooms, presence_check, room_check
from airflow_provider_daily.rooms import validate_room_name

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
            self._count("batch", -1)  # that was no call
            for name, reason in exc.reasons.items():
                outcomes[name].error = reason
            self._create([spec for spec in specs if spec.name not in exc.reasons], outcomes)
        except DailyQuotaReachedError as exc:
            self._quota_reached(exc, specs, outcomes)
        except DailyInvalidRequestError as exc:
            self._isolate(specs, exc, outcomes)
        else:
            for spec, room in zip(specs, rooms, strict=True):
                outcomes[spec.name].room, outcomes[spec.name].outcome = room, "created"

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


# -- deletion ---------------------------------------------------------------------------------
# Errors that end a bulk delete instead of failing one name: splitting cannot help against them.
_STOPS_DELETE = (DailyAuthError, DailyRateLimitedError, DailyServerError)
# Refused batch calls per delete() before the remaining names go straight to single deletes: one
# bad name in a full batch costs about log2(1000) = 10; a batch endpoint that refuses everything
# must not cost 2 calls per name before the fallback.
MAX_FAILED_BATCHES = 40
# Per-room presence checks in flight at once, right before a batch delete (paced by the hook).
PRESENCE_CONCURRENCY = 4
# A batch of up to this many rooms is checked room by room right before its delete; a larger one
# with one more GET /presence (the same answer for all, one call instead of one per room).
PER_ROOM_CHECKS = 10


class DeleteResults(dict[str, str | None]):
    """What :meth:`BulkRoomDeleter.delete` did, one entry per name in first-seen order.

    A plain ``{name: None | reason}`` for callers that only ask "deleted or not" (``None``: deleted
    or already gone; a string: not deleted, and why), so a deferred room never reads as deleted.
    The three kinds apart: :attr:`deleted`, :attr:`deferred` (held back, live or presence unknown:
    ``{name: "deferred: live (N participants, M on the phone)"}``; try again on the next run) and
    :attr:`failed` (Daily refused it, or its name is invalid)."""

    def __init__(self) -> None:
        super().__init__()
        self.deferred: dict[str, str] = {}

    def defer(self, name: str, reason: str) -> None:
        self[name] = reason
        self.deferred[name] = reason

    def in_order(self, names: Iterable[str]) -> DeleteResults:
        """The same results, in the order of ``names`` (first-seen order of the request)."""
        ordered = DeleteResults()
        ordered.update((name, self[name]) for name in names if name in self)
        ordered.deferred = dict(self.deferred)
        return ordered

    @property
    def deleted(self) -> list[str]:
        return [name for name, reason in self.items() if reason is None]

    @property
    def failed(self) -> dict[str, str]:
        return {name: reason for name, reason in self.items() if reason is not None and name not in self.deferred}


class BulkRoomDeleter:
    """Delete named rooms through one :class:`DailyHook`, presence first, ``DELETE /batch/rooms`` next.

    :param batch_size: names per ``DELETE /batch/rooms`` call (the contract documents no limit;
        this provider assumes the 1000 of batch creation).
    :param max_failed_batches: refused batch calls per :meth:`delete` after which the remaining
        names are deleted one by one without more batch attempts.
    :param force_live: delete rooms with people in them too (and rooms whose presence is unknown).
        Only a person may set it: it cuts running calls, video and phone.
    :param per_room_checks: a batch of at most this many rooms gets one ``GET /rooms/:name/presence``
        per room right before its delete call; a larger batch gets one more ``GET /presence`` instead
        (as fresh, one call: per-room checks of 1,000 rooms would take 50 s at Daily's rate limit).
    :param presence_concurrency: per-room presence checks in flight at once (all through the hook's
        one pacer, so Daily's rate limit holds).

    Example::

        results = BulkRoomDeleter(hook=hook).delete(["mtg-1", "mtg-2"])
        results.deleted   # ["mtg-2"]
        results.deferred  # {"mtg-1": "deferred: live (3 participants, 1 on the phone)"}
        results.failed    # {}
    """

    def __init__(
        self,
        *,
        hook: DailyHook,
        batch_size: int = BATCH_LIMIT,
        max_failed_batches: int = MAX_FAILED_BATCHES,
        force_live: bool = False,
        per_room_checks: int = PER_ROOM_CHECKS,
        presence_concurrency: int = PRESENCE_CONCURRENCY,
    ) -> None:
        if not 1 <= batch_size <= BATCH_LIMIT:
            raise ValueError(f"batch_size must be within 1..{BATCH_LIMIT}")
        if max_failed_batches < 0:
            raise ValueError("max_failed_batches must not be negative")
        if not 1 <= presence_concurrency <= 64:
            raise ValueError("presence_concurrency must be within 1..64")
        self.hook = hook
        self.batch_size = batch_size
        self.max_failed_batches = max_failed_batches
        self.force_live = force_live
        self.presence_concurrency = presence_concurrency
        self.per_room_checks = max(per_room_checks, 0)
        self.calls = {"batch": 0, "failed_batch": 0, "single": 0, "presence": 0, "room_presence": 0}

    def delete(self, names: Iterable[str]) -> DeleteResults:
        """Delete every named room nobody is in. Returns :class:`DeleteResults`: ``{name: None}`` for a
        room deleted or already gone, ``{name: reason}`` for one held back (``results.deferred``:
        live, or presence unknown) or that could not be deleted (``results.failed``: its name is
        invalid, or Daily refused it alone); each name once, in first-seen order.

        Raises :class:`DailyBulkDeleteError` when an outage outlasts the hook's retries and
        :class:`DailyBulkDeleteAbortedError` on a wrong key or setting; both carry ``results`` (what
        was settled before the stop, a :class:`DeleteResults`) and ``pending`` (the names to try again).
        """
        self.calls["failed_batch"] = 0  # the fallback budget is per call
        results = DeleteResults()
        names = list(dict.fromkeys(names))
        valid = [name for name in names if _valid_name(name, results)]
        try:
            free = self._not_live(valid, results)
            for start in range(0, len(free), self.batch_size):
                batch = self._recheck(free[start : start + self.batch_size], results)
                if batch:
                    self._delete(batch, results)
        except (DailyAuthError, DailyConfigError) as exc:
            raise _stopped(DailyBulkDeleteAbortedError, results, valid, exc) from exc
        except (DailyRateLimitedError, DailyServerError, DailyTransportError) as exc:
            raise _stopped(DailyBulkDeleteError, results, valid, exc) from exc
        return results.in_order(names)

    # -- presence ------------------------------------------------------------------------------
    def _not_live(self, names: list[str], results: DeleteResults) -> list[str]:
        """One ``GET /presence`` for all ``names``: the live ones (and all, if it fails) are deferred."""
        if not names:
            return []
        self.calls["presence"] += 1
        rooms = presence_check(self.hook, names)
        if self.force_live:
            _log_forced(rooms)
            return names
        self._defer(rooms, results)
        return [name for name in names if not rooms.held(name)]

    def _recheck(self, names: list[str], results: DeleteResults) -> list[str]:
        """Right before the batch call: ``GET /rooms/:name/presence`` for each of ``names`` when they
        are few (``per_room_checks``), else one more ``GET /presence`` for them all (as fresh, 1 call)."""
        if self.force_live or not names:
            return names
        if len(names) > self.per_room_checks:
            self.calls["presence"] += 1
            rooms = presence_check(self.hook, names)
        else:
            rooms = self._per_room(names)
        self._defer(rooms, results)
        return [name for name in names if not rooms.held(name)]

    def _per_room(self, names: list[str]) -> LiveRooms:
        self.calls["room_presence"] += len(names)
        if self.presence_concurrency == 1 or len(names) == 1:
            answers = [room_check(self.hook, name) for name in names]
        else:
            with ThreadPoolExecutor(
                max_workers=min(self.presence_concurrency, len(names)), thread_name_prefix="daily-presence"
            ) as pool:
                answers = list(pool.map(lambda name: room_check(self.hook, name), names))
        rooms = LiveRooms()
        for answer in answers:
            rooms.merge(answer)
        return rooms

    @staticmethod
    def _defer(rooms: LiveRooms, results: DeleteResults) -> None:
        for name in [*rooms.live, *rooms.unknown]:
            results.defer(name, rooms.reason(name) or "deferred")
        if rooms.live:
            log.warning(
                "%d room(s) not deleted, people are in them (next run tries again): %s",
                len(rooms.live),
                "; ".join(f"{name}: {live.describe()}" for name, live in list(rooms.live.items())[:20]),
            )

    # -- deleting ------------------------------------------------------------------------------
    def _delete(self, names: list[str], results: dict[str, str | None]) -> None:
        if self.calls["failed_batch"] >= self.max_failed_batches:
            for name in names:
                self._delete_one(name, results)
            return
        self.calls["batch"] += 1
        try:
            deleted = self.hook.delete_rooms_batch(names)
        except DailyApiError as exc:
            if isinstance(exc, _STOPS_DELETE):
                raise
            self.calls["failed_batch"] += 1
            self._after_refusal(names, exc, results)
            return
        if deleted < len(names):
            log.info("%d of %d rooms were already gone", len(names) - deleted, len(names))
        results.update(dict.fromkeys(names))

    def _after_refusal(self, names: list[str], exc: DailyApiError, results: dict[str, str | None]) -> None:
        """A refused batch: a lone name is deleted on its own, a longer batch is split in halves."""
        if len(names) == 1:
            self._delete_one(names[0], results)
            return
        log.info("DELETE /batch/rooms of %d rooms refused (%s); splitting it", len(names), exc)
        middle = len(names) // 2
        self._delete(names[:middle], results)
        self._delete(names[middle:], results)

    def _delete_one(self, name: str, results: dict[str, str | None]) -> None:
        self.calls["single"] += 1
        try:
            self.hook.delete_room(name, missing_ok=True)
        except DailyApiError as exc:
            if isinstance(exc, _STOPS_DELETE):
                raise
            results[name] = f"Daily refused to delete room {name}: {exc.error}: {exc.info}"
            return
        results[name] = None


def delete_rooms(
    *, hook: DailyHook, names: Iterable[str], batch_size: int = BATCH_LIMIT, force_live: bool = False
) -> DeleteResults:
    """:meth:`BulkRoomDeleter.delete` in one call: ``{name: None | reason}`` (a :class:`DeleteResults`)."""
    return BulkRoomDeleter(hook=hook, batch_size=batch_size, force_live=force_live).delete(names)


def _log_forced(rooms: LiveRooms) -> None:
    held = [*rooms.live, *rooms.unknown]
    if held:
        log.warning(
            "force_live: deleting %d room(s) that are live or of unknown presence: %s",
            len(held),
            "; ".join(f"{name}: {rooms.reason(name)}" for name in held[:20]),
        )


def _stopped(
    kind: type[DailyBulkDeleteError], results: DeleteResults, names: list[str], exc: DailyError
) -> DailyBulkDeleteError:
    """The error that stops a delete, carrying the :class:`DeleteResults` so far (deferred included)."""
    error = kind(results=results, pending=_pending(names, results), cause=exc)
    error.results = results
    return error


def _valid_name(name: str, results: dict[str, str | None]) -> bool:
    """Whether Daily could take ``name``; if not, its result is the reason (it is never sent)."""
    try:
        validate_room_name(name)
    except DailyValidationError as exc:
        results[name] = str(exc)
        return False
    return True


def _pending(names: list[str], results: dict[str, str | None]) -> tuple[str, ...]:
    return tuple(name for name in names if name not in results)
