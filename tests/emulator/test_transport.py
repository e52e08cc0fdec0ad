"""Auth, body parsing, unknown routes and the error shape of the emulated Daily API."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from tests.emulator.helpers import Api, assert_error


def test_missing_authorization_header(emu):
    response = Api(base_url=emu.base_url, key=None).get("/rooms")
    assert_error(response, 400, "authorization-header-error")


@pytest.mark.parametrize("header", ["Basic dGVzdC1rZXk=", "test-key", "Bearer", "Bearer "])
def test_authorization_header_not_bearer(emu, header):
    client = Api(base_url=emu.base_url, key=None)
    response = client.get("/rooms", headers={"Authorization": header})
    assert_error(response, 400, "authorization-header-error")


def test_unknown_key(emu):
    response = Api(base_url=emu.base_url, key="wrong-key").get("/rooms")
    assert_error(response, 401, "authentication-error")


def test_bearer_scheme_is_case_insensitive(emu):
    client = Api(base_url=emu.base_url, key=None)
    assert client.get("/rooms", headers={"Authorization": "bearer test-key"}).status_code == 200


def test_body_not_json(api):
    response = api.post("/rooms", data="{not json", headers={"Content-Type": "application/json"})
    assert_error(response, 400, "json-parsing-error")
    assert api.get("/rooms").json()["total_count"] == 0


def test_body_json_but_not_object(api):
    assert_error(api.post("/rooms", [1, 2]), 400, "invalid-request-error")


def test_empty_body_creates_room_with_random_name(api):
    response = api.post("/rooms", data=b"")
    assert response.status_code == 200
    assert len(response.json()["name"]) == 20


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("PATCH", "/rooms"), ("GET", "/rooms/a/b")])
def test_unknown_route(api, method, path):
    assert_error(api.request(method, path), 404, "not-found")


def test_auth_is_checked_before_routing(emu):
    assert_error(Api(base_url=emu.base_url, key=None).get("/nope"), 400, "authorization-header-error")


def test_error_bodies_are_json(api):
    response = api.get("/rooms/does-not-exist")
    assert response.headers["content-type"].startswith("application/json")
    assert_error(response, 404, "not-found")


def test_a_client_leaving_mid_body_is_one_line_not_a_traceback(emu, caplog):
    """A killed client (kill -9 mid-request) must not fill the emulator's log with a traceback."""
    caplog.set_level(logging.INFO)
    host, port = emu.base_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/batch/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-key\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"rooms": ['
        )
    deadline = time.monotonic() + 5
    while "went away" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "went away" in caplog.text
    assert "Traceback" not in caplog.text and "ClientDisconnect" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
