"""The emulator's in-memory Daily domain: rooms, PINs, dial-in configs, purchased numbers, JSON persistence."""

from __future__ import annotations

import logging
import random
import string
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from daily_emulator.clock import Clock
from daily_emulator.defaults import visible_config
from daily_emulator.errors import ApiError, invalid, not_found
from daily_emulator.life import RoomLife
from daily_emulator.pagination import paginate
from daily_emulator.persistence import load_json, save_json_atomic
from daily_emulator.records import (
    DialinConfigRecord,
    RoomRecord,
    build_purchased_numbers,
    iso_utc,
)
from daily_emulator.settings import EmulatorSettings, normalize_phone_number
from daily_emulator.validation import (
    PIN_DIGITS,
    RoomSpec,
    check_dialin_rules,
    parse_dialin_config,
    parse_pin,
    parse_room,
    require_object,
    validate_privacy,
    validate_properties,
)

log = logging.getLogger(__name__)

STATE_VERSION = 1
ROOMS_PAGE_MAX = 100
DIALIN_CONFIGS_PAGE_MAX = 100
PHONE_NUMBERS_PAGE_MAX = 50
RANDOM_NAME_LENGTH = 20
ADMIN_ROOM_FIELDS = frozenset({"privacy", "properties", "dialin_code", "dialin_number", "new_pin"})


