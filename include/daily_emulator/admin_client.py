"""A small HTTP client for the emulator's /_emulator admin API, used by tests and the demo."""

from __future__ import annotations

from typing import Any

import requests
from pydantic_core import to_jsonable_python


class AdminClient:
    """Calls ``<url>/_emulator/...``; every method raises ``requests.HTTPError`` on a non-2xx answer."""

    def __init__(self, *, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False  # never send emulator traffic through a proxy

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._session.request(
            method,
            f"{self.url}/_emulator{path}",
            json=None if body is None else to_jsonable_python(body),
            timeout=self.timeout,
        )
        response.raise_for_status()
        return response.json()

    def snapshot(self) -> dict[str, Any]:
        """Rooms (with PINs, incl. stored-but-expired ones), dial-in configs, numbers, counters."""
        return self._call("GET", "/state")

    def counters(self) -> dict[str, Any]:
        return self._call("GET", "/counters")

    def reset(self) -> None:
        self._call("POST", "/reset")

    def settings(self) -> dict[str, Any]:
        return self._call("GET", "/settings")

    def configure(self, **partial: Any) -> dict[str, Any]:
        """Change runtime settings, e.g. ``configure(faults=FaultSettings(rate_500=0.5), room_quota=3)``."""
        return self._call("PATCH", "/settings", partial)

    def script_faults(self, faults: list[dict[str, Any]]) -> int:
        """Queue faults such as ``{"kind": "429", "method": "POST", "path": "/rooms"}``; returns queue length."""
        return self._call("POST", "/faults", {"faults": faults})["queued"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def queued_faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")["faults"]

    def advance_clock(self, seconds: float) -> dict[str, float]:
        return self._call("POST", "/clock", {"advance_seconds": seconds})

    # ------------------------------------------------------------------ rooms

    def room(self, name: str) -> dict[str, Any]:
        """A stored room, live or expired: the room object (PIN and number always shown) plus ``expired``."""
        return self._call("GET", f"/rooms/{name}")

    def delete_room(self, name: str) -> dict[str, Any]:
        """Delete a stored room (live or expired) without rate limits or counters; its name and PIN are free."""
        return self._call("DELETE", f"/rooms/{name}")

    def update_room(self, name: str, **changes: Any) -> dict[str, Any]:
        """Change a room behind the client's back, bypassing the API's dial-in rules; returns it as :meth:`room`.

        ``changes``: ``privacy``, ``properties`` (merged, ``None`` removes), ``dialin_code`` (11 digits;
        ``None`` removes the PIN), ``new_pin=True`` (a fresh PIN), ``dialin_number`` (E.164; ``None`` removes).
        """
        return self._call("PATCH", f"/rooms/{name}", changes)

    def set_room_pin(self, name: str, pin: str | int | None) -> dict[str, Any]:
        """Give the room this PIN (``None``: no PIN)."""
        return self.update_room(name, dialin_code=pin)

    def new_room_pin(self, name: str) -> str:
        """Give the room a fresh PIN, different from its current one; returns it."""
        return self.update_room(name, new_pin=True)["config"]["dialin_code"]

    def set_room_exp(self, name: str, exp: float | None) -> dict[str, Any]:
        """Set the room's ``exp`` (``None``: no exp), without the 365-day rule of dial-in rooms."""
        return self.update_room(name, properties={"exp": exp})

    # ------------------------------------------------------------------ room life

    def join(self, room: str, *, user_name: str = "Guest", user_id: str | None = None) -> str:
        """A web participant joins ``room``; returns the participant id (404 unknown/expired, 400 full)."""
        body: dict[str, Any] = {"user_name": user_name}
        if user_id is not None:
            body["user_id"] = user_id
        return self._call("POST", f"/rooms/{room}/participants", body)["id"]

    def leave(self, room: str, participant_id: str) -> None:
        """The participant (web or phone: a caller's id is its session id) leaves ``room``."""
        self._call("DELETE", f"/rooms/{room}/participants/{participant_id}")

    def dial(self, *, number: str, pin: str, caller: str) -> dict[str, Any]:
        """A phone call to ``number`` entering ``pin``: ``{session_id, status, room, reason?}``.

        ``status``: ``connected`` (in the meeting), ``waiting`` (hold music until someone joins) or
        ``disconnected`` (``reason`` says why: wrong PIN, number not on the PIN flow, ...).
        """
        return self._call("POST", "/calls", {"number": number, "pin": pin, "caller": caller})

    def hang_up(self, session_id: str) -> None:
        """The caller hangs up (404 for an unknown session; an ended call stays ended)."""
        self._call("DELETE", f"/calls/{session_id}")

    def call_error(self, session_id: str, message: str, *, warning: bool = False) -> dict[str, Any]:
        """Make Daily report ``dialin.error`` (``warning=True``: ``dialin.warning``) for this session."""
        return self._call("POST", f"/calls/{session_id}/error", {"message": message, "warning": warning})

    # ------------------------------------------------------------------ webhooks

    def webhook_stats(self) -> dict[str, Any]:
        """Delivery counters, ``delivered_by_type``, ``pending``, ``in_flight`` and the ``recent`` attempts."""
        return self._call("GET", "/webhooks")

    def wait_webhooks(self, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until no webhook message is queued or in flight (retries included); ``idle`` False on timeout."""
        response = self._session.post(
            f"{self.url}/_emulator/webhooks/wait", json={"timeout": timeout}, timeout=self.timeout + timeout
        )
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self._session.close()
