"""Rules about room specs that hold before and after talking to Daily.

* :func:`validate_room_create` - refuse locally what Daily would refuse (name charset and length,
  ``exp`` rules of dial-in rooms), so one bad row never fails a whole all-or-nothing batch;
  :func:`validate_room_creates` does it for many specs and names every refused one. The hook
  applies them once, at its public methods; nothing else calls them on a spec bound for Daily.
* :func:`room_differences` - which requested settings an existing room does not have, used when a
  create finds the name taken: reuse the room, and update it if its settings drifted.
* :func:`update_properties` - the smallest update that removes those differences.

PIN stability: Daily does not document whether re-sending ``properties.dialin`` on an update keeps
the room's PIN. So an update carries ``dialin`` only when a dial-in field really differs, and a
property Daily left out of ``config`` because it has its default value is not a difference
(Daily lists only properties that differ from their defaults).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable
from typing import Any

from airflow_provider_daily.errors import DailyInvalidSpecsError, DailyValidationError
from airflow_provider_daily.models import ROOM_NAME_PATTERN, Room, RoomCreate

MAX_DIALIN_LIFETIME_DAYS = 365  # Daily: a PSTN-enabled room's exp must be less than 365 days away [doc]
MAX_DIALIN_LIFETIME_SECONDS = MAX_DIALIN_LIFETIME_DAYS * 24 * 3600
# Daily measures "< 365 days" on its own clock when the request lands: keep a margin for clock
# skew and for the time a large run takes between validation and the call.
DIALIN_LIFETIME_MARGIN_SECONDS = 6 * 3600


def validate_room_name(name: Any) -> str:
    if not isinstance(name, str) or not ROOM_NAME_PATTERN.fullmatch(name):
        raise DailyValidationError(
            f"invalid room name {name!r}: use 1 to 128 characters from A-Z, a-z, 0-9, '_' and '-'"
        )
    return name


def latest_allowed_exp(now: float | None = None) -> int:
    """The latest ``exp`` (unix seconds) a dial-in room may have if created now."""
    now = time.time() if now is None else now
    return int(now + MAX_DIALIN_LIFETIME_SECONDS - DIALIN_LIFETIME_MARGIN_SECONDS)


def validate_room_create(spec: RoomCreate, *, now: float | None = None) -> RoomCreate:
    """Raise :class:`DailyValidationError` with the reason if Daily would refuse ``spec``."""
    now = time.time() if now is None else now
    validate_room_name(spec.name)
    props = spec.properties
    if props.nbf is not None and props.exp is not None and props.nbf >= props.exp:
        raise DailyValidationError(f"room {spec.name}: nbf ({props.nbf}) must be before exp ({props.exp})")
    if props.dialin is not None:
        if props.exp is None:
            raise DailyValidationError(f"room {spec.name}: a dial-in room needs an exp")
        if props.exp <= now:
            raise DailyValidationError(f"room {spec.name}: exp {props.exp} is not in the future")
        if props.exp > latest_allowed_exp(now):
            raise DailyValidationError(
                f"room {spec.name}: exp {props.exp} is 365 days or more away; "
                "Daily requires dial-in rooms to expire within 365 days"
            )
    return spec


def validate_room_creates(specs: Iterable[RoomCreate], *, now: float | None = None) -> None:
    """Raise :class:`DailyInvalidSpecsError` naming every spec of ``specs`` Daily would refuse."""
    now = time.time() if now is None else now
    reasons: dict[str, str] = {}
    for spec in specs:
        try:
            validate_room_create(spec, now=now)
        except DailyValidationError as exc:
            reasons[spec.name] = str(exc)
    if reasons:
        raise DailyInvalidSpecsError(reasons=reasons)


# Default values of the properties this provider sets: Daily leaves a property out of a room's
# ``config`` when it has its default [doc], so "missing" equals "this value". [ours: the dial-in
# defaults are not documented; these are the values the emulator assumes]
PROPERTY_DEFAULTS: dict[str, Any] = {"eject_at_room_exp": False}
DIALIN_DEFAULTS: dict[str, Any] = {"wait_for_meeting_start": False}


def _same(wanted: Any, have: Any, default: Any) -> bool:
    if have is None:
        return wanted == default
    if isinstance(wanted, int | float) and isinstance(have, int | float) and not isinstance(have, bool):
        return float(wanted) == float(have)
    return wanted == have


def room_differences(room: Room, spec: RoomCreate) -> dict[str, tuple[Any, Any]]:
    """``{property: (requested, actual)}`` for each requested setting the room lacks.

    An omitted property counts as its default value, never as drift."""
    actual = room.config.model_dump(mode="json", exclude_none=True)
    diffs: dict[str, tuple[Any, Any]] = {}
    for key, wanted in spec.properties.to_api().items():
        have = actual.get(key)
        if key == "dialin" and isinstance(wanted, dict):
            have_dialin = have if isinstance(have, dict) else {}
            if not all(_same(v, have_dialin.get(k), DIALIN_DEFAULTS.get(k)) for k, v in wanted.items()):
                diffs[key] = (wanted, have)
        elif not _same(wanted, have, PROPERTY_DEFAULTS.get(key)):
            diffs[key] = (wanted, have)
    if spec.privacy is not None and room.privacy not in (None, spec.privacy):
        diffs["privacy"] = (spec.privacy, room.privacy)
    return diffs


def update_properties(diffs: dict[str, tuple[Any, Any]], spec: RoomCreate) -> dict[str, Any]:
    """The ``properties`` of an update that fixes ``diffs`` and nothing else.

    ``dialin`` goes out only when it differs (then with ``exp``, which Daily requires of a dial-in
    room), so an update of ``nbf`` or ``exp`` never risks the PIN."""
    requested = spec.properties.to_api()
    props = {key: requested[key] for key in diffs if key in requested}
    if "dialin" in props and "exp" in requested:
        props["exp"] = requested["exp"]
    return props


# -- deterministic room names ------------------------------------------------------------------
MAX_NAME = 128  # Daily's limit on a room name
_PLAIN_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
HASH_MARK = "__"  # only hashed names contain it after the prefix; plain ids never do
HASH_HEX = 16


def room_name_for(meeting_id: str, prefix: str) -> str:
    """A room name for an external key (a meeting id): ``<prefix>-<key>``, injective over keys.

    The idempotency key of every room made from a table row: the same key always names the same
    room, and two keys never share one (so never one PIN).

    * An id made only of characters Daily allows (``A-Z a-z 0-9 _ -``), without ``__``, that fits
      in 128 characters is used as it is: ``M1001`` -> ``mtg-M1001``.
    * Every other id (spaces, other characters, ``__``, too long) becomes a readable slug, then
      ``__`` and 16 hex digits of the SHA-256 of the exact id: ``'x y'`` ->
      ``mtg-x-y__6b2e...``. Plain names never contain ``__`` after the prefix, so no plain id can
      take a hashed name, and two hashed names are equal only if SHA-256 collides in 64 bits.

    Ids are taken exactly as stored: ``' M1'``, ``'M1 '`` and ``'M1'`` are three meetings.
    """
    room_max = MAX_NAME - len(prefix) - 1
    if _PLAIN_ID.fullmatch(meeting_id) and HASH_MARK not in meeting_id and len(meeting_id) <= room_max:
        return f"{prefix}-{meeting_id}"
    digest = hashlib.sha256(meeting_id.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_HEX]
    slug = _UNSAFE.sub("-", meeting_id).replace("_", "-").strip("-")
    slug = slug[: max(0, room_max - len(HASH_MARK) - HASH_HEX)]
    return f"{prefix}-{slug}{HASH_MARK}{digest}"


SERIES_MARK = "_s"  # series rooms are ``<prefix>_s-<series>``: never a meeting room's ``<prefix>-...``


def series_room_name_for(series_id: str, prefix: str) -> str:
    """The one room of a recurring series: ``<prefix>_s-<series>``, injective over series ids.

    :func:`room_name_for` in the namespace ``<prefix>_s``: the same rules (plain ids as they are,
    every other id - a long one too - as a slug plus 16 hex digits of its SHA-256), so two series
    never share a room. And no series room is ever a meeting room of the same prefix: a meeting
    room has ``-`` right after the prefix, a series room ``_``."""
    return room_name_for(series_id, f"{prefix}{SERIES_MARK}")
