"""Shared fixtures for the Daily emulator tests: one emulator per session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from daily_emulator import EmulatorServer
from daily_emulator.settings import RUNTIME_SETTINGS
from tests.emulator.helpers import Api, make_settings


@pytest.fixture(scope="session")
def session_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(settings=make_settings()) as server:
        yield server


@pytest.fixture
def emu(session_emulator: EmulatorServer) -> EmulatorServer:
    """The session emulator, reset, with its runtime settings back to the test defaults."""
    baseline = make_settings()
    session_emulator.admin.reset()
    session_emulator.admin.configure(**{name: getattr(baseline, name) for name in RUNTIME_SETTINGS})
    return session_emulator


@pytest.fixture
def api(emu: EmulatorServer) -> Iterator[Api]:
    client = Api(base_url=emu.base_url)
    yield client
    client.session.close()


@pytest.fixture
def make_server() -> Iterator[Any]:
    """Start extra emulators with their own settings; all are stopped at the end of the test."""
    servers: list[EmulatorServer] = []

    def _make(**overrides: Any) -> EmulatorServer:
        server = EmulatorServer(settings=make_settings(**overrides)).start()
        servers.append(server)
        return server

    yield _make
    for server in servers:
        server.stop()
