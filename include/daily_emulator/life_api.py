"""The /v1 routes of room life: ``GET /presence``, ``GET /rooms/:name/presence``, ``GET /meetings``,
``GET /meetings/:id/participants`` and ``POST /rooms/:name/eject``, in Daily's documented shapes.

Like every /v1 route they sit behind :class:`~daily_emulator.middleware.ApiPipeline` (counted, Bearer
key, ``default`` rate-limit class, scripted and random faults matched by method and path).
May import: FastAPI and the emulator's own modules.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from daily_emulator.api import read_json
from daily_emulator.errors import invalid
from daily_emulator.runtime import Emulator
from daily_emulator.validation import require_object

EJECT_MAX_IDS = 100  # [doc] ids and user_ids: at most 100 each

router = APIRouter()


def _emulator(request: Request) -> Emulator:
    return request.app.state.emulator


@router.get("/presence")
async def presence(request: Request) -> Any:
    return _emulator(request).store.life.presence()


@router.get("/rooms/{name}/presence")
async def room_presence(request: Request, name: str) -> Any:
    return _emulator(request).store.life.room_presence(name, request.query_params)


@router.get("/meetings")
async def list_meetings(request: Request) -> Any:
    return _emulator(request).store.life.list_meetings(request.query_params)


@router.get("/meetings/{meeting_id}/participants")
async def meeting_participants(request: Request, meeting_id: str) -> Any:
    return _emulator(request).store.life.meeting_participants(meeting_id, request.query_params)


def _id_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(f"{key} must be a list of strings")
    if len(value) > EJECT_MAX_IDS:
        raise invalid(f"{key} may name at most {EJECT_MAX_IDS} participants (got {len(value)})")
    return value


@router.post("/rooms/{name}/eject")
async def eject(request: Request, name: str) -> Any:
    emu = _emulator(request)
    body = require_object(await read_json(request))
    ids, user_ids = _id_list(body, "ids"), _id_list(body, "user_ids")
    if not ids and not user_ids:
        raise invalid("give ids or user_ids")
    if "ban" in body and not isinstance(body["ban"], bool):
        raise invalid("ban must be a boolean")
    # [assumed] ban is accepted and not enforced: the emulator has no way back in without the admin route
    return {"ejectedIds": emu.store.life.eject(name, ids=ids, user_ids=user_ids)}
