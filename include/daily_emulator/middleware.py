"""ASGI pipeline in front of the /v1 routes: counting, auth, rate limits, latency, then faults.

Broken connections are made by starting a response with a ``Content-Length`` larger than the body
that follows and then raising :class:`DeliberateDisconnect`: uvicorn closes the socket, and the
client (e.g. ``requests``) gets an exception instead of a response.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from daily_emulator.auth import authorization_header, bearer_token
from daily_emulator.errors import error_response
from daily_emulator.faults import Fault
from daily_emulator.runtime import Emulator

log = logging.getLogger(__name__)

API_PREFIX = "/v1"
UNKNOWN_ROUTE = "(unknown)"
CREATE_ENDPOINTS = frozenset({"POST /rooms", "POST /batch/rooms"})
DELETE_CLASS_ENDPOINTS = frozenset({"DELETE /rooms/:name"})
_PATH_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


class DeliberateDisconnect(Exception):
    """Raised after a partial response so the server drops the connection (an injected fault)."""


class _DropDeliberateDisconnects(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        return not (exc_info and exc_info[0] is not None and issubclass(exc_info[0], DeliberateDisconnect))


def silence_deliberate_disconnects() -> None:
    """Keep uvicorn from logging a traceback for every injected connection break."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropDeliberateDisconnects) for f in logger.filters):
        logger.addFilter(_DropDeliberateDisconnects())


def endpoint_class(key: str) -> str:
    """Daily's rate-limit class of an endpoint key such as ``"DELETE /rooms/:name"``."""
    return "delete" if key in DELETE_CLASS_ENDPOINTS else "default"


class ApiPipeline:
    """Wraps the FastAPI app; requests outside ``/v1`` (e.g. ``/_emulator``) pass straight through."""

    def __init__(self, app: ASGIApp, *, emulator: Emulator, router: Router) -> None:
        self.app = app
        self.emulator = emulator
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        emu = self.emulator
        method = scope["method"]
        api_path = path[len(API_PREFIX) :] or "/"
        template = self._route_template(scope)
        key = f"{method} {template or UNKNOWN_ROUTE}"
        emu.counters.request(key)

        auth_error = self._auth_error(scope)
        if auth_error is not None:
            await auth_error(scope, receive, send)
            return
        if template is None:
            response = error_response(status=404, error="not-found", info=f"no such endpoint: {method} {path}")
            await response(scope, receive, send)
            return

        allowed, _ = emu.limiter.try_acquire(endpoint_class(key))
        if not allowed:
            emu.counters.rate_limited(key)
            await self._rate_limit_response(emu.settings.faults.retry_after)(scope, receive, send)
            return

        if emu.settings.latency_ms:
            await asyncio.sleep(emu.settings.latency_ms / 1000)

        fault = emu.faults.draw(method=method, path=api_path)
        try:
            if fault is None:
                await self.app(scope, receive, send)
                return
            await self._inject(fault, key=key, scope=scope, receive=receive, send=send)
        except ClientDisconnect:  # a killed client: nobody to answer, and not the emulator's error
            log.info("Client went away before its request body arrived: %s", key)

    # ----------------------------------------------------------------- helpers

    def _route_template(self, scope: Scope) -> str | None:
        """``/rooms/:name`` for ``/v1/rooms/mtg-1``, ``/`` for ``/v1`` and ``/v1/``; None if no route matches."""
        for route in self.router.routes:
            route_path = getattr(route, "path", "")
            if not (route_path == API_PREFIX or route_path.startswith(API_PREFIX + "/")):
                continue
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return _PATH_PARAM.sub(r":\1", route_path[len(API_PREFIX) :]) or "/"
        return None

    def _auth_error(self, scope: Scope) -> Any:
        header = authorization_header(scope.get("headers", []))
        if header is None:
            return error_response(status=400, error="authorization-header-error", info="Authorization header missing")
        token = bearer_token(header)
        if token is None:
            return error_response(
                status=400,
                error="authorization-header-error",
                info="Authorization header must be 'Bearer <API key>'",
            )
        if token not in self.emulator.settings.api_keys:
            return error_response(status=401, error="authentication-error", info="unknown API key")
        return None

    @staticmethod
    def _rate_limit_response(retry_after: int | None) -> Any:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return error_response(
            status=429,
            error="rate-limit-error",
            info="rate limit exceeded: back off and retry",
            headers=headers,
        )

    async def _inject(self, fault: Fault, *, key: str, scope: Scope, receive: Receive, send: Send) -> None:
        emu = self.emulator
        kind = fault.kind
        if kind == "lost_create" and key not in CREATE_ENDPOINTS:
            kind = "reset"
        emu.counters.fault(kind)
        log.info("Injecting fault %s into %s%s", kind, key, " (scripted)" if fault.scripted else "")
        if kind == "429":
            await self._rate_limit_response(fault.retry_after)(scope, receive, send)
        elif kind in ("500", "502", "503"):
            response = error_response(status=int(kind), error="server-error", info=f"injected server fault ({kind})")
            await response(scope, receive, send)
        elif kind == "hang":
            deadline = time.monotonic() + fault.hang_seconds
            while not emu.shutting_down and (remaining := deadline - time.monotonic()) > 0:
                await asyncio.sleep(min(0.05, remaining))
            await _break(send)
        elif kind == "reset":
            await _break(send)
        else:  # lost_create on a create endpoint: do it, then lose the response
            await self._apply_then_break(scope, receive, send)

    async def _apply_then_break(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        status = start["status"] if start else 200
        headers = [(k, v) for k, v in (start or {}).get("headers", []) if k.lower() != b"content-length"]
        await _break(send, status=status, headers=headers, body=body)


async def _break(
    send: Send,
    *,
    status: int = 502,
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b'{"error":"server-error","info":"connection broken by the emulator"}',
) -> None:
    """Send headers promising ``len(body)`` bytes, send fewer, then make the server drop the connection."""
    if headers is None:
        headers = [(b"content-type", b"application/json")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    raise DeliberateDisconnect("connection broken on purpose (injected fault)")
