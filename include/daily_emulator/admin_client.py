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

    def close(self) -> None:
        self._session.close()
