"""Typed errors raised by :class:`~airflow_provider_daily.hooks.daily.DailyHook`.

One hierarchy, so callers can catch exactly what they can handle:

* :class:`DailyApiError` - Daily answered with an error status. Carries the status, Daily's
  stable ``error`` code, its free-text ``info``, the HTTP method and the path (never the API key).
* Subclasses distinguish what callers react to differently: an existing room name, a missing
  resource, the domain room quota, rate limiting, server faults, authentication.
* :class:`DailyTransportError` - no HTTP answer at all (timeout, reset, refused).
* :class:`DailyValidationError` - refused on our side before any call was made, and
  :class:`DailyConflictError` - a state the caller must resolve; both fail a task without retries.
* :class:`DailyInvalidSpecsError` - the refusal of some specs of a batch, by room name.
* :class:`DailyBulkDeleteError` - a bulk delete stopped by an outage (or, as
  :class:`DailyBulkDeleteAbortedError`, by a wrong key); carries what was settled before the stop.
* :class:`DailyConfigError` - a missing connection, a malformed setting or run parameter: fails a
  task at once, without retries, saying what to fix.

Retryable on purpose: :class:`DailyRateLimitedError`, :class:`DailyServerError`,
:class:`DailyTransportError` (the hook retries them, then Airflow retries the task). Everything
that subclasses ``AirflowFailException`` fails the task at once: retrying cannot fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

ALREADY_EXISTS_MARKER = "already exists"
# Daily's quota wording is not documented; clients see "... rooms reached". Match tolerantly:
AUTH_ERROR_CODES = ("authorization-header-error", "authentication-error")
QUOTA_PATTERN = re.compile(r"rooms? reached|room (?:quota|limit)|quota (?:reached|exceeded)|too many (?:live )?rooms")


class DailyError(AirflowException):
    """Base class of every error this provider raises."""


class DailyValidationError(DailyError, AirflowFailException, ValueError):
    """Input refused before calling Daily (bad room name, ``exp`` out of range, ...).

    Fails a task without retries: the same input would be refused again."""


class DailyInvalidSpecsError(DailyValidationError):
    """Room specs of one request refused before any call. ``reasons``: ``{room name: why}`` for
    every refused spec, so a caller holding many specs can fail those alone and send the rest."""

    def __init__(self, *, reasons: Mapping[str, str]) -> None:
        self.reasons: dict[str, str] = dict(reasons)
        first = next(iter(self.reasons.values()), "invalid room spec")
        more = f" (and {len(self.reasons) - 1} more refused specs)" if len(self.reasons) > 1 else ""
        super().__init__(f"{first}{more}")


class DailyConflictError(DailyError, AirflowFailException):
    """The domain is in a state the task will not change on its own (e.g. a number on the
    pinless flow without ``move=True``). Fails a task without retries."""


class DailyConfigError(DailyError, AirflowFailException, ValueError):
    """Configuration or run parameters that cannot work (a missing connection, a malformed
    ``daily_provisioning`` Variable, a window whose end is before its start). Fails the task at
    once: the message says what to fix."""


class DailyTransportError(DailyError):
    """The request got no HTTP answer: timeout, connection refused or reset."""

    def __init__(self, *, method: str, path: str, reason: str) -> None:
        self.method = method
        self.path = path
        self.reason = reason
        super().__init__(f"{method} {path}: no answer from Daily ({reason})")


class DailyApiError(DailyError):
    """Daily answered with an error status."""

    def __init__(
        self,
        *,
        status: int,
        error: str | None,
        info: str | None,
        method: str,
        path: str,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.info = info
        self.method = method
        self.path = path
        self.retry_after = retry_after
        detail = f": {info}" if info else ""
        super().__init__(f"{method} {path} -> {status} {error or 'unknown-error'}{detail}")


class DailyAuthError(DailyApiError, AirflowFailException):
    """Missing, malformed or unknown API key, or a forbidden resource (400/401/403).

    Fails a task at once: no retry fixes a wrong key."""


class DailyInvalidRequestError(DailyApiError):
    """400 ``invalid-request-error`` or ``json-parsing-error``: not retryable as is."""


class DailyRoomAlreadyExistsError(DailyInvalidRequestError):
    """A room with this name already exists on the domain."""


class DailyQuotaReachedError(DailyInvalidRequestError):
    """The domain's live-room quota is used up. Not retryable: rooms must expire or be deleted."""


