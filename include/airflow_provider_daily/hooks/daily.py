"""DailyHook: typed client of Daily's REST API on top of the HTTP provider's ``HttpHook``.

What it adds to ``HttpHook``:

* the ``daily`` connection type: host defaults to ``https://api.daily.co/v1`` (set it to the
  emulator's URL in tests and demos), the API key is the connection password and travels only in
  the ``Authorization`` header of one cached session - never in logs, errors or reprs;
* one method per endpoint, taking and returning the pydantic models of :mod:`..models`, and
  iterators that walk every page;
* typed errors (:mod:`..errors`);
* retries with exponential backoff and jitter on 429, 5xx, timeouts and connection errors only,
  honouring ``Retry-After``, bounded in attempts and in time (settings in connection extras);
* client-side pacing per endpoint class so a normal run causes no 429;
* :meth:`ensure_room`, the idempotent create: the room name is the key, so a retried create that
  finds its name taken fetches the room, checks it, updates it if its settings drifted, and
  makes sure it has a PIN. A lost response can therefore never produce a second room.
  :meth:`reconcile_room` is that reuse step alone, also for a room the caller already holds
  (the bulk path's listing), which it does not fetch again;
* presence (:meth:`get_presence`, :meth:`get_room_presence`) and the rule of :mod:`..presence` on
  the one update path: :meth:`reconcile_room` never moves a room's ``exp`` earlier to before now +
  ``live_exp_margin_seconds`` while anyone is in it (or presence cannot say) - it keeps the room's
  ``exp`` and reports that as :attr:`EnsuredRoom.deferred`.

This module holds the connection, the session and the one request path (pacing, retries, the
deadline); the endpoints live in three mixins the hook inherits, each a module of its own:
:mod:`.daily_rooms` (rooms, the idempotent create, the reuse path, presence), :mod:`.daily_account`
(dial-in configs, numbers, the connection test, domain, tokens) and :mod:`.daily_calls` (webhooks,
meetings analytics). Import everything from here: ``from airflow_provider_daily.hooks.daily import
DailyHook, EnsuredRoom``.

May import: Airflow's http provider, tenacity, requests and the provider's own modules.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

import requests
import tenacity
from airflow.providers.http.hooks.http import HttpHook

from airflow_provider_daily.client_settings import DailyClientSettings
from airflow_provider_daily.errors import (
    DailyConfigError,
    DailyRateLimitedError,
    DailyServerError,
    DailyTransportError,
    error_from_response,
)
from airflow_provider_daily.hooks.daily_account import NUMBERS_PAGE_LIMIT, DailyAccountMixin
from airflow_provider_daily.hooks.daily_calls import MEETINGS_PAGE_LIMIT, DailyCallsMixin
from airflow_provider_daily.hooks.daily_rooms import (  # re-exported: their import path is this module
    ROOMS_PAGE_LIMIT,
    DailyRoomsMixin,
    EnsuredRoom,
    Outcome,
    _presence_by_room,
)
from airflow_provider_daily.models import BATCH_LIMIT
from airflow_provider_daily.pacing import shared_pacer

DAILY_API_URL = "https://api.daily.co/v1"
# An exp moved earlier to less than this from now is kept while the room is live (or presence cannot say).
DEFAULT_LIVE_EXP_MARGIN_SECONDS = 15 * 60

__all__ = [
    "BATCH_LIMIT",
    "DAILY_API_URL",
    "DEFAULT_LIVE_EXP_MARGIN_SECONDS",
    "MEETINGS_PAGE_LIMIT",
    "NUMBERS_PAGE_LIMIT",
    "ROOMS_PAGE_LIMIT",
    "DailyHook",
    "EnsuredRoom",
    "Outcome",
    "_presence_by_room",
]


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, DailyRateLimitedError | DailyServerError | DailyTransportError)


class _BackoffWait(tenacity.wait.wait_base):
    """Exponential backoff with full jitter; a server's ``Retry-After`` wins when it is longer
    (up to ``retry_after_cap``: a server asking for more than the whole retry budget is not waited
    for, the deadline stops the retries instead)."""

    def __init__(self, *, minimum: float, maximum: float, retry_after_cap: float) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.retry_after_cap = retry_after_cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        ceiling = min(self.maximum, self.minimum * 2 ** (retry_state.attempt_number - 1))
        delay = random.uniform(self.minimum, max(self.minimum, ceiling))
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            delay = max(delay, min(float(retry_after), self.retry_after_cap))
        return delay


class DailyHook(DailyRoomsMixin, DailyAccountMixin, DailyCallsMixin, HttpHook):
    """Interact with Daily's REST API (rooms, PIN dial-in, dial-in configs, phone numbers).

    :param daily_conn_id: a ``daily`` connection: host = API base URL (default Daily's), password
        = API key; retry, timeout and pacing settings in extras (see :class:`DailyClientSettings`).
    :param rate_limit_share: fraction of Daily's rate limits this hook may use; give parallel
        tasks that share one API key ``1 / parallelism`` each.
    :param deadline_seconds: a total time budget for everything this hook does, retries included
        (e.g. one chunk of a provisioning run): once spent, a retryable failure is raised instead
        of retried and every request's timeout is cut to what is left. ``None``: no budget beyond
        the per-request ``retry_deadline``.
    :param live_exp_margin_seconds: :meth:`reconcile_room` never moves a room's ``exp`` earlier to
        before now + this while anyone is in the room (or presence cannot say): it keeps its ``exp``.

    Example::

        hook = DailyHook(daily_conn_id="daily_default")
        room = hook.ensure_room(RoomCreate(name="mtg-4711", properties=RoomProperties(exp=..., dialin=...)))
        print(room.outcome, room.room.url)
    """

    conn_name_attr = "daily_conn_id"
    default_conn_name = "daily_default"
    conn_type = "daily"
    hook_name = "Daily"
    default_host = DAILY_API_URL

    def __init__(
        self,
        *,
        daily_conn_id: str = default_conn_name,
        rate_limit_share: float = 1.0,
        deadline_seconds: float | None = None,
        live_exp_margin_seconds: float = DEFAULT_LIVE_EXP_MARGIN_SECONDS,
    ) -> None:
        super().__init__(method="GET", http_conn_id=daily_conn_id)
        if not 0 < rate_limit_share <= 1:
            raise ValueError("rate_limit_share must be in (0, 1]")
        if live_exp_margin_seconds < 0:
            raise ValueError("live_exp_margin_seconds must not be negative")
        self.live_exp_margin_seconds = live_exp_margin_seconds
        self.daily_conn_id = daily_conn_id
        self.rate_limit_share = rate_limit_share
        self._deadline = None if deadline_seconds is None else time.monotonic() + deadline_seconds
        self._session: requests.Session | None = None
        self._settings: DailyClientSettings | None = None
        self._scope = ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(daily_conn_id={self.daily_conn_id!r})"

    # -- connection and session ------------------------------------------------------------
    @property
    def settings(self) -> DailyClientSettings:
        if self._settings is None:
            self.get_conn()
        assert self._settings is not None
        return self._settings

    def get_conn(self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None):
        """One ``requests.Session`` per hook, with the key in its ``Authorization`` header."""
        if self._session is not None and not headers and not extra_options:
            return self._session
        try:
            connection = self.get_connection(self.daily_conn_id)
        except Exception as exc:  # AirflowNotFoundException, or a broken secrets backend
            raise DailyConfigError(
                f"connection {self.daily_conn_id!r} could not be read ({type(exc).__name__}): create a connection "
                "of type Daily with the API key as its password"
            ) from None
        if not connection.password:
            raise DailyConfigError(f"connection {self.daily_conn_id!r} has no API key (password field)")
        try:
            self._settings = DailyClientSettings.from_extra(connection.extra_dejson)
        except ValueError as exc:
            raise DailyConfigError(f"connection {self.daily_conn_id!r} has invalid extras: {exc}") from None
        session = super().get_conn(headers=headers, extra_options=extra_options)
        session.headers["Authorization"] = f"Bearer {connection.password}"
        session.headers["Accept"] = "application/json"
        key_digest = hashlib.sha256(connection.password.encode()).hexdigest()[:12]
        self._scope = f"{self.base_url}|{key_digest}"
        self._session = session
        return session

    def _configure_session_from_auth(self, session, connection):
        """No HTTP basic auth from login/password: Daily takes the key as a Bearer token (get_conn)."""
        return session

    def _configure_session_from_extra(self, session, connection, extra_options):
        """HttpHook turns unknown extras into headers: keep our settings (and the webhook secret) out of them."""
        session = super()._configure_session_from_extra(session, connection, extra_options)
        for key in (*DailyClientSettings.extra_keys(), "webhook_secret"):
            session.headers.pop(key, None)
            session.headers.pop(f"extra__daily__{key}", None)
        return session

    # -- one request ----------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        json: Any,
        endpoint_class: str,
    ) -> Any:
        session = self.get_conn()
        settings = self.settings
        pacer = shared_pacer(
            scope=self._scope,
            endpoint_class=endpoint_class,
            limits=settings.rate_limits,
            safety=settings.rate_limit_safety,
            share=self.rate_limit_share,
        )
        pacer.acquire()
        url = self.url_from_endpoint(path)
        timeout = settings.timeout
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise DailyTransportError(method=method, path=path, reason="the hook's deadline is spent")
            timeout = min(timeout, max(left, 0.5))
        try:
            response = session.request(method, url, params=params, json=json, timeout=timeout)
        except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise DailyTransportError(method=method, path=path, reason=type(exc).__name__) from None
        self._raise_for_error(response, method=method, path=path)
        try:
            return response.json() if response.content else None
        except ValueError:
            return None

    @staticmethod
    def _raise_for_error(response: requests.Response, *, method: str, path: str) -> None:
        """Raise the most specific :class:`DailyApiError` for a 4xx/5xx answer."""
        if response.status_code < 400:
            return
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"info": response.text[:300]}
        raise error_from_response(
            status=response.status_code, body=body, method=method, path=path, headers=dict(response.headers)
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        endpoint_class: str = "default",
    ) -> Any:
        """Send one API request with pacing and retries; return the decoded JSON body.

        Retries only what may succeed later (429, 5xx, no answer). A retried ``POST`` is safe
        here because every create names its room: a repeat can only fail with "already exists".
        """
        settings = self.settings
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_retryable),
            wait=_BackoffWait(
                minimum=settings.retry_min_wait,
                maximum=settings.retry_max_wait,
                retry_after_cap=settings.retry_deadline,
            ),
            stop=tenacity.stop_after_attempt(settings.max_attempts)
            | tenacity.stop_after_delay(settings.retry_deadline)
            | self._stop_at_deadline,
            before_sleep=self._log_retry,
            reraise=True,
        )
        return retrying(self._send, method, path, params=params, json=json, endpoint_class=endpoint_class)

    def _stop_at_deadline(self, retry_state: tenacity.RetryCallState) -> bool:
        """Stop retrying when the hook's total budget is spent or the next wait would overrun it."""
        if self._deadline is None:
            return False
        upcoming = retry_state.upcoming_sleep or 0.0
        return time.monotonic() + upcoming >= self._deadline

    def _log_retry(self, retry_state: tenacity.RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        delay = retry_state.next_action.sleep if retry_state.next_action else 0.0
        self.log.warning(
            "Daily request failed (%s), attempt %d; retrying in %.2fs",
            exc,
            retry_state.attempt_number,
            delay,
        )

    def check_response(self, response: requests.Response) -> None:
        """Raise the typed error for an error response (``HttpHook.run`` compatibility)."""
        request = response.request
        self._raise_for_error(
            response, method=(request.method if request else None) or "?", path=request.path_url if request else "?"
        )
