"""A local emulator of Daily's REST API for the demo and the tests: a real HTTP server with Daily's errors,
rate limits and injectable faults.

``/v1``: ``GET /`` (domain configuration), rooms (``/rooms``, ``/rooms/:name``, ``/batch/rooms``) with PIN
dial-in, ``/meeting-tokens`` (mint and validate HS256 tokens, self-signed ones too),
``/domain-dialin-config`` and ``/purchased-phone-numbers``; room life (``/presence``,
``/rooms/:name/presence``, ``/meetings``, ``/rooms/:name/eject``) and ``/webhooks`` with signed deliveries.
``/_emulator``: state, counters, reset, runtime settings, scripted faults, the clock, rooms read, changed or
deleted behind the client's back, participants joining and leaving, phone calls by PIN, webhook counters.

Dev/test only (not in the wheel). May import: FastAPI, uvicorn, pydantic, pyjwt; never the provider or
the application, so it stays an independent stand-in for Daily.
"""

from __future__ import annotations

from daily_emulator.admin_client import AdminClient
from daily_emulator.app import create_app
from daily_emulator.runtime import Emulator
from daily_emulator.server import EmulatorServer
from daily_emulator.settings import EmulatorSettings, FaultSettings, RateLimit
from daily_emulator.state import Store

__all__ = [
    "AdminClient",
    "Emulator",
    "EmulatorServer",
    "EmulatorSettings",
    "FaultSettings",
    "RateLimit",
    "Store",
    "create_app",
]
