"""The rooms part of :class:`~airflow_provider_daily.hooks.daily.DailyHook`: one method per room
endpoint, the idempotent create (:meth:`DailyRoomsMixin.ensure_room`), the one reuse path
(:meth:`DailyRoomsMixin.reconcile_room`) with the live-room ``exp`` rule, and presence.

A mixin: ``DailyHook`` inherits it and supplies ``request``, ``log`` and
``live_exp_margin_seconds``; import the hook, not this module.

May import: the provider's models, errors, room rules, presence rule and :mod:`.paging`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from airflow_provider_daily.errors import DailyError, DailyNotFoundError, DailyRoomAlreadyExistsError
from airflow_provider_daily.hooks.paging import walk_pages
from airflow_provider_daily.models import (
    BATCH_LIMIT,
    DeletedRoom,
    Participant,
    Room,
    RoomCreate,
    RoomList,
    RoomPresence,
    RoomProperties,
)
from airflow_provider_daily.presence import room_check
from airflow_provider_daily.rooms import (
    room_differences,
    update_properties,
    validate_room_create,
    validate_room_creates,
    validate_room_name,
)

ROOMS_PAGE_LIMIT = 100
Outcome = Literal["created", "reused", "updated"]
__all__ = ["ROOMS_PAGE_LIMIT", "DailyRoomsMixin", "EnsuredRoom", "Outcome"]


@dataclass(frozen=True)
class EnsuredRoom:
    """A room that exists with the requested settings and (for dial-in rooms) a PIN."""

    room: Room
    outcome: Outcome
    # why the room's exp was not moved as far as requested: "deferred: live (N participants, M on
    # the phone)" or "deferred: presence unknown (...)"; None when the spec was applied as it is
    deferred: str | None = None


def _batch_rooms_in_order(body: Any, specs: list[RoomCreate]) -> list[Room]:
    """The rooms of a ``POST /batch/rooms`` answer (a list, or one under ``data``/``rooms``), in request order."""
    items = body.get("data", body.get("rooms")) if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise DailyError("POST /batch/rooms answered without a list of rooms")
    by_name = {room.name: room for room in (Room.model_validate(item) for item in items)}
    missing = [s.name for s in specs if s.name not in by_name]
    if missing:
        raise DailyError(f"POST /batch/rooms did not return {len(missing)} of the requested rooms")
    return [by_name[s.name] for s in specs]


def _presence_by_room(body: Any) -> dict[str, list[Participant]]:
    """``GET /presence``'s ``{<room>: [participant, ...]}`` [doc], typed; an unreadable answer raises."""
    if body is None:
        return {}
    if not isinstance(body, dict) or not all(isinstance(items, list) for items in body.values()):
        raise DailyError("GET /presence answered without a map of rooms to participants")
    try:
        return {str(room): [Participant.model_validate(item) for item in items] for room, items in body.items()}
    except ValueError:
        raise DailyError("GET /presence answered with unreadable participants") from None


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"


