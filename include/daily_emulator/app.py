"""FastAPI app factory: the Daily API under /v1 and the emulator's admin API under /_emulator."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from daily_emulator import admin, api, life_api, webhooks_api
from daily_emulator.errors import ApiError, error_response
from daily_emulator.middleware import ApiPipeline, silence_deliberate_disconnects
from daily_emulator.runtime import Emulator
from daily_emulator.settings import EmulatorSettings


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = "not-found" if exc.status_code in (404, 405) else "invalid-request-error"
    return error_response(status=404 if exc.status_code == 405 else exc.status_code, error=code, info=exc.detail)


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after this response, so uvicorn logs the traceback.
    return error_response(status=500, error="server-error", info="internal emulator error")


def create_app(settings: EmulatorSettings | None = None) -> FastAPI:
    """Build the app; the live :class:`~daily_emulator.runtime.Emulator` is ``app.state.emulator``."""
    settings = settings if settings is not None else EmulatorSettings()
    emulator = Emulator(settings=settings)
    app = FastAPI(
        title="Daily REST API emulator",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    app.state.emulator = emulator
    app.include_router(api.router, prefix="/v1")
    app.include_router(life_api.router, prefix="/v1")
    app.include_router(webhooks_api.router, prefix="/v1")
    app.include_router(admin.router, prefix="/_emulator")
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_middleware(ApiPipeline, emulator=emulator, router=app.router)
    silence_deliberate_disconnects()
    return app
