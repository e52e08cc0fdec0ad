"""The /v1 routes: domain configuration (``GET /``), rooms, batch rooms, meeting tokens, domain dial-in
configs and purchased phone numbers.

Every route sits behind :class:`~daily_emulator.middleware.ApiPipeline` (counted, Bearer key required,
rate-limited: ``DELETE /rooms/:name`` in the ``delete`` class, everything else in ``default``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request

from daily_emulator.auth import request_api_key
from daily_emulator.defaults import DOMAIN_CONFIG
from daily_emulator.errors import ApiError, invalid
from daily_emulator.runtime import Emulator
from daily_emulator.tokens import mint_token, validate_token
from daily_emulator.validation import require_object

MAX_BATCH_ROOMS = 1000

router = APIRouter()


def _emulator(request: Request) -> Emulator:
    return request.app.state.emulator


def _reject_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON (Python's parser accepts them unless told otherwise)."""
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request) -> Any:
    """The parsed JSON body; None for an empty body; 400 json-parsing-error if it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(status=400, error="json-parsing-error", info="request body is not valid JSON") from None


# ------------------------------------------------------------------------ domain


@router.get("")
@router.get("/")
async def domain_configuration(request: Request) -> Any:
    settings = _emulator(request).settings
    return {"domain_name": settings.domain, "domain_id": settings.domain_id, "config": dict(DOMAIN_CONFIG)}


# ------------------------------------------------------------------------- rooms


@router.post("/rooms")
async def create_room(request: Request) -> Any:
    emu = _emulator(request)
    body = await read_json(request)
    room = emu.store.create_rooms([body])[0]
    emu.counters.rooms_created(1)
    return room


@router.get("/rooms")
async def list_rooms(request: Request) -> Any:
    return _emulator(request).store.list_rooms(request.query_params)


@router.get("/rooms/{name}")
async def get_room(request: Request, name: str) -> Any:
    return _emulator(request).store.get_room(name)


@router.post("/rooms/{name}")
async def update_room(request: Request, name: str) -> Any:
    emu = _emulator(request)
    return emu.store.update_room(name, await read_json(request))


@router.delete("/rooms/{name}")
async def delete_room(request: Request, name: str) -> Any:
    emu = _emulator(request)
    result = emu.store.delete_room(name)
    emu.counters.rooms_deleted(1)
    return result


@router.post("/batch/rooms")
async def create_rooms_batch(request: Request) -> Any:
    emu = _emulator(request)
    body = require_object(await read_json(request))
    rooms = body.get("rooms")
    if not isinstance(rooms, list):
        raise invalid("rooms must be a list of room objects")
    if not 1 <= len(rooms) <= MAX_BATCH_ROOMS:
        raise invalid(f"rooms must have between 1 and {MAX_BATCH_ROOMS} entries (got {len(rooms)})")
    if emu.settings.batch_room_latency_ms:  # server time that grows with the batch
        await asyncio.sleep(len(rooms) * emu.settings.batch_room_latency_ms / 1000)
    created = emu.store.create_rooms(rooms, batch=True)
    emu.counters.rooms_created(len(created))
    return {"data": created}


@router.delete("/batch/rooms")
async def delete_rooms_batch(request: Request) -> Any:
    emu = _emulator(request)
    body = require_object(await read_json(request))
    names = body.get("room_names")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise invalid("room_names must be a list of room names")
    deleted = emu.store.delete_rooms(names)
    emu.counters.rooms_deleted(deleted)
    return {"deleted_count": deleted}


# ---------------------------------------------------------------- meeting tokens


@router.post("/meeting-tokens")
async def create_meeting_token(request: Request) -> Any:
    emu = _emulator(request)
    body = await read_json(request)
    key = request_api_key(request)
    domain_id = emu.settings.domain_id or ""
    return {"token": mint_token(body, key=key, domain_id=domain_id, now=emu.clock.now())}


@router.get("/meeting-tokens/{token}")
async def get_meeting_token(request: Request, token: str) -> Any:
    emu = _emulator(request)
    settings = emu.settings
    return validate_token(
        token,
        keys=settings.api_keys,
        domain_id=settings.domain_id or "",
        now=emu.clock.now(),
        ignore_nbf=request.query_params.get("ignoreNbf", "").lower() in ("true", "1"),
    )


# ------------------------------------------------------------- domain dial-in config


@router.post("/domain-dialin-config")
async def create_dialin_config(request: Request) -> Any:
    return _emulator(request).store.create_dialin_config(await read_json(request))


@router.get("/domain-dialin-config")
async def list_dialin_configs(request: Request) -> Any:
    return _emulator(request).store.list_dialin_configs(request.query_params)


@router.get("/domain-dialin-config/{config_id}")
async def get_dialin_config(request: Request, config_id: str) -> Any:
    return _emulator(request).store.get_dialin_config(config_id)


@router.put("/domain-dialin-config/{config_id}")
async def update_dialin_config(request: Request, config_id: str) -> Any:
    emu = _emulator(request)
    return emu.store.update_dialin_config(config_id, await read_json(request))


@router.delete("/domain-dialin-config/{config_id}")
async def delete_dialin_config(request: Request, config_id: str) -> Any:
    return _emulator(request).store.delete_dialin_config(config_id)


# ----------------------------------------------------------------- phone numbers


@router.get("/purchased-phone-numbers")
async def list_purchased_numbers(request: Request) -> Any:
    return _emulator(request).store.list_purchased_numbers(request.query_params)
