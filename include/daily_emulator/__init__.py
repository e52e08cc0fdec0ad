"""A local emulator of Daily's REST API (rooms, PIN dial-in, dial-in configs, phone numbers) for the demo
and the tests: a real HTTP server with Daily's errors, rate limits and injectable faults."""

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
