"""Default values of Daily room properties: a room's ``config`` lists only the properties that differ from them.

Daily returns "only the properties that differ from the defaults" [doc], and the PIN guide echoes
``config.dialin`` with only the fields that were set. One table per level (room properties, and the
fields inside ``properties.dialin``) says what the default of each known property is; ``ABSENT``
means the property has no default value (unset is the default), so any value that is set is listed.
A property set to its default value is left out of ``config``; unknown properties are always listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final


class _Absent:
    """Marker: the property's default is "not set" (any value that is set differs from it)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()

PROPERTY_DEFAULTS: Final[Mapping[str, Any]] = {
    "nbf": ABSENT,  # [doc] no earliest join time
    "exp": ABSENT,  # [doc] the room never expires
    "max_participants": ABSENT,  # the plan's limit applies
    "eject_at_room_exp": False,  # [doc]
    "dialin": ABSENT,  # PIN dial-in off
}

DIALIN_DEFAULTS: Final[Mapping[str, Any]] = {
    "display_name": ABSENT,
    "room_numbers": ABSENT,  # the domain's default number
    # [ours] Daily documents no default for wait_for_meeting_start; the emulator takes False (the
    # call is dropped when the meeting has not started) and leaves a False out of config.dialin.
    "wait_for_meeting_start": False,
}


def is_default(key: str, value: Any, defaults: Mapping[str, Any]) -> bool:
    """True if ``value`` is the known default of ``key`` (same type, so ``0`` is not ``False``)."""
    default = defaults.get(key, ABSENT)
    return default is not ABSENT and type(value) is type(default) and value == default


def visible_dialin(dialin: Mapping[str, Any]) -> dict[str, Any]:
    """``config.dialin``: the fields that were set, without those equal to their default."""
    return {key: value for key, value in dialin.items() if not is_default(key, value, DIALIN_DEFAULTS)}


def visible_config(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The properties that differ from their defaults, as listed in a room's ``config``."""
    config: dict[str, Any] = {}
    for key, value in properties.items():
        if is_default(key, value, PROPERTY_DEFAULTS):
            continue
        config[key] = visible_dialin(value) if key == "dialin" and isinstance(value, Mapping) else value
    return config


# The domain's configuration as ``GET /`` shows it. Field names as in Daily's API clients [client];
# the values are the emulator's [ours] and cannot be changed (``POST /`` is not emulated).
DOMAIN_CONFIG: Final[Mapping[str, Any]] = {
    "hide_daily_branding": False,
    "redirect_on_meeting_exit": "",
    "hipaa": False,
    "intercom_auto_record": False,
    "lang": "en",
}
