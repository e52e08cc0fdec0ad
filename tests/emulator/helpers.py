"""Helpers shared by the emulator tests: a Bearer-keyed client, error assertions, room bodies, settings."""

from __future__ import annotations

import time
from typing import Any

import requests

from daily_emulator import EmulatorSettings

API_KEY = "test-key"
DOMAIN = "acme"
NUMBERS = ["+12095550100", "+12095550101", "+12095550102"]


class Api:
    """A thin ``requests`` wrapper that talks to one emulator's /v1 with a Bearer key."""

    def __init__(self, *, base_url: str, key: str | None = API_KEY, timeout: float = 10.0) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        if key is not None:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, f"{self.base_url}{path}", **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, json=json, **kwargs)

    def create_room(self, **body: Any) -> dict[str, Any]:
        response = self.post("/rooms", body)
        assert response.status_code == 200, response.text
        return response.json()


def assert_error(response: requests.Response, status: int, code: str, info: str | None = None) -> dict:
    """The response is a Daily error with this status and code (and ``info`` contained in its text)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "info"}, body
    assert body["error"] == code, body
    assert isinstance(body["info"], str)
    assert body["info"]
    if info is not None:
        assert info in body["info"], body
    return body


def in_hours(hours: float) -> int:
    return int(time.time() + hours * 3600)


def dialin_room(name: str, **dialin: Any) -> dict[str, Any]:
    """A room body with PIN dial-in and a valid exp (two hours from now)."""
    return {"name": name, "properties": {"exp": in_hours(2), "dialin": {"display_name": name, **dialin}}}


def make_settings(**overrides: Any) -> EmulatorSettings:
    """Test defaults: rate limits off, three purchased numbers, the first on the PIN flow."""
    values: dict[str, Any] = {
        "api_keys": [API_KEY],
        "domain": DOMAIN,
        "purchased_numbers": NUMBERS,
        "rate_limits": {},
        "seed": 1234,
    }
    values.update(overrides)
    return EmulatorSettings(**values)
