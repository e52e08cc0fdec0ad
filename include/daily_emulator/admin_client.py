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

    def close(self) -> None:
        self._session.close()
