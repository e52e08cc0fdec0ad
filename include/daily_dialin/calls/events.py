"""Daily's webhook events as this application keeps them: the envelope, which ones are ours, and
caller numbers masked before anything is stored.

Envelope [doc]: ``{version, type, id, payload, event_ts}``; ``id`` is unique per event (the dedupe
key). The types kept are :data:`EVENT_TYPES` (phone sessions are the ``dialin.*`` ones; there is
no phone flag in ``participant.joined`` [doc]); any other type is acknowledged and ignored.

**Privacy.** ``sip_from`` is the caller's number (personal data). It never leaves this module
whole: :func:`sanitized_payload` replaces it (and a ``display_name``/``user_name`` that looks like
a number) with :func:`mask_number` - country code and last two digits, ``+1***00`` -, masks
number-like runs in ``error_msg``, and drops ``sip_headers`` (they repeat the number). Only the
sanitized payload is stored, logged or handed on.

May import: the standard library and pydantic.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "DIALIN_TYPES",
    "EVENT_TYPES",
    "BadEvent",
    "WebhookEvent",
    "is_our_room",
    "is_ping",
    "mask_number",
    "parse_event",
    "sanitized_payload",
    "scrub_numbers",
]

DIALIN_TYPES = frozenset({"dialin.connected", "dialin.stopped", "dialin.warning", "dialin.error"})
EVENT_TYPES = frozenset({*DIALIN_TYPES, "participant.joined", "participant.left", "meeting.started", "meeting.ended"})
PING = {"test": "test"}
SERIES_MARK = "_s"  # a series room is <prefix>_s-<series> (airflow_provider_daily.rooms.SERIES_MARK)
MASK = "***"
_NUMBER_LIKE = re.compile(r"^\s*(?:tel:|sip:)?\+?[\d\s().\-/]{7,}(?:@.*)?$")
_NUMBER_FIELDS = ("display_name", "user_name")
_NUMBER_IN_TEXT = re.compile(r"\+?\d[\d\s().\-/]{5,}\d")
_TEXT_FIELDS = ("error_msg",)
_DROPPED_FIELDS = ("sip_headers",)
# ITU-T E.164 country codes: 1 and 7 are one digit; these two-digit ones; every other is three digits
_TWO_DIGIT_CODES = frozenset(
    map(
        str,
        (20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58),
    )
) | frozenset(map(str, (60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98)))


class BadEvent(ValueError):
    """A signed body that is not a Daily event (not JSON, not an object, no ``id``/``type``)."""


class WebhookEvent(BaseModel):
    """One event, its payload already sanitized (no caller number)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100)
    version: str | None = None
    event_ts: float | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    @property
    def room(self) -> str | None:
        room = self.payload.get("room")
        return room if isinstance(room, str) and room else None

    @property
    def known(self) -> bool:
        return self.type in EVENT_TYPES

    def __repr__(self) -> str:
        return f"WebhookEvent(id={self.id!r}, type={self.type!r}, room={self.room!r})"


def is_ping(body: bytes) -> bool:
    """Whether ``body`` is Daily's test request ``{"test":"test"}`` [client] (any spacing)."""
    if len(body) > 64:
        return False
    try:
        return json.loads(body) == PING
    except ValueError:
        return False


def parse_event(body: bytes) -> WebhookEvent:
    """The event in a (verified) body, its payload sanitized; :class:`BadEvent` when it is none."""
    try:
        data = json.loads(body)
    except ValueError:
        raise BadEvent("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadEvent("the body is not a JSON object")
    payload = data.get("payload")
    if payload is not None and not isinstance(payload, dict):
        raise BadEvent("payload is not an object")
    try:
        return WebhookEvent.model_validate(
            {**data, "id": _text(data.get("id")), "payload": sanitized_payload(payload or {})}
        )
    except ValidationError as exc:
        fields = sorted({".".join(map(str, err["loc"])) for err in exc.errors()})
        raise BadEvent(f"not a Daily event ({', '.join(fields)})") from None


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def is_our_room(room: str | None, prefix: str) -> bool:
    """Whether ``room`` is one this deployment names: ``<prefix>-...`` or a series room ``<prefix>_s-...``."""
    return bool(room) and (room.startswith(f"{prefix}-") or room.startswith(f"{prefix}{SERIES_MARK}-"))


def mask_number(value: Any) -> str | None:
    """A caller number as ``+<country code>***<last two digits>`` (``+1***00``); None for nothing.

    Any text with fewer than 4 digits becomes ``***`` (an anonymous caller, a SIP name): never the
    original. The country code is read by E.164's rules (1 and 7 one digit, a list of two-digit
    codes, else three), so ``+4930...`` gives ``+49***..``."""
    if value is None or value == "":
        return None
    text = str(value).split("@", 1)[0]
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 4:
        return MASK
    if digits[0] in "17":
        code = digits[0]
    elif digits[:2] in _TWO_DIGIT_CODES:
        code = digits[:2]
    else:
        code = digits[:3]
    if len(digits) < len(code) + 4:  # too short to keep the code and two digits without giving most of it
        return MASK
    return f"+{code}{MASK}{digits[-2:]}"


def _looks_like_number(value: Any) -> bool:
    return isinstance(value, str) and bool(_NUMBER_LIKE.match(value)) and sum(ch.isdigit() for ch in value) >= 7


def sanitized_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` without the caller's number: ``sip_from`` masked, number-like names masked,
    ``sip_headers`` dropped. Nested values are kept as they are (Daily sends flat payloads)."""
    clean = {key: value for key, value in payload.items() if key not in _DROPPED_FIELDS}
    if "sip_from" in clean:
        clean["sip_from"] = mask_number(clean["sip_from"])
    for key in _NUMBER_FIELDS:
        if _looks_like_number(clean.get(key)):
            clean[key] = mask_number(clean[key])
    for key in _TEXT_FIELDS:
        if isinstance(clean.get(key), str):
            clean[key] = scrub_numbers(clean[key])
    return clean


def scrub_numbers(text: str) -> str:
    """``text`` with every phone-number-like run of 7 or more digits masked (free text such as
    ``error_msg`` may quote the caller)."""
    return _NUMBER_IN_TEXT.sub(
        lambda m: m.group(0) if sum(ch.isdigit() for ch in m.group(0)) < 7 else mask_number(m.group(0)) or MASK, text
    )
