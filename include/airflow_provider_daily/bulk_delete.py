"""Delete many rooms at once (``DELETE /batch/rooms``), one result per room, never a live room
unless a person says so.

May import the hook, models, presence rule, rooms and errors of this provider; never the application
(nor :mod:`airflow_provider_daily.bulk`, which re-exports this module's names).

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
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from airflow_provider_daily.errors import (
    DailyApiError,
    DailyAuthError,
    DailyBulkDeleteAbortedError,
    DailyBulkDeleteError,
    DailyConfigError,
    DailyError,
    DailyRateLimitedError,
    DailyServerError,
    DailyTransportError,
    DailyValidationError,
)
from airflow_provider_daily.hooks.daily import DailyHook
from airflow_provider_daily.models import BATCH_LIMIT
from airflow_provider_daily.presence import LiveRooms, presence_check, room_check
from airflow_provider_daily.rooms import validate_room_name

log = logging.getLogger(__name__)

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
