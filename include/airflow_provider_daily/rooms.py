"""Rules about room specs that hold before and after talking to Daily.

* :func:`validate_room_create` - refuse locally what Daily would refuse (name charset and length,
  ``exp`` rules of dial-in rooms), so one bad row never fails a whole all-or-nothing batch.
* :func:`room_differences` - which requested settings an existing room does not have, used when a
  create finds the name taken: reuse the room, and update it if its settings drifted.
"""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_daily.errors import DailyValidationError
from airflow_provider_daily.models import ROOM_NAME_PATTERN, Room, RoomCreate

MAX_DIALIN_LIFETIME_SECONDS = 365 * 24 * 3600
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


def _requested(spec: RoomCreate) -> dict[str, Any]:
    return spec.properties.to_api()


def room_differences(room: Room, spec: RoomCreate) -> dict[str, tuple[Any, Any]]:
    """``{property: (requested, actual)}`` for each requested setting the room lacks."""
    actual = room.config.model_dump(mode="json", exclude_none=True)
    diffs: dict[str, tuple[Any, Any]] = {}
    for key, wanted in _requested(spec).items():
        have = actual.get(key)
        if key == "dialin" and isinstance(wanted, dict):
            have_dialin = have if isinstance(have, dict) else {}
            if any(have_dialin.get(k) != v for k, v in wanted.items()):
                diffs[key] = (wanted, have)
        elif have != wanted:
            diffs[key] = (wanted, have)
    if spec.privacy is not None and room.privacy not in (None, spec.privacy):
        diffs["privacy"] = (spec.privacy, room.privacy)
    return diffs
