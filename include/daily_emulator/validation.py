"""Request validation shared by single and batch room creation, room updates and dial-in configs."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from daily_emulator.errors import invalid
from daily_emulator.settings import normalize_phone_number

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_NAME_LENGTH = 128
PRIVACY_VALUES = ("public", "private")
DIALIN_MAX_EXP_SECONDS = 365 * 24 * 3600
PIN_DIGITS = 11
PIN_PATTERN = re.compile(rf"^[0-9]{{{PIN_DIGITS}}}$")

DIALIN_TYPES = ("pin_dialin", "pinless_dialin")
DIALIN_COMMON_FIELDS = ("phone_number", "name_prefix")
DIALIN_PIN_FIELDS = ("ivr_greeting",)
DIALIN_PINLESS_FIELDS = ("hmac", "room_creation_api", "hold_music_url", "timeout_config")


@dataclass(frozen=True, kw_only=True)
class RoomSpec:
    """A validated room creation request (the dial-in rules that need the domain are checked later)."""

    name: str | None
    privacy: str
    properties: dict[str, Any]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_timestamp(value: Any) -> bool:
    """A unix time in seconds: an int or a finite float (real clients send ``time.time() + 3600``), never a bool."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def require_object(body: Any, *, what: str = "request body") -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise invalid(f"{what} must be a JSON object")
    return body


