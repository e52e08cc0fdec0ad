"""The ``Authorization: Bearer <API key>`` header: parsing it, for the pipeline's auth check and for the
routes that need the calling key (meeting tokens are signed with it)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request


def authorization_header(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The raw ``Authorization`` header of an ASGI scope's headers, or None."""
    for name, value in headers:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return None


def bearer_token(header: str) -> str | None:
    """The key of ``Bearer <key>`` (scheme case-insensitive), or None if the header is not of that form."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def request_api_key(request: Request) -> str:
    """The API key that made this /v1 request (the pipeline has already checked that it is valid)."""
    header = authorization_header(request.scope.get("headers", []))
    token = bearer_token(header) if header is not None else None
    if token is None:  # unreachable behind ApiPipeline
        raise RuntimeError("request without a Bearer key reached a /v1 route")
    return token