class DailyNotFoundError(DailyApiError):
    """404: no such room, dial-in config or number."""


class DailyRateLimitedError(DailyApiError):
    """429 ``rate-limit-error``. Retried with backoff (honouring ``Retry-After`` when sent)."""


class DailyServerError(DailyApiError):
    """5xx: a fault on Daily's side. Retried with backoff."""


class DailyBulkDeleteError(DailyError):
    """A bulk delete stopped early: an outage outlasted the hook's retries (retryable, like it).

    Nothing done is lost: ``results`` holds every name settled before the stop (``None``: deleted
    or already gone; a string: why that room could not be deleted), ``pending`` the names not
    settled (retry them), ``cause`` the error that stopped the call (also ``__cause__``)."""

    def __init__(self, *, results: Mapping[str, str | None], pending: tuple[str, ...], cause: DailyError) -> None:
        self.results: dict[str, str | None] = dict(results)
        self.pending = tuple(pending)
        self.cause = cause
        total = len(self.results) + len(self.pending)
        super().__init__(f"bulk delete stopped with {len(self.pending)} of {total} rooms not done: {cause}")


class DailyBulkDeleteAbortedError(DailyBulkDeleteError, AirflowFailException):
    """A bulk delete stopped by a wrong key or setting (:class:`DailyAuthError`,
    :class:`DailyConfigError`): same attributes, but fails a task without retries."""


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: not worth parsing, backoff applies instead
    return max(seconds, 0.0)


def _error_fields(body: Any) -> tuple[str | None, str | None]:
    """Daily's stable ``error`` code and its free-text ``info`` from an error body of any shape."""
    body = body if isinstance(body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), str) else None
    info = body.get("info")
    if info is not None and not isinstance(info, str):
        info = str(info)
    if error is None and "errors" in body:  # /buy-phone-number style 422 bodies
        info = info or str(body["errors"])
    return error, info


def _is_already_exists(status: int, error: str | None, info: str) -> bool:
    return status == 400 and ALREADY_EXISTS_MARKER in info and "room" in info


def _is_quota(status: int, error: str | None, info: str) -> bool:
    return status == 400 and error in (None, "invalid-request-error") and QUOTA_PATTERN.search(info) is not None


# (rule, class): the first rule that holds for (status, error code, lower-cased info) wins.
_ERROR_RULES: tuple[tuple[Callable[[int, str | None, str], bool], type[DailyApiError]], ...] = (
    (lambda status, error, _: status == 429 or error == "rate-limit-error", DailyRateLimitedError),
    (lambda status, _error, _info: status >= 500, DailyServerError),
    (lambda status, _error, _info: status == 404, DailyNotFoundError),
    (lambda status, error, _: status in (401, 403) or error in AUTH_ERROR_CODES, DailyAuthError),
    (_is_already_exists, DailyRoomAlreadyExistsError),
    (_is_quota, DailyQuotaReachedError),
    (lambda status, _error, _info: status in (400, 422), DailyInvalidRequestError),
)


def error_class_for(status: int, error: str | None, info: str | None) -> type[DailyApiError]:
    """The most specific :class:`DailyApiError` subclass for an error answer."""
    lowered = (info or "").lower()
    return next((cls for rule, cls in _ERROR_RULES if rule(status, error, lowered)), DailyApiError)


def error_from_response(
    *, status: int, body: Any, method: str, path: str, headers: dict[str, str] | None = None
) -> DailyApiError:
    """Build the most specific :class:`DailyApiError` for an error response."""
    error, info = _error_fields(body)
    lowered_headers = {str(k).lower(): v for k, v in (headers or {}).items()}
    retry_after = _parse_retry_after(lowered_headers.get("retry-after"))
    return error_class_for(status, error, info)(
        status=status, error=error, info=info, method=method, path=path, retry_after=retry_after
    )
