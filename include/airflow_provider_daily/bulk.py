"""Create many rooms at once with ``POST /batch/rooms``, one outcome per room.

``POST /batch/rooms`` is all or nothing, so the algorithm is built to never let one bad room
sink the others, and never to make two rooms for one name:

1. validate every spec locally; invalid ones fail alone with the reason;
2. send the valid ones in batches of at most ``batch_size``;
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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from airflow_provider_daily.errors import (
    DailyApiError,
    DailyError,
    DailyInvalidRequestError,
    DailyNotFoundError,
    DailyQuotaReachedError,
    DailyRoomAlreadyExistsError,
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

    def __init__(self, *, hook: DailyHook, batch_size: int = BATCH_LIMIT) -> None:
        if not 1 <= batch_size <= BATCH_LIMIT:
            raise ValueError(f"batch_size must be within 1..{BATCH_LIMIT}")
        self.hook = hook
        self.batch_size = batch_size
        self.calls = {"batch": 0, "split": 0, "lookups": 0, "pin_fallback": 0}

    def ensure_rooms(
        self, specs: Iterable[RoomCreate], outcomes: dict[str, RoomOutcome] | None = None
    ) -> dict[str, RoomOutcome]:
        """Ensure every spec's room exists with a PIN. Returns ``{name: RoomOutcome}``."""
        outcomes = {} if outcomes is None else outcomes
        valid: list[RoomCreate] = []
        specs = list(specs)
        seen: dict[str, int] = {}
        for spec in specs:
            seen[spec.name] = seen.get(spec.name, 0) + 1
        for spec in specs:
            if seen[spec.name] > 1:  # never let two requests share one room: both fail, alone
                outcomes[spec.name] = RoomOutcome(
                    name=spec.name, error=f"room {spec.name} was requested {seen[spec.name]} times in one call"
                )
                continue
            outcomes[spec.name] = RoomOutcome(name=spec.name)
            try:
                validate_room_create(spec)
            except DailyValidationError as exc:
                outcomes[spec.name].error = str(exc)
                continue
            valid.append(spec)
        self._quota_error: str | None = None
        for start in range(0, len(valid), self.batch_size):
            self._create(valid[start : start + self.batch_size], outcomes)
        by_name = {spec.name: spec for spec in valid}
        for outcome in outcomes.values():
            if outcome.room is not None and outcome.error is None and not outcome.room.pin:
                self._pin_fallback(by_name[outcome.name], outcome)
        return outcomes

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
            self.calls["batch"] += 1
            rooms = self.hook.create_rooms_batch(specs)
        except DailyQuotaReachedError as exc:
            if len(specs) > 1:  # some may still fit: halve until one room alone does not
                self.calls["split"] += 1
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
        self.calls["split"] += 1
        middle = len(specs) // 2
        self._create(specs[:middle], outcomes)
        self._create(specs[middle:], outcomes)

    def _reconcile_one(self, spec: RoomCreate, outcomes: dict[str, RoomOutcome]) -> None:
        try:
            room, outcome = self.hook.reconcile_room(spec)
        except DailyApiError as exc:
            outcomes[spec.name].error = f"Daily refused room {spec.name}: {exc.error}: {exc.info}"
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
                self.calls["lookups"] += 1
                if room.name in wanted:
                    found[room.name] = room
                    if len(found) == len(wanted):
                        break
            return found
        for name in names:
            self.calls["lookups"] += 1
            try:
                found[name] = self.hook.get_room(name)
            except DailyNotFoundError:
                continue
        return found

    def _pin_fallback(self, spec: RoomCreate, outcome: RoomOutcome) -> None:
        self.calls["pin_fallback"] += 1
        try:
            outcome.room = self.hook.ensure_pin(outcome.room, spec)
        except DailyApiError as exc:
            outcome.error = f"could not enable dial-in on room {spec.name}: {exc.error}: {exc.info}"
        except DailyError as exc:
            outcome.error = str(exc)
