"""The /_emulator admin routes (no auth, no rate limits, not counted): state, counters, reset, settings,
scripted faults, the clock, and rooms changed or deleted "behind the client's back".

``GET|PATCH|DELETE /_emulator/rooms/{name}`` reach stored rooms, live or expired; errors keep Daily's
``{"error", "info"}`` shape (404 not-found, 400 invalid-request-error).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import TypeAdapter, ValidationError

from daily_emulator.api import read_json
from daily_emulator.errors import invalid
from daily_emulator.faults import ScriptedFault
from daily_emulator.runtime import Emulator
from daily_emulator.validation import require_object

router = APIRouter()

_SCRIPTED_FAULTS = TypeAdapter(list[ScriptedFault])


def _emulator(request: Request) -> Emulator:
    return request.app.state.emulator


@router.get("/state")
async def state(request: Request) -> Any:
    return _emulator(request).snapshot()


@router.get("/counters")
async def counters(request: Request) -> Any:
    return _emulator(request).counters.snapshot()


@router.post("/reset")
async def reset(request: Request) -> Any:
    _emulator(request).reset()
    return {"status": "reset"}


@router.get("/settings")
async def get_settings(request: Request) -> Any:
    return _emulator(request).settings.model_dump(mode="json")


@router.patch("/settings")
async def patch_settings(request: Request) -> Any:
    emu = _emulator(request)
    body = require_object(await read_json(request))
    try:
        settings = emu.configure(body)
    except (ValueError, ValidationError) as exc:
        raise invalid(str(exc)) from None
    return settings.model_dump(mode="json")


@router.get("/faults")
async def list_faults(request: Request) -> Any:
    return {"faults": [fault.model_dump() for fault in _emulator(request).faults.queued()]}


@router.post("/faults")
async def add_faults(request: Request) -> Any:
    body = require_object(await read_json(request))
    try:
        faults = _SCRIPTED_FAULTS.validate_python(body.get("faults"))
    except ValidationError as exc:
        raise invalid(f"faults: {exc}") from None
    return {"queued": _emulator(request).faults.enqueue(faults)}


@router.delete("/faults")
async def clear_faults(request: Request) -> Any:
    _emulator(request).faults.clear()
    return {"queued": 0}


def _clock_state(emu: Emulator) -> dict[str, float]:
    return {"now": emu.clock.now(), "offset": emu.clock.offset}


@router.get("/clock")
async def get_clock(request: Request) -> Any:
    return _clock_state(_emulator(request))


@router.post("/clock")
async def advance_clock(request: Request) -> Any:
    emu = _emulator(request)
    body = require_object(await read_json(request))
    seconds = body.get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise invalid("advance_seconds must be a number")
    emu.clock.advance(seconds)
    return _clock_state(emu)


# ------------------------------------------------------------------ rooms


@router.get("/rooms/{name}")
async def get_room(request: Request, name: str) -> Any:
    return _emulator(request).store.admin_room(name)


@router.patch("/rooms/{name}")
async def update_room(request: Request, name: str) -> Any:
    emu = _emulator(request)
    return emu.store.admin_update_room(name, await read_json(request))


@router.delete("/rooms/{name}")
async def delete_room(request: Request, name: str) -> Any:
    return _emulator(request).store.admin_delete_room(name)
