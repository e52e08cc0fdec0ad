"""Daily-shaped API errors: ``{"error": <code>, "info": <text>}`` with the status Daily uses."""

from __future__ import annotations

from starlette.responses import JSONResponse


class ApiError(Exception):
    """Raised by handlers and the store; rendered as a Daily error response."""

    def __init__(self, *, status: int, error: str, info: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {error}: {info}")
        self.status = status
        self.error = error
        self.info = info
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return error_response(status=self.status, error=self.error, info=self.info, headers=self.headers)


def error_response(*, status: int, error: str, info: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "info": info}, headers=headers)


def invalid(info: str) -> ApiError:
    """400 invalid-request-error."""
    return ApiError(status=400, error="invalid-request-error", info=info)


def not_found(info: str) -> ApiError:
    """404 not-found."""
    return ApiError(status=404, error="not-found", info=info)