def merge_dropping_nulls(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Daily's update semantics: keys in ``patch`` overwrite, a ``None`` value resets (removes)."""
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class _Duplicate(Exception):
    """A room name that is already taken (internal signal inside ``create_rooms``)."""


class Store:
    """All domain data, guarded by one lock; every mutation is saved to ``settings.state_file`` if set.

    Methods raise :class:`ApiError` for anything the API reports as an error.
    """

    def __init__(self, *, settings: EmulatorSettings, clock: Clock) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.RLock()
        self._rng: random.Random = random.Random(settings.seed) if settings.seed is not None else random.SystemRandom()
        self.purchased = build_purchased_numbers(settings)
        self.life = RoomLife(
            lock=self._lock,
            clock=clock,
            settings=lambda: self.settings,
            new_id=self._new_id,
            stored_room=self._rooms_get,
            room_by_pin=self._room_by_pin,
            pin_numbers=self._pin_numbers,
        )
        self._clear()
        self._seed_dialin_configs()
        if settings.state_file is not None:
            data = load_json(settings.state_file)
            if data is not None:
                self._restore(data)

    # ----------------------------------------------------------------- internals

    def _clear(self) -> None:
        self._rooms: dict[str, RoomRecord] = {}
        self._room_seq_by_id: dict[str, int] = {}
        self._next_seq = 1
        self._configs: dict[str, DialinConfigRecord] = {}
        self._config_seq_by_id: dict[str, int] = {}
        self._next_config_seq = 1

    def _seed_dialin_configs(self) -> None:
        for number in self.settings.pin_numbers():
            self._add_config(kind="pin_dialin", config={"phone_number": number})

    def _add_config(self, *, kind: str, config: dict[str, Any]) -> DialinConfigRecord:
        record = DialinConfigRecord(id=self._new_id(), type=kind, config=config, seq=self._next_config_seq)
        self._next_config_seq += 1
        self._configs[record.id] = record
        self._config_seq_by_id[record.id] = record.seq
        return record

    def _now(self) -> float:
        return self._clock.now()

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _live_rooms(self, now: float) -> list[RoomRecord]:
        return [room for room in self._rooms.values() if not room.is_expired(now)]

    def _live_room(self, name: str, now: float) -> RoomRecord | None:
        room = self._rooms.get(name)
        if room is None or room.is_expired(now):
            return None
        return room

    def _rooms_get(self, name: str) -> RoomRecord | None:
        return self._rooms.get(name)

    def _room_by_pin(self, pin: str, now: float) -> RoomRecord | None:
        """The live room with this PIN (an expired or deleted room's PIN is free [doc])."""
        for room in self._rooms.values():
            if room.dialin_code == pin and not room.is_expired(now):
                return room
        return None

    def _end_sessions(self, name: str) -> None:
        """Deleting (or replacing) a room ends every session in it, video and phone [doc: delete-room]."""
        if name in self._rooms:
            self.life.end_room(name, reason="room deleted")

    def _purchased_set(self) -> set[str]:
        return {number.number for number in self.purchased}

    def _pin_numbers(self) -> set[str]:
        return {c.config["phone_number"] for c in self._configs.values() if c.type == "pin_dialin"}

    def _default_dialin_number(self) -> str | None:
        pin_numbers = self._pin_numbers()
        for number in self.purchased:
            if number.number in pin_numbers:
                return number.number
        return self.purchased[0].number if self.purchased else None

    def _dialin_number_for(self, dialin: Mapping[str, Any]) -> str | None:
        room_numbers = dialin.get("room_numbers") or []
        if room_numbers:
            return room_numbers[0]["phone_number"]
        return self._default_dialin_number()

    @staticmethod
    def _pins_of(rooms: Sequence[RoomRecord]) -> set[str]:
        return {room.dialin_code for room in rooms if room.dialin_code is not None}

    def _new_pin(self, taken: set[str]) -> str:
        while True:
            pin = str(self._rng.randint(10 ** (PIN_DIGITS - 1), 10**PIN_DIGITS - 1))
            if pin not in taken:
                taken.add(pin)
                return pin

    def _random_name(self, taken: set[str]) -> str:
        alphabet = string.ascii_letters + string.digits
        while True:
            name = "".join(self._rng.choice(alphabet) for _ in range(RANDOM_NAME_LENGTH))
            if name not in taken:
                taken.add(name)
                return name

    def _persist(self) -> None:
        if self.settings.state_file is not None:
            save_json_atomic(self.settings.state_file, self._dump())

    def _dump(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "next_seq": self._next_seq,
            "rooms": [asdict(room) for room in self._rooms.values()],
            "room_seq_by_id": self._room_seq_by_id,
            "next_config_seq": self._next_config_seq,
            "dialin_configs": [asdict(config) for config in self._configs.values()],
            "config_seq_by_id": self._config_seq_by_id,
        }

    def _restore(self, data: Mapping[str, Any]) -> None:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported emulator state version {data.get('version')!r}")
        rooms = sorted((RoomRecord(**room) for room in data["rooms"]), key=lambda room: room.seq)
        self._rooms = {room.name: room for room in rooms}
        self._room_seq_by_id = dict(data["room_seq_by_id"])
        self._next_seq = int(data["next_seq"])
        configs = sorted((DialinConfigRecord(**c) for c in data["dialin_configs"]), key=lambda c: c.seq)
        self._configs = {config.id: config for config in configs}
        self._config_seq_by_id = dict(data["config_seq_by_id"])
        self._next_config_seq = int(data["next_config_seq"])
        log.info("Restored %s rooms and %s dial-in configs", len(self._rooms), len(self._configs))

    # ------------------------------------------------------------------- rendering

    def render_room(self, room: RoomRecord, *, full: bool = False) -> dict[str, Any]:
        """The Daily room object; ``full`` (admin) always includes the dial-in number."""
        config = visible_config(room.properties)
        if room.dialin_code is not None:
            config["dialin_code"] = room.dialin_code
            if room.dialin_number is not None and (full or self.settings.return_dialin_number):
                config["dialin_number"] = room.dialin_number
        return {
            "id": room.id,
            "name": room.name,
            "api_created": True,
            "privacy": room.privacy,
            "url": f"https://{self.settings.domain}.daily.co/{room.name}",
            "created_at": iso_utc(room.created_at),
            "config": config,
        }

    # ----------------------------------------------------------------------- rooms

    def create_rooms(self, bodies: Sequence[Any], *, batch: bool = False) -> list[dict[str, Any]]:
        """Validate every room body, then create all rooms or none.

        In a batch, the error names the first offending room (a duplicate keeps Daily's exact text).
        """
        with self._lock:
            now = self._now()
            live = self._live_rooms(now)
            live_names = {room.name for room in live}
            purchased = self._purchased_set()
            pin_numbers = self._pin_numbers()
            batch_names: set[str] = set()
            specs: list[RoomSpec] = []
            for index, body in enumerate(bodies):
                name = body.get("name") if isinstance(body, dict) else None
                label = f"rooms[{index}]" + (f" ({name})" if isinstance(name, str) else "")
                try:
                    spec = parse_room(body)
                    if spec.name is not None and (spec.name in live_names or spec.name in batch_names):
                        # Daily's exact text, which clients match on: never prefixed.
                        raise _Duplicate(f"a room named {spec.name} already exists")
                    check_dialin_rules(spec.properties, now=now, purchased=purchased, pin_numbers=pin_numbers)
                except _Duplicate as exc:
                    raise invalid(str(exc)) from None
                except ApiError as exc:
                    raise invalid(f"{label}: {exc.info}") if batch else exc from None
                if spec.name is not None:
                    batch_names.add(spec.name)
                specs.append(spec)
            quota = self.settings.room_quota
            if len(live) + len(specs) > quota:
                detail = f"; {len(live)} live rooms, {len(specs)} requested" if batch else ""
                raise invalid(f"maximum number of rooms reached ({quota}){detail}")

            taken_names = live_names | batch_names
            taken_pins = self._pins_of(live)
            issue_pins = not batch or self.settings.batch_returns_pin
            created = []
            for spec in specs:
                name = spec.name if spec.name is not None else self._random_name(taken_names)
                self._end_sessions(name)  # [assumed] people left in an expired room of that name are gone
                self._rooms.pop(name, None)  # an expired room of the same name is gone for good
                room = RoomRecord(
                    id=self._new_id(),
                    name=name,
                    privacy=spec.privacy,
                    seq=self._next_seq,
                    created_at=now,
                    properties=dict(spec.properties),
                )
                self._next_seq += 1
                if "dialin" in room.properties and issue_pins:
                    room.dialin_code = self._new_pin(taken_pins)
                    room.dialin_number = self._dialin_number_for(room.properties["dialin"])
                self._rooms[name] = room
                self._room_seq_by_id[room.id] = room.seq
                created.append(room)
            self._persist()
            return [self.render_room(room) for room in created]

    def update_room(self, name: str, body: Any) -> dict[str, Any]:
        with self._lock:
            now = self._now()
            room = self._live_room(name, now)
            if room is None:
                raise not_found(f"room {name} was not found")
            body = require_object(body)
            privacy = room.privacy
            if "privacy" in body:
                privacy = "public" if body["privacy"] is None else validate_privacy(body["privacy"])
            patch = validate_properties(body.get("properties"))
            merged = merge_dropping_nulls(room.properties, patch)
            dialin_set = patch.get("dialin") is not None
            if "dialin" in merged and (dialin_set or "exp" in patch):
                check_dialin_rules(
                    merged,
                    now=now,
                    purchased=self._purchased_set(),
                    pin_numbers=self._pin_numbers(),
                    check_numbers=dialin_set,
                )
            room.privacy = privacy
            room.properties = merged
            if "dialin" not in merged:
                room.dialin_code = None
                room.dialin_number = None
            elif dialin_set:
                # Re-sending dialin keeps the PIN [ours], unless resend_dialin_new_pin says otherwise.
                # The room itself is live, so its current PIN counts as taken: a new one always differs.
                if room.dialin_code is None or self.settings.resend_dialin_new_pin:
                    if room.dialin_code is not None:
                        log.info("Room %s: dialin re-sent, issuing a new PIN (resend_dialin_new_pin)", name)
                    room.dialin_code = self._new_pin(self._pins_of(self._live_rooms(now)))
                room.dialin_number = self._dialin_number_for(merged["dialin"])
            self._persist()
            return self.render_room(room)

    def get_room(self, name: str) -> dict[str, Any]:
        with self._lock:
            room = self._live_room(name, self._now())
            if room is None:
                raise not_found(f"room {name} was not found")
            return self.render_room(room)

    def find_room(self, name: str) -> RoomRecord | None:
        """The live room record (for tests and the admin API), or None."""
        with self._lock:
            return self._live_room(name, self._now())

    def live_pins(self) -> set[str]:
        """The PINs in use: those of live rooms (an expired or deleted room's PIN is free again)."""
        with self._lock:
            return self._pins_of(self._live_rooms(self._now()))

    def live_room_count(self) -> int:
        with self._lock:
            return len(self._live_rooms(self._now()))

    def list_rooms(self, query: Mapping[str, str]) -> dict[str, Any]:
        with self._lock:
            live = self._live_rooms(self._now())
            newest_first = live[::-1]

            def position_of_id(room_id: str) -> int | None:
                seq = self._room_seq_by_id.get(room_id)
                return None if seq is None else -seq

            page = paginate(
                newest_first,
                query=query,
                maximum=ROOMS_PAGE_MAX,
                position_of_item=lambda room: -room.seq,
                position_of_id=position_of_id,
            )
            return {"total_count": len(live), "data": [self.render_room(room) for room in page]}

    def _refuse_undeletable(self, names: Sequence[str]) -> None:
        for name in names:
            if name in self.settings.undeletable_rooms:
                raise invalid(f"room {name} cannot be deleted")

    def delete_room(self, name: str) -> dict[str, Any]:
        with self._lock:
            self._refuse_undeletable([name])
            room = self._rooms.get(name)
            self._end_sessions(name)
            if room is None or room.is_expired(self._now()):
                if room is not None:
                    del self._rooms[name]
                    self._persist()
                raise not_found(f"room {name} was not found")
            del self._rooms[name]
            self._persist()
            return {"deleted": True, "name": name}

    def delete_rooms(self, names: Sequence[str]) -> int:
        """``DELETE /batch/rooms``: all or nothing - every check passes before a room is deleted."""
        with self._lock:
            now = self._now()
            self._refuse_undeletable(names)
            if self.settings.batch_delete_unknown_is_error:
                unknown = [n for n in names if n not in self._rooms or self._rooms[n].is_expired(now)]
                if unknown:
                    raise not_found(f"room {unknown[0]} was not found")
            deleted = 0
            for name in dict.fromkeys(names):
                self._end_sessions(name)
                room = self._rooms.pop(name, None)
                if room is not None and not room.is_expired(now):
                    deleted += 1
            self._persist()
            return deleted

    # --------------------------------------------------------- domain dial-in configs

    def _config_or_404(self, config_id: str) -> DialinConfigRecord:
        config = self._configs.get(config_id)
        if config is None:
            raise not_found(f"domain-dialin-config {config_id} was not found")
        return config

    def _check_config_number(self, number: str, *, exclude_id: str | None = None) -> None:
        if number not in self._purchased_set():
            raise invalid(f"phone_number {number} is not a purchased number of this domain")
        for other in self._configs.values():
            if other.id != exclude_id and other.config["phone_number"] == number:
                raise invalid(f"phone_number {number} is already in a dial-in config ({other.type}, {other.id})")

    def create_dialin_config(self, body: Any) -> dict[str, Any]:
        with self._lock:
            kind, fields = parse_dialin_config(body)
            number = fields.pop("phone_number")
            self._check_config_number(number)
            record = self._add_config(kind=kind, config={"phone_number": number, **fields})
            self._persist()
            return record.render()

    def get_dialin_config(self, config_id: str) -> dict[str, Any]:
        with self._lock:
            return self._config_or_404(config_id).render()

    def update_dialin_config(self, config_id: str, body: Any) -> dict[str, Any]:
        with self._lock:
            record = self._config_or_404(config_id)
            _, fields = parse_dialin_config(body, existing_type=record.type)
            if "phone_number" in fields:
                self._check_config_number(fields["phone_number"], exclude_id=record.id)
            config = merge_dropping_nulls(record.config, fields)
            record.config = config
            self._persist()
            return record.render()

    def delete_dialin_config(self, config_id: str) -> dict[str, Any]:
        with self._lock:
            self._config_or_404(config_id)
            del self._configs[config_id]
            self._persist()
            return {"status": "deleted"}

    def list_dialin_configs(self, query: Mapping[str, str]) -> dict[str, Any]:
        with self._lock:
            configs = list(self._configs.values())
            if query.get("type"):
                configs = [c for c in configs if c.type == query["type"]]
            if query.get("phone_number"):
                try:
                    wanted = normalize_phone_number(query["phone_number"])
                except ValueError:
                    wanted = query["phone_number"]
                configs = [c for c in configs if c.config["phone_number"] == wanted]
            if query.get("name_prefix"):
                configs = [c for c in configs if c.config.get("name_prefix") == query["name_prefix"]]
            page = paginate(
                configs,
                query=query,
                maximum=DIALIN_CONFIGS_PAGE_MAX,
                position_of_item=lambda c: c.seq,
                position_of_id=self._config_seq_by_id.get,
            )
            return {"total_count": len(configs), "data": [c.render() for c in page]}

    # -------------------------------------------------------------- phone numbers

    def list_purchased_numbers(self, query: Mapping[str, str]) -> dict[str, Any]:
        numbers = list(self.purchased)
        wanted = query.get("filter_number")
        if wanted:
            digits = wanted.strip().lstrip("+")
            numbers = [n for n in numbers if digits in n.number]
        by_id = {n.id: n.index for n in self.purchased}
        page = paginate(
            numbers,
            query=query,
            maximum=PHONE_NUMBERS_PAGE_MAX,
            position_of_item=lambda n: n.index,
            position_of_id=by_id.get,
        )
        return {"total_count": len(numbers), "data": [n.render() for n in page]}

    # ----------------------------------------------------------------------- admin

    def _admin_render(self, room: RoomRecord, now: float) -> dict[str, Any]:
        return {**self.render_room(room, full=True), "expired": room.is_expired(now)}

    def _stored_room(self, name: str) -> RoomRecord:
        room = self._rooms.get(name)
        if room is None:
            raise not_found(f"room {name} was not found")
        return room

    def admin_room(self, name: str) -> dict[str, Any]:
        """A stored room (live or expired, PIN and number always shown), as in :meth:`snapshot`."""
        with self._lock:
            return self._admin_render(self._stored_room(name), self._now())

    def admin_delete_room(self, name: str) -> dict[str, Any]:
        """Forget a stored room, live or expired (no rate limit, not counted); frees its name and PIN."""
        with self._lock:
            self._stored_room(name)
            self._end_sessions(name)
            del self._rooms[name]
            self._persist()
            return {"deleted": True, "name": name}

    def admin_update_room(self, name: str, body: Any) -> dict[str, Any]:
        """Change a stored room "behind the client's back", bypassing the API's dial-in rules.

        Body (all optional): ``privacy``; ``properties`` (type-checked, merged, ``null`` removes; removing
        ``dialin`` drops the PIN, as the API does); ``dialin_code`` (11 digits, not held by another live
        room; ``null`` removes the PIN); ``new_pin: true`` (a fresh PIN); ``dialin_number`` (E.164 or ``null``).
        """
        with self._lock:
            room = self._stored_room(name)
            body = require_object(body)
            new_pin = _admin_new_pin_flag(body)
            now = self._now()
            taken = self._pins_of([other for other in self._live_rooms(now) if other is not room])
            code = _admin_pin(body, room.dialin_code, taken, name)
            number = _admin_number(body, room.dialin_number)
            privacy = room.privacy
            if "privacy" in body:
                privacy = "public" if body["privacy"] is None else validate_privacy(body["privacy"])
            properties = merge_dropping_nulls(room.properties, validate_properties(body.get("properties")))
            if "dialin" not in properties and "dialin" in room.properties and "dialin_code" not in body:
                code = number = None
            if new_pin:
                code = self._new_pin(taken | ({code} if code is not None else set()))
            if code is not None and number is None and "dialin_number" not in body:
                number = self._dialin_number_for(properties.get("dialin") or {})
            room.privacy, room.properties, room.dialin_code, room.dialin_number = privacy, properties, code, number
            self._persist()
            log.info("Room %s changed through the admin API: %s", name, sorted(body))
            return self._admin_render(room, now)

    def snapshot(self) -> dict[str, Any]:
        """Everything, for assertions: rooms (incl. PINs and stored-but-expired ones), configs, numbers."""
        with self._lock:
            now = self._now()
            return {
                "rooms": [self._admin_render(room, now) for room in self._rooms.values()],
                "dialin_configs": [config.render() for config in self._configs.values()],
                "purchased_numbers": [number.render() for number in self.purchased],
                **self.life.snapshot(),
            }

    def reset(self) -> None:
        """Forget all rooms and configs; seed the PIN-flow configs from the settings again."""
        with self._lock:
            if self.settings.seed is not None:
                self._rng = random.Random(self.settings.seed)
            self._clear()
            self.life.clear()
            self._seed_dialin_configs()
            self._persist()

    def save(self) -> None:
        with self._lock:
            self._persist()


# -- the admin API's room changes, one field each -------------------------------------------------
def _admin_new_pin_flag(body: dict[str, Any]) -> bool:
    unknown = sorted(set(body) - ADMIN_ROOM_FIELDS)
    if unknown:
        raise invalid(f"unknown fields {unknown}; allowed: {sorted(ADMIN_ROOM_FIELDS)}")
    new_pin = body.get("new_pin", False)
    if not isinstance(new_pin, bool):
        raise invalid("new_pin must be a boolean")
    if new_pin and "dialin_code" in body:
        raise invalid("give dialin_code or new_pin, not both")
    return new_pin


def _admin_pin(body: dict[str, Any], current: str | None, taken: set[str], name: str) -> str | None:
    if body.get("dialin_code") is not None:
        code = parse_pin(body["dialin_code"])
        if code in taken:
            raise invalid(f"dialin_code is already the PIN of another live room (room {name})")
        return code
    return None if "dialin_code" in body else current


def _admin_number(body: dict[str, Any], current: str | None) -> str | None:
    if body.get("dialin_number") is not None:
        try:
            return normalize_phone_number(body["dialin_number"])
        except ValueError as exc:
            raise invalid(f"dialin_number: {exc}") from None
    return None if "dialin_number" in body else current
