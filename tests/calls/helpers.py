"""Signed Daily webhook requests built the way Daily signs them, and events to send.

May import: the application's signing module (the recipe under test is also re-derived here, from
the documented steps, so a wrong recipe in the application cannot pass its own test) and the
standard library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from typing import Any

SECRET = base64.b64encode(b"calls-test-secret-0123456789abcd").decode()
CALLER = "+12095550123"  # a caller's full number: must never be found stored or logged
OTHER_CALLER = "+4930901820"
_ids = itertools.count(1)


def daily_signature(secret: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret)
    return base64.b64encode(hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()


def signed(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """Headers of a request Daily would send with ``body`` at ``at`` (default: now)."""
    timestamp = str(int(time.time() if at is None else at))
    return {
        "Content-Type": "application/json",
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": daily_signature(secret, timestamp, body),
    }


def event(kind: str, payload: dict[str, Any], *, event_id: str | None = None, ts: float | None = None) -> dict:
    return {
        "version": "1.0.0",
        "type": kind,
        "id": event_id or f"evt-{next(_ids)}",
        "payload": payload,
        "event_ts": time.time() if ts is None else ts,
    }


def body_of(data: Any) -> bytes:
    return json.dumps(data).encode()


def dialin(kind: str, room: str, session: str, at: float, *, caller: str = CALLER, **extra: Any) -> dict:
    """A ``dialin.*`` event as documented: ``timestamp``, ``session_id``, ``sip_from``, ``room``..."""
    payload = {
        "timestamp": at,
        "session_id": session,
        "domain_id": "dom-1",
        "room": room,
        "display_name": caller,
        "sip_headers": {"From": f"<sip:{caller}@pstn.example>"},
        **extra,
    }
    if kind in ("dialin.connected", "dialin.stopped"):
        payload["sip_from"] = caller
    return event(kind, payload, ts=at)


def meeting_ended(room: str, start: float, end: float, meeting: str = "dm-1") -> dict:
    return event("meeting.ended", {"start_ts": start, "end_ts": end, "meeting_id": meeting, "room": room}, ts=end)