class DailyRoomsMixin:
    """Rooms and presence, on the hook's ``request`` (see :class:`~.daily.DailyHook`)."""

    live_exp_margin_seconds: float

    # -- rooms ----------------------------------------------------------------------------
    # Specs are validated once, where they enter the hook (the public methods below); the private
    # steps they share (_post_room, _reconcile) never validate again.
    def create_room(self, spec: RoomCreate) -> Room:
        """``POST /rooms``. Raises :class:`DailyRoomAlreadyExistsError` if the name is taken;
        use :meth:`ensure_room` for the idempotent form."""
        validate_room_create(spec)
        return self._post_room(spec)

    def _post_room(self, spec: RoomCreate) -> Room:
        return Room.model_validate(self.request("POST", "/rooms", json=spec.to_api()))

    def get_room(self, name: str) -> Room:
        """``GET /rooms/:name`` (PIN included). Raises :class:`DailyNotFoundError`."""
        return Room.model_validate(self.request("GET", f"/rooms/{quote(validate_room_name(name))}"))

    def update_room(
        self,
        name: str,
        *,
        properties: RoomProperties | dict[str, Any] | None = None,
        privacy: str | None = None,
    ) -> Room:
        """``POST /rooms/:name``. In a dict, a property set to ``None`` resets it."""
        body: dict[str, Any] = {}
        if privacy is not None:
            body["privacy"] = privacy
        if isinstance(properties, RoomProperties):
            body["properties"] = properties.to_api()
        elif properties is not None:
            body["properties"] = properties
        path = f"/rooms/{quote(validate_room_name(name))}"
        return Room.model_validate(self.request("POST", path, json=body))

    def delete_room(self, name: str, *, missing_ok: bool = True) -> bool:
        """``DELETE /rooms/:name`` (slow rate class). Returns False if it was already gone."""
        path = f"/rooms/{quote(validate_room_name(name))}"
        try:
            DeletedRoom.model_validate(self.request("DELETE", path, endpoint_class="delete"))
        except DailyNotFoundError:
            if not missing_ok:
                raise
            return False
        return True

    def list_rooms(
        self,
        *,
        limit: int = ROOMS_PAGE_LIMIT,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> RoomList:
        """One page of ``GET /rooms``, newest first."""
        params: dict[str, Any] = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        if ending_before:
            params["ending_before"] = ending_before
        return RoomList.model_validate(self.request("GET", "/rooms", params=params))

    def iter_rooms(self, *, page_size: int = ROOMS_PAGE_LIMIT) -> Iterator[Room]:
        """Every live room, newest first, following the cursor across pages."""
        return walk_pages(lambda cursor: self.list_rooms(limit=page_size, starting_after=cursor).data, page_size)

    def create_rooms_batch(self, specs: list[RoomCreate]) -> list[Room]:
        """``POST /batch/rooms``: up to 1000 rooms, all or nothing, returned in request order.

        Refuses the whole call before sending if any spec is invalid, raising
        :class:`DailyInvalidSpecsError` with the reason for each refused name."""
        if not 1 <= len(specs) <= BATCH_LIMIT:
            raise ValueError(f"a batch holds 1 to {BATCH_LIMIT} rooms, not {len(specs)}")
        validate_room_creates(specs)
        body = self.request("POST", "/batch/rooms", json={"rooms": [s.to_api() for s in specs]})
        return _batch_rooms_in_order(body, specs)

    def delete_rooms_batch(self, names: list[str]) -> int:
        """``DELETE /batch/rooms``; returns how many were deleted."""
        for name in names:
            validate_room_name(name)
        body = self.request("DELETE", "/batch/rooms", json={"room_names": names})
        return int((body or {}).get("deleted_count", 0))

    def ensure_room(self, spec: RoomCreate) -> EnsuredRoom:
        """Create the room, or reuse the one that already has its name; either way with a PIN.

        Reuse checks the existing room against the requested settings and updates it when they
        differ, so a retried or repeated run converges on exactly one room per name.
        """
        validate_room_create(spec)
        try:
            room = self._post_room(spec)
        except DailyRoomAlreadyExistsError:
            return self._reconcile(spec, None)
        return EnsuredRoom(room=self.ensure_pin(room, spec), outcome="created")

    def reconcile_room(self, spec: RoomCreate, *, room: Room | None = None) -> EnsuredRoom:
        """Bring the existing room named ``spec.name`` to ``spec``'s settings, with a PIN.

        The one reuse path (:meth:`ensure_room` and :class:`~airflow_provider_daily.bulk.BulkRoomCreator`
        both end here): reuse the room as it is when nothing differs; otherwise update only what
        differs (``dialin`` only when a dial-in field does) and compare the PIN after the update;
        enable dial-in through ``POST /rooms/:name`` if the room still has no PIN. A room that is
        gone (expired or deleted) is created again.

        :param room: the room as just read (a listing, a ``GET``): used as it is, not fetched again.
            ``None``: fetch it.
        """
        validate_room_create(spec)
        return self._reconcile(spec, room)

    def _reconcile(self, spec: RoomCreate, room: Room | None) -> EnsuredRoom:
        requested, deferred = spec, None
        try:
            room = self.get_room(spec.name) if room is None else room
            spec, deferred = self.guard_exp(room, spec)
            room, outcome = self._converge(room, spec)
        except DailyNotFoundError:
            # it expired or was deleted since the create, the listing or the fetch: make it again
            spec, deferred = requested, None
            room, outcome = self._post_room(spec), "created"
        return EnsuredRoom(room=self.ensure_pin(room, spec), outcome=outcome, deferred=deferred)

    def guard_exp(self, room: Room, spec: RoomCreate) -> tuple[RoomCreate, str | None]:
        """``spec``, with its ``exp`` raised to what :meth:`live_exp` allows for ``room``, and the
        reason when it had to be raised (``None``: ``spec`` as it is). Asks Daily only when the
        ``exp`` moves earlier, to before now + ``live_exp_margin_seconds``."""
        wanted = spec.properties.exp
        if wanted is None:
            return spec, None
        exp, deferred = self.live_exp(room.name, wanted=wanted, current=room.config.exp)
        if deferred is None:
            return spec, None
        properties = spec.properties.model_copy(update={"exp": exp})
        return spec.model_copy(update={"properties": properties}), deferred

    def live_exp(self, name: str, *, wanted: float, current: float | None) -> tuple[float, str | None]:
        """The ``exp`` room ``name`` may get instead of ``wanted`` (its ``exp`` now: ``current``),
        and why it differs (``"deferred: live (...)"``; ``None``: ``wanted`` is fine).

        The rule: an ``exp`` is never moved earlier to before now + ``live_exp_margin_seconds``
        while anyone is in the room, nor when presence cannot say (:func:`..presence.room_check`,
        one ``GET /rooms/:name/presence``, made only for such a move): the room keeps ``current``
        until a later call finds it empty. Keeping it, rather than setting now + the margin, means
        a meeting that outlasts the margin is not cut when the next retry comes late. A room that is
        empty, and a move that stays beyond the margin, get ``wanted``."""
        floor = time.time() + self.live_exp_margin_seconds
        if current is None or wanted >= current or wanted >= floor:
            return wanted, None
        presence = room_check(self, name)
        reason = presence.reason(name)
        if reason is None:
            return wanted, None
        self.log.warning(
            "Room %s: exp kept, the new one is less than %d s away (%s)",
            name,
            int(self.live_exp_margin_seconds),
            reason,
        )
        return current, f"{reason}: exp kept, the new one is less than {_minutes(self.live_exp_margin_seconds)} away"

    def _converge(self, room: Room, spec: RoomCreate) -> tuple[Room, Outcome]:
        """Update ``room`` where it differs from ``spec``; raises :class:`DailyNotFoundError` if it is gone."""
        diffs = room_differences(room, spec)
        if not diffs:
            return room, "reused"
        self.log.info("Room %s exists with other settings (%s); updating it", spec.name, sorted(diffs))
        privacy = spec.privacy if "privacy" in diffs else None
        updated = self.update_room(spec.name, properties=update_properties(diffs, spec), privacy=privacy)
        if room.pin and updated.pin != room.pin:
            # the caller compares PINs with its records and reports the change; say it here too
            self.log.warning("Room %s has another PIN after the update of %s", spec.name, sorted(diffs))
        return updated, "updated"

    def ensure_pin(self, room: Room, spec: RoomCreate) -> Room:
        """Turn dial-in on through ``POST /rooms/:name`` (the documented path) if the room lacks a PIN.

        ``spec`` is the (validated) spec the room was created or reconciled from."""
        if spec.properties.dialin is None or room.pin:
            return room
        props = {"dialin": spec.properties.dialin.to_api(), "exp": spec.properties.exp}
        room = self.update_room(spec.name, properties=props)
        if not room.pin:
            raise DailyError(f"room {spec.name}: Daily returned no PIN after enabling dial-in")
        return room

    # -- presence ---------------------------------------------------------------------------------
    # Daily's presence lags by about 15 s and polling it more often is pointless [doc]; these
    # calls are made once per run (GET /presence) and once per room right before a destructive act.
    def get_presence(self) -> dict[str, list[Participant]]:
        """``GET /presence``: every room with anyone in it -> its participants [doc]. A room
        nobody is in is not listed. An answer of another shape raises :class:`DailyError`."""
        return _presence_by_room(self.request("GET", "/presence"))

    def room_presence(self, name: str, *, limit: int | None = None) -> RoomPresence:
        """``GET /rooms/:name/presence``: ``{total_count, data}`` [doc], typed."""
        params = {"limit": limit} if limit else None
        body = self.request("GET", f"/rooms/{quote(validate_room_name(name))}/presence", params=params)
        if not isinstance(body, dict):
            raise DailyError(f"GET /rooms/{name}/presence answered without an object")
        try:
            return RoomPresence.model_validate(body)
        except ValueError:
            raise DailyError(f"GET /rooms/{name}/presence answered with unreadable participants") from None

    def get_room_presence(self, name: str) -> list[Participant]:
        """The participants in room ``name`` now (``GET /rooms/:name/presence``'s ``data``)."""
        return self.room_presence(name).data
