"""Daily's webhook signature: ``base64(HMAC-SHA256(key=base64decode(secret), "{timestamp}.{raw body}"))``.

The recipe is [client] (community code; Daily's docs name the headers ``X-Webhook-Signature`` and
``X-Webhook-Timestamp``). Verification compares in constant time and refuses timestamps more than
:data:`TOLERANCE_SECONDS` away from now (a captured request cannot be replayed later). The timestamp
is taken as seconds since the epoch; a value in milliseconds (an assumption either way) is accepted too.

May import: the standard library only (the tests and the bootstrap use it as well).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets

__all__ = ["TOLERANCE_SECONDS", "new_secret", "sign", "timestamp_seconds", "verify"]

TOLERANCE_SECONDS = 300.0
_MILLIS_ABOVE = 1e11  # seconds since 1970 stay below this until the year 5138


def new_secret() -> str:
    """A fresh webhook secret, base64 (32 random bytes), as Daily's ``hmac`` field takes it."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the webhook secret is not base64") from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Webhook-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(_key(secret), timestamp.encode("ascii") + b"." + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def timestamp_seconds(value: str) -> float | None:
    """The header's time in seconds since the epoch, or None when it is not a finite number."""
    try:
        number = float(value.strip())
    except (AttributeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return number / 1000.0 if number > _MILLIS_ABOVE else number


def verify(secret: str, *, timestamp: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """Why the request is refused (``"unsigned"``, ``"stale"``, ``"bad_signature"``), or None when it is good."""
    if not timestamp or not signature:
        return "unsigned"
    sent = timestamp_seconds(timestamp)
    if sent is None or abs(now - sent) > TOLERANCE_SECONDS:
        return "stale"
    try:
        expected = sign(secret, timestamp, body)
    except (ValueError, UnicodeEncodeError):
        return "bad_signature"
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("ascii", "replace")):
        return "bad_signature"
    return None
