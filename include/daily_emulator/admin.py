"""The /_emulator admin routes (no auth, no rate limits, not counted): state, counters, reset, settings,
scripted faults, the clock, and rooms changed or deleted "behind the client's back".

``GET|PATCH|DELETE /_emulator/rooms/{name}`` reach stored rooms, live or expired; errors keep Daily's
``{"error", "info"}`` shape (404 not-found, 400 invalid-request-error).
"""

from __future__ import annotations

import asyncio
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


# ------------------------------------------------------------------ room life


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid(f"{key} must be a string")
    return value


@router.post("/rooms/{name}/participants")
async def join_room(request: Request, name: str) -> Any:
    body = require_object(await read_json(request))
    user_name = _optional_str(body, "user_name")
    user_id = _optional_str(body, "user_id")
    return _emulator(request).store.life.join(name, user_name=user_name, user_id=user_id)


@router.delete("/rooms/{name}/participants/{participant_id}")
async def leave_room(request: Request, name: str, participant_id: str) -> Any:
    _emulator(request).store.life.leave(name, participant_id)
    return {"left": True, "id": participant_id, "room": name}


@router.post("/calls")
async def dial(request: Request) -> Any:
    body = require_object(await read_json(request))
    missing = [key for key in ("number", "pin", "caller") if body.get(key) is None]
    if missing:
        raise invalid(f"missing fields {missing}")
    return _emulator(request).store.life.dial(number=body["number"], pin=body["pin"], caller=body["caller"])


@router.delete("/calls/{session_id}")
async def hang_up(request: Request, session_id: str) -> Any:
    _emulator(request).store.life.hang_up(session_id)
    return {"hung_up": True, "session_id": session_id}


@router.post("/calls/{session_id}/error")
async def call_error(request: Request, session_id: str) -> Any:
    body = require_object(await read_json(request))
    message = body.get("message")
    if not isinstance(message, str) or not message:
        raise invalid("message must be a non-empty string")
    warning = body.get("warning", False)
    if not isinstance(warning, bool):
        raise invalid("warning must be a boolean")
    return _emulator(request).store.life.call_error(session_id, message=message, warning=warning)


# ------------------------------------------------------------------ webhooks


@router.get("/webhooks")
async def webhook_stats(request: Request) -> Any:
    return _emulator(request).webhooks.stats()


@router.post("/webhooks/wait")
async def wait_webhooks(request: Request) -> Any:
    body = require_object(await read_json(request))
    timeout = body.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise invalid("timeout must be a number of seconds")
    webhooks = _emulator(request).webhooks
    idle = await asyncio.to_thread(webhooks.wait_idle, float(timeout))
    return {"idle": idle, **webhooks.stats()}