def validate_name(name: Any) -> str:
    if not isinstance(name, str):
        raise invalid("name must be a string")
    if not name:
        raise invalid("name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise invalid(f"name must be at most {MAX_NAME_LENGTH} characters (got {len(name)})")
    if not NAME_PATTERN.match(name):
        raise invalid(f"name {name!r} may only contain letters, digits, '-' and '_'")
    return name


def validate_privacy(privacy: Any) -> str:
    if privacy not in PRIVACY_VALUES:
        raise invalid(f"privacy must be 'public' or 'private' (got {privacy!r})")
    return privacy


def parse_pin(value: Any) -> str:
    """A PIN (``config.dialin_code``): 11 digits; an int is zero-padded to an 11-digit string."""
    if _is_int(value) and 0 <= value < 10**PIN_DIGITS:
        return f"{value:0{PIN_DIGITS}d}"
    if isinstance(value, str) and PIN_PATTERN.fullmatch(value):
        return value
    raise invalid(f"dialin_code must be {PIN_DIGITS} digits (got {value!r})")


def validate_dialin(value: Any) -> dict[str, Any]:
    """Check ``properties.dialin``; returns a copy with ``room_numbers`` normalized to E.164 strings."""
    if not isinstance(value, dict):
        raise invalid("properties.dialin must be an object")
    result = dict(value)
    if "display_name" in value and not isinstance(value["display_name"], str):
        raise invalid("properties.dialin.display_name must be a string")
    if "wait_for_meeting_start" in value and not isinstance(value["wait_for_meeting_start"], bool):
        raise invalid("properties.dialin.wait_for_meeting_start must be a boolean")
    if "room_numbers" in value:
        numbers = value["room_numbers"]
        if not isinstance(numbers, list):
            raise invalid('properties.dialin.room_numbers must be a list of {"phone_number": "+1..."}')
        normalized = []
        for entry in numbers:
            if not isinstance(entry, dict) or "phone_number" not in entry:
                raise invalid('properties.dialin.room_numbers entries must be {"phone_number": "+1..."}')
            try:
                phone = normalize_phone_number(entry["phone_number"])
            except ValueError as exc:
                raise invalid(f"properties.dialin.room_numbers: {exc}") from None
            normalized.append({**entry, "phone_number": phone})
        result["room_numbers"] = normalized
    return result


def validate_property(key: str, value: Any) -> Any:
    """Check one known room property (unknown properties pass through unchanged)."""
    if key in ("nbf", "exp") and not is_timestamp(value):
        raise invalid(f"properties.{key} must be a number (unix seconds)")
    if key == "eject_at_room_exp" and not isinstance(value, bool):
        raise invalid("properties.eject_at_room_exp must be a boolean")
    if key == "max_participants" and (not _is_int(value) or value < 1):
        raise invalid("properties.max_participants must be a positive integer")
    if key == "dialin":
        return validate_dialin(value)
    return value


def validate_properties(props: Any) -> dict[str, Any]:
    """Validate a properties object; ``null`` values are kept (they mean "reset to default")."""
    props = require_object(props, what="properties")
    return {key: None if value is None else validate_property(key, value) for key, value in props.items()}


def parse_room(body: Any) -> RoomSpec:
    """Validate a ``POST /rooms`` body (or one entry of ``POST /batch/rooms``)."""
    body = require_object(body)
    name = body.get("name")
    if name is not None:
        validate_name(name)
    privacy = body.get("privacy")
    privacy = "public" if privacy is None else validate_privacy(privacy)
    properties = {k: v for k, v in validate_properties(body.get("properties")).items() if v is not None}
    return RoomSpec(name=name, privacy=privacy, properties=properties)


def check_dialin_rules(
    properties: Mapping[str, Any],
    *,
    now: float,
    purchased: Collection[str],
    pin_numbers: Collection[str],
    check_numbers: bool = True,
) -> None:
    """The PSTN rules for a room whose (merged) properties contain ``dialin``."""
    if "dialin" not in properties:
        return
    exp = properties.get("exp")
    if exp is None:
        raise invalid("properties.exp is required for rooms with dialin: it must be less than 365 days from now")
    if exp <= now:
        raise invalid(f"properties.exp ({exp}) is in the past: rooms with dialin need an exp in the future")
    if exp - now >= DIALIN_MAX_EXP_SECONDS:
        raise invalid(f"properties.exp ({exp}) must be less than 365 days from now for rooms with dialin")
    if not check_numbers:
        return
    for entry in properties["dialin"].get("room_numbers", []):
        number = entry["phone_number"]
        if number not in purchased:
            raise invalid(f"properties.dialin.room_numbers: {number} is not a purchased number of this domain")
        if number not in pin_numbers:
            raise invalid(f"properties.dialin.room_numbers: {number} is not assigned to the PIN dial-in flow")


def _check_dialin_config_field(key: str, value: Any) -> Any:
    if key == "phone_number":
        try:
            return normalize_phone_number(value)
        except ValueError as exc:
            raise invalid(str(exc)) from None
    if key == "ivr_greeting":
        if not isinstance(value, dict) or not isinstance(value.get("message"), str):
            raise invalid('ivr_greeting must be {"message": "<text>"}')
        return value
    if key == "timeout_config":
        if not isinstance(value, dict):
            raise invalid("timeout_config must be an object")
        return value
    if key in ("name_prefix", "hmac", "room_creation_api", "hold_music_url") and not isinstance(value, str):
        raise invalid(f"{key} must be a string")
    return value


def parse_dialin_config(body: Any, *, existing_type: str | None = None) -> tuple[str, dict[str, Any]]:
    """Validate a ``/domain-dialin-config`` create (``existing_type`` None) or PUT body.

    Returns ``(type, fields)``; in a PUT, a field set to ``None`` means "remove it".
    """
    body = require_object(body)
    kind = body.get("type")
    if existing_type is None:
        if kind not in DIALIN_TYPES:
            raise invalid(f"type must be 'pin_dialin' or 'pinless_dialin' (got {kind!r})")
        if body.get("phone_number") is None:
            raise invalid("phone_number is required")
    else:
        if kind is not None and kind != existing_type:
            raise invalid(f"type cannot be changed (is {existing_type}); delete the config and create a new one")
        kind = existing_type
        if "phone_number" in body and body["phone_number"] is None:
            raise invalid("phone_number cannot be removed")
    wrong = DIALIN_PINLESS_FIELDS if kind == "pin_dialin" else DIALIN_PIN_FIELDS
    fields: dict[str, Any] = {}
    for key, value in body.items():
        if key == "type":
            continue
        if key in wrong:
            raise invalid(f"{key} is not allowed for {kind} (it belongs to the other dial-in flow)")
        fields[key] = None if value is None else _check_dialin_config_field(key, value)
    if existing_type is None:
        fields = {k: v for k, v in fields.items() if v is not None}
    return kind, fields
