"""The /v1 webhook routes: ``POST/GET /webhooks`` and ``GET|POST|DELETE /webhooks/:uuid`` [doc].

Creating and re-arming send the test ping to the receiver; that request runs in a worker thread
(``asyncio.to_thread``) so a slow receiver never blocks the server's event loop. Like every /v1 route they
sit behind :class:`~daily_emulator.middleware.ApiPipeline`. May import: FastAPI and the emulator's modules.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from daily_emulator.api import read_json
from daily_emulator.runtime import Emulator
from daily_emulator.validation import require_object

router = APIRouter()


def _emulator(request: Request) -> Emulator:
    return request.app.state.emulator


@router.post("/webhooks")
async def create_webhook(request: Request) -> Any:
    body = require_object(await read_json(request))
    return await asyncio.to_thread(_emulator(request).webhooks.create, body)


@router.get("/webhooks")
async def list_webhooks(request: Request) -> Any:
    return _emulator(request).webhooks.list_hooks()


@router.get("/webhooks/{hook_uuid}")
async def get_webhook(request: Request, hook_uuid: str) -> Any:
    return _emulator(request).webhooks.get(hook_uuid)


@router.post("/webhooks/{hook_uuid}")
async def update_webhook(request: Request, hook_uuid: str) -> Any:
    body = require_object(await read_json(request))
    return await asyncio.to_thread(_emulator(request).webhooks.update, hook_uuid, body)


@router.delete("/webhooks/{hook_uuid}")
async def delete_webhook(request: Request, hook_uuid: str) -> Any:
    return _emulator(request).webhooks.delete(hook_uuid)
