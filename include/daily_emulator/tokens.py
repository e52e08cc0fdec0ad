"""Meeting tokens: ``POST /meeting-tokens`` mints them, ``GET /meeting-tokens/:token`` validates them.

A Daily meeting token is an HS256 JWT signed with one of the domain's API keys, its payload in the
abbreviated claim names of self-signed tokens [doc: self-signing tokens]: ``r`` room name, ``o`` owner,
``exp``, ``nbf``, ``ejt`` eject at token exp, ``eje`` eject after elapsed, ``u`` user name, ``ud`` user id,
``d`` domain id, ``iat`` issued at, and a few more (``TOKEN_PROPERTIES``). The emulator mints with the key
that made the call; it validates emulator-minted and self-signed tokens alike: signed with any currently
accepted key, ``d`` (when present) equal to the domain id, not expired and, unless ``ignoreNbf``, not
before ``nbf`` [doc], all on the emulator's clock. Any failure is one error [ours]: 400
``{"error": "invalid-request-error", "info": "token not valid"}``. Tokens are secrets: never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

from daily_emulator.errors import ApiError, invalid
from daily_emulator.validation import is_timestamp, require_object, validate_name

log = logging.getLogger(__name__)

TOKEN_ALGORITHM = "HS256"
INVALID_TOKEN_INFO = "token not valid"  # [ours]: Daily's wording is undocumented
DOMAIN_ID_CLAIM = "d"
ISSUED_AT_CLAIM = "iat"


@dataclass(frozen=True, kw_only=True)
class TokenProperty:
    """One token property: its name in the API, its abbreviated claim, and a check of its value."""

    name: str
    claim: str
    expected: str
    check: Callable[[Any], bool]


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_seconds(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_room_name(value: Any) -> bool:
    try:
        validate_name(value)
    except ApiError:
        return False
    return True


_BOOL, _STR = "a boolean", "a string"

# The properties the emulator knows, with their abbreviations [doc]; anything else is refused.
TOKEN_PROPERTIES: tuple[TokenProperty, ...] = (
    TokenProperty(
        name="room_name", claim="r", expected="a valid room name ([A-Za-z0-9_-], 1 to 128)", check=_is_room_name
    ),
    TokenProperty(name="is_owner", claim="o", expected=_BOOL, check=_is_bool),
    TokenProperty(name="exp", claim="exp", expected="a number (unix seconds)", check=is_timestamp),
    TokenProperty(name="nbf", claim="nbf", expected="a number (unix seconds)", check=is_timestamp),
    TokenProperty(name="eject_at_token_exp", claim="ejt", expected=_BOOL, check=_is_bool),
    TokenProperty(
        name="eject_after_elapsed", claim="eje", expected="a non-negative integer (seconds)", check=_is_seconds
    ),
    TokenProperty(name="user_name", claim="u", expected=_STR, check=_is_str),
    TokenProperty(name="user_id", claim="ud", expected=_STR, check=_is_str),
    TokenProperty(name="enable_screenshare", claim="ss", expected=_BOOL, check=_is_bool),
    TokenProperty(name="start_video_off", claim="vo", expected=_BOOL, check=_is_bool),
    TokenProperty(name="start_audio_off", claim="ao", expected=_BOOL, check=_is_bool),
    TokenProperty(name="close_tab_on_exit", claim="ctoe", expected=_BOOL, check=_is_bool),
    TokenProperty(name="redirect_on_meeting_exit", claim="rome", expected=_STR, check=_is_str),
    TokenProperty(name="lang", claim="uil", expected=_STR, check=_is_str),
    TokenProperty(name="enable_recording", claim="er", expected=_STR, check=_is_str),
    TokenProperty(name="enable_recording_ui", claim="erui", expected=_BOOL, check=_is_bool),
    TokenProperty(name="start_cloud_recording", claim="sr", expected=_BOOL, check=_is_bool),
)
BY_NAME: Mapping[str, TokenProperty] = {prop.name: prop for prop in TOKEN_PROPERTIES}


def parse_token_properties(body: Any) -> dict[str, Any]:
    """Validate a ``POST /meeting-tokens`` body; returns its properties (``null`` values dropped)."""
    properties = require_object(require_object(body).get("properties"), what="properties")
    parsed: dict[str, Any] = {}
    for name, value in properties.items():
        prop = BY_NAME.get(name)
        if prop is None:
            raise invalid(f"properties.{name} is not a meeting token property")
        if value is None:
            continue
        if not prop.check(value):
            raise invalid(f"properties.{name} must be {prop.expected} (got {value!r})")
        parsed[name] = value
    return parsed


class _QuietHS256(HMACAlgorithm):
    """HS256 without pyjwt's short-key warning: the emulator's test keys are short, real Daily keys are not."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)

    def check_key_length(self, key: Any) -> str | None:
        return None


def _make_codec() -> jwt.PyJWS:
    codec = jwt.PyJWS(algorithms=[])  # HS256 only: "none" and every other alg are refused
    codec.register_algorithm(TOKEN_ALGORITHM, _QuietHS256())
    return codec


_CODEC = _make_codec()


def mint_token(body: Any, *, key: str, domain_id: str, now: float) -> str:
    """A token for the properties in ``body``, signed with ``key``; always carries ``d`` and ``iat``."""
    properties = parse_token_properties(body)
    claims: dict[str, Any] = {BY_NAME[name].claim: value for name, value in properties.items()}
    claims[DOMAIN_ID_CLAIM] = domain_id
    claims[ISSUED_AT_CLAIM] = int(now)
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return _CODEC.encode(payload, key, algorithm=TOKEN_ALGORITHM)


def _decode(token: str, keys: Sequence[str]) -> dict[str, Any] | None:
    """The payload if ``token`` is an HS256 JWT signed with one of ``keys``; None otherwise.

    Times are not checked here: :func:`validate_token` checks them on the emulator's clock.
    """
    for key in keys:
        try:
            payload = _CODEC.decode(token, key, algorithms=[TOKEN_ALGORITHM])
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            log.info("Meeting token refused: %s", type(exc).__name__)
            return None
        try:
            claims = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            log.info("Meeting token refused: payload is not JSON")
            return None
        return claims if isinstance(claims, dict) else None
    log.info("Meeting token refused: not signed with an accepted API key")
    return None


def _not_valid(reason: str) -> ApiError:
    log.info("Meeting token refused: %s", reason)
    return invalid(INVALID_TOKEN_INFO)


def validate_token(
    token: str, *, keys: Sequence[str], domain_id: str, now: float, ignore_nbf: bool = False
) -> dict[str, Any]:
    """The token's properties under their API names (only those present); 400 "token not valid" otherwise."""
    claims = _decode(token, keys)
    if claims is None:
        raise invalid(INVALID_TOKEN_INFO)
    if DOMAIN_ID_CLAIM in claims and claims[DOMAIN_ID_CLAIM] != domain_id:
        raise _not_valid("another domain's token")
    for name in ("exp", "nbf"):
        if name in claims and not is_timestamp(claims[name]):
            raise _not_valid(f"{name} is not a number")
    if "exp" in claims and now >= claims["exp"]:
        raise _not_valid("expired")
    if "nbf" in claims and now < claims["nbf"] and not ignore_nbf:
        raise _not_valid("not valid yet (nbf)")
    return {prop.name: claims[prop.claim] for prop in TOKEN_PROPERTIES if prop.claim in claims}
