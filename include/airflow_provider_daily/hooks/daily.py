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
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import requests
import tenacity
from airflow.providers.http.hooks.http import HttpHook

from airflow_provider_daily.client_settings import DailyClientSettings
from airflow_provider_daily.errors import (
    DailyApiError,
    DailyConfigError,
    DailyError,
    DailyNotFoundError,
    DailyRateLimitedError,
    DailyRoomAlreadyExistsError,
    DailyServerError,
    DailyTransportError,
    error_from_response,
)
from airflow_provider_daily.models import (
    BATCH_LIMIT,
    DeletedRoom,
    DialinConfig,
    DialinConfigList,
    DomainConfig,
    MeetingList,
    MeetingParticipant,
    MeetingSession,
    MeetingTokenProperties,
    Participant,
    PurchasedPhoneNumber,
    PurchasedPhoneNumberList,
    Room,
    RoomCreate,
    RoomList,
    RoomPresence,
    RoomProperties,
)
from airflow_provider_daily.pacing import shared_pacer
from airflow_provider_daily.presence import room_check
from airflow_provider_daily.rooms import (
    room_differences,
    update_properties,
    validate_room_create,
    validate_room_creates,
    validate_room_name,
)

DAILY_API_URL = "https://api.daily.co/v1"
ROOMS_PAGE_LIMIT = 100
NUMBERS_PAGE_LIMIT = 50
MEETINGS_PAGE_LIMIT = 100  # [doc] at most 100 meeting sessions per call
# An exp moved earlier to less than this from now is kept while the room is live (or presence cannot say).
DEFAULT_LIVE_EXP_MARGIN_SECONDS = 15 * 60

Outcome = Literal["created", "reused", "updated"]
__all__ = ["BATCH_LIMIT", "DAILY_API_URL", "DailyHook", "EnsuredRoom", "Outcome"]


@dataclass(frozen=True)
class EnsuredRoom:
    """A room that exists with the requested settings and (for dial-in rooms) a PIN."""

    room: Room
    outcome: Outcome
    # why the room's exp was not moved as far as requested: "deferred: live (N participants, M on
    # the phone)" or "deferred: presence unknown (...)"; None when the spec was applied as it is
    deferred: str | None = None


def _walk_pages(fetch: Callable[[str | None], list[Any]], page_size: int) -> Iterator[Any]:
    """Follow Daily's ``starting_after`` cursor (the last item's id) until a short page."""
    cursor: str | None = None
    while True:
        items = fetch(cursor)
        yield from items
        if len(items) < page_size or not getattr(items[-1], "id", None):
            return
        cursor = items[-1].id


def _batch_rooms_in_order(body: Any, specs: list[RoomCreate]) -> list[Room]:
    """The rooms of a ``POST /batch/rooms`` answer (a list, or one under ``data``/``rooms``), in request order."""
    items = body.get("data", body.get("rooms")) if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise DailyError("POST /batch/rooms answered without a list of rooms")
    by_name = {room.name: room for room in (Room.model_validate(item) for item in items)}
    missing = [s.name for s in specs if s.name not in by_name]
    if missing:
        raise DailyError(f"POST /batch/rooms did not return {len(missing)} of the requested rooms")
    return [by_name[s.name] for s in specs]


def _presence_by_room(body: Any) -> dict[str, list[Participant]]:
    """``GET /presence``'s ``{<room>: [participant, ...]}`` [doc], typed; an unreadable answer raises."""
    if body is None:
        return {}
    if not isinstance(body, dict) or not all(isinstance(items, list) for items in body.values()):
        raise DailyError("GET /presence answered without a map of rooms to participants")
    try:
        return {str(room): [Participant.model_validate(item) for item in items] for room, items in body.items()}
    except ValueError:
        raise DailyError("GET /presence answered with unreadable participants") from None


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"


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


class DailyHook(HttpHook):
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

    # -- rooms ----------------------------------------------------------------------------
    # Specs are validated once, where they enter the hook (the public methods below); the private
    # steps they share (_post_room, _reconcile) never validate again.
    def create_room(self, spec: RoomCreate) -> Room:
        """``POST /rooms``. Raises :class:`DailyRoomAlreadyExistsError` if the name is taken;
        use :meth:`ensure_room` for the idempotent form."""
        validate_room_create(spec)
        return self._post_room(spec)

    def _post_room(self, spec: RoomCreate) -> Room:
        return Room.model_validate(self.request("POST", "/rooms", json=spec.to_api()))

    def get_room(self, name: str) -> Room:
        """``GET /rooms/:name`` (PIN included). Raises :class:`DailyNotFoundError`."""
        return Room.model_validate(self.request("GET", f"/rooms/{quote(validate_room_name(name))}"))

    def update_room(
        self,
        name: str,
        *,
        properties: RoomProperties | dict[str, Any] | None = None,
        privacy: str | None = None,
    ) -> Room:
        """``POST /rooms/:name``. In a dict, a property set to ``None`` resets it."""
        body: dict[str, Any] = {}
        if privacy is not None:
            body["privacy"] = privacy
        if isinstance(properties, RoomProperties):
            body["properties"] = properties.to_api()
        elif properties is not None:
            body["properties"] = properties
        path = f"/rooms/{quote(validate_room_name(name))}"
        return Room.model_validate(self.request("POST", path, json=body))

    def delete_room(self, name: str, *, missing_ok: bool = True) -> bool:
        """``DELETE /rooms/:name`` (slow rate class). Returns False if it was already gone."""
        path = f"/rooms/{quote(validate_room_name(name))}"
        try:
            DeletedRoom.model_validate(self.request("DELETE", path, endpoint_class="delete"))
        except DailyNotFoundError:
            if not missing_ok:
                raise
            return False
        return True

    def list_rooms(
        self,
        *,
        limit: int = ROOMS_PAGE_LIMIT,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> RoomList:
        """One page of ``GET /rooms``, newest first."""
        params: dict[str, Any] = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        if ending_before:
            params["ending_before"] = ending_before
        return RoomList.model_validate(self.request("GET", "/rooms", params=params))

    def iter_rooms(self, *, page_size: int = ROOMS_PAGE_LIMIT) -> Iterator[Room]:
        """Every live room, newest first, following the cursor across pages."""
        return _walk_pages(lambda cursor: self.list_rooms(limit=page_size, starting_after=cursor).data, page_size)

    def create_rooms_batch(self, specs: list[RoomCreate]) -> list[Room]:
        """``POST /batch/rooms``: up to 1000 rooms, all or nothing, returned in request order.

        Refuses the whole call before sending if any spec is invalid, raising
        :class:`DailyInvalidSpecsError` with the reason for each refused name."""
        if not 1 <= len(specs) <= BATCH_LIMIT:
            raise ValueError(f"a batch holds 1 to {BATCH_LIMIT} rooms, not {len(specs)}")
        validate_room_creates(specs)
        body = self.request("POST", "/batch/rooms", json={"rooms": [s.to_api() for s in specs]})
        return _batch_rooms_in_order(body, specs)

    def delete_rooms_batch(self, names: list[str]) -> int:
        """``DELETE /batch/rooms``; returns how many were deleted."""
        for name in names:
            validate_room_name(name)
        body = self.request("DELETE", "/batch/rooms", json={"room_names": names})
        return int((body or {}).get("deleted_count", 0))

    def ensure_room(self, spec: RoomCreate) -> EnsuredRoom:
        """Create the room, or reuse the one that already has its name; either way with a PIN.

        Reuse checks the existing room against the requested settings and updates it when they
        differ, so a retried or repeated run converges on exactly one room per name.
        """
        validate_room_create(spec)
        try:
            room = self._post_room(spec)
        except DailyRoomAlreadyExistsError:
            return self._reconcile(spec, None)
        return EnsuredRoom(room=self.ensure_pin(room, spec), outcome="created")

    def reconcile_room(self, spec: RoomCreate, *, room: Room | None = None) -> EnsuredRoom:
        """Bring the existing room named ``spec.name`` to ``spec``'s settings, with a PIN.

        The one reuse path (:meth:`ensure_room` and :class:`~airflow_provider_daily.bulk.BulkRoomCreator`
        both end here): reuse the room as it is when nothing differs; otherwise update only what
        differs (``dialin`` only when a dial-in field does) and compare the PIN after the update;
        enable dial-in through ``POST /rooms/:name`` if the room still has no PIN. A room that is
        gone (expired or deleted) is created again.

        :param room: the room as just read (a listing, a ``GET``): used as it is, not fetched again.
            ``None``: fetch it.
        """
        validate_room_create(spec)
        return self._reconcile(spec, room)

    def _reconcile(self, spec: RoomCreate, room: Room | None) -> EnsuredRoom:
        requested, deferred = spec, None
        try:
            room = self.get_room(spec.name) if room is None else room
            spec, deferred = self.guard_exp(room, spec)
            room, outcome = self._converge(room, spec)
        except DailyNotFoundError:
            # it expired or was deleted since the create, the listing or the fetch: make it again
            spec, deferred = requested, None
            room, outcome = self._post_room(spec), "created"
        return EnsuredRoom(room=self.ensure_pin(room, spec), outcome=outcome, deferred=deferred)

    def guard_exp(self, room: Room, spec: RoomCreate) -> tuple[RoomCreate, str | None]:
        """``spec``, with its ``exp`` raised to what :meth:`live_exp` allows for ``room``, and the
        reason when it had to be raised (``None``: ``spec`` as it is). Asks Daily only when the
        ``exp`` moves earlier, to before now + ``live_exp_margin_seconds``."""
        wanted = spec.properties.exp
        if wanted is None:
            return spec, None
        exp, deferred = self.live_exp(room.name, wanted=wanted, current=room.config.exp)
        if deferred is None:
            return spec, None
        properties = spec.properties.model_copy(update={"exp": exp})
        return spec.model_copy(update={"properties": properties}), deferred

    def live_exp(self, name: str, *, wanted: float, current: float | None) -> tuple[float, str | None]:
        """The ``exp`` room ``name`` may get instead of ``wanted`` (its ``exp`` now: ``current``),
        and why it differs (``"deferred: live (...)"``; ``None``: ``wanted`` is fine).

        The rule: an ``exp`` is never moved earlier to before now + ``live_exp_margin_seconds``
        while anyone is in the room, nor when presence cannot say (:func:`..presence.room_check`,
        one ``GET /rooms/:name/presence``, made only for such a move): the room keeps ``current``
        until a later call finds it empty. Keeping it, rather than setting now + the margin, means
        a meeting that outlasts the margin is not cut when the next retry comes late. A room that is
        empty, and a move that stays beyond the margin, get ``wanted``."""
        floor = time.time() + self.live_exp_margin_seconds
        if current is None or wanted >= current or wanted >= floor:
            return wanted, None
        presence = room_check(self, name)
        reason = presence.reason(name)
        if reason is None:
            return wanted, None
        self.log.warning(
            "Room %s: exp kept, the new one is less than %d s away (%s)",
            name,
            int(self.live_exp_margin_seconds),
            reason,
        )
        return current, f"{reason}: exp kept, the new one is less than {_minutes(self.live_exp_margin_seconds)} away"

    def _converge(self, room: Room, spec: RoomCreate) -> tuple[Room, Outcome]:
        """Update ``room`` where it differs from ``spec``; raises :class:`DailyNotFoundError` if it is gone."""
        diffs = room_differences(room, spec)
        if not diffs:
            return room, "reused"
        self.log.info("Room %s exists with other settings (%s); updating it", spec.name, sorted(diffs))
        privacy = spec.privacy if "privacy" in diffs else None
        updated = self.update_room(spec.name, properties=update_properties(diffs, spec), privacy=privacy)
        if room.pin and updated.pin != room.pin:
            # the caller compares PINs with its records and reports the change; say it here too
            self.log.warning("Room %s has another PIN after the update of %s", spec.name, sorted(diffs))
        return updated, "updated"

    def ensure_pin(self, room: Room, spec: RoomCreate) -> Room:
        """Turn dial-in on through ``POST /rooms/:name`` (the documented path) if the room lacks a PIN.

        ``spec`` is the (validated) spec the room was created or reconciled from."""
        if spec.properties.dialin is None or room.pin:
            return room
        props = {"dialin": spec.properties.dialin.to_api(), "exp": spec.properties.exp}
        room = self.update_room(spec.name, properties=props)
        if not room.pin:
            raise DailyError(f"room {spec.name}: Daily returned no PIN after enabling dial-in")
        return room

    # -- presence ---------------------------------------------------------------------------------
    # Daily's presence lags by about 15 s and polling it more often is pointless [doc]; these
    # calls are made once per run (GET /presence) and once per room right before a destructive act.
    def get_presence(self) -> dict[str, list[Participant]]:
        """``GET /presence``: every room with anyone in it -> its participants [doc]. A room
        nobody is in is not listed. An answer of another shape raises :class:`DailyError`."""
        return _presence_by_room(self.request("GET", "/presence"))

    def room_presence(self, name: str, *, limit: int | None = None) -> RoomPresence:
        """``GET /rooms/:name/presence``: ``{total_count, data}`` [doc], typed."""
        params = {"limit": limit} if limit else None
        body = self.request("GET", f"/rooms/{quote(validate_room_name(name))}/presence", params=params)
        if not isinstance(body, dict):
            raise DailyError(f"GET /rooms/{name}/presence answered without an object")
        try:
            return RoomPresence.model_validate(body)
        except ValueError:
            raise DailyError(f"GET /rooms/{name}/presence answered with unreadable participants") from None

    def get_room_presence(self, name: str) -> list[Participant]:
        """The participants in room ``name`` now (``GET /rooms/:name/presence``'s ``data``)."""
        return self.room_presence(name).data

    # -- dial-in configs and phone numbers ----------------------------------------------------
    def list_dialin_configs(
        self,
        *,
        limit: int = ROOMS_PAGE_LIMIT,
        starting_after: str | None = None,
        type: str | None = None,
        phone_number: str | None = None,
        name_prefix: str | None = None,
    ) -> DialinConfigList:
        params = {
            "limit": limit,
            "starting_after": starting_after,
            "type": type,
            "phone_number": phone_number,
            "name_prefix": name_prefix,
        }
        params = {k: v for k, v in params.items() if v is not None}
        return DialinConfigList.model_validate(self.request("GET", "/domain-dialin-config", params=params))

    def iter_dialin_configs(self, **filters: Any) -> Iterator[DialinConfig]:
        return _walk_pages(
            lambda cursor: self.list_dialin_configs(limit=ROOMS_PAGE_LIMIT, starting_after=cursor, **filters).data,
            ROOMS_PAGE_LIMIT,
        )

    def get_dialin_config(self, config_id: str) -> DialinConfig:
        path = f"/domain-dialin-config/{quote(config_id, safe='')}"
        return DialinConfig.model_validate(self.request("GET", path))

    def create_dialin_config(self, body: dict[str, Any]) -> DialinConfig:
        """``POST /domain-dialin-config`` with the flat body (``type``, ``phone_number``, ...)."""
        return DialinConfig.model_validate(self.request("POST", "/domain-dialin-config", json=body))

    def update_dialin_config(self, config_id: str, body: dict[str, Any]) -> DialinConfig:
        path = f"/domain-dialin-config/{quote(config_id, safe='')}"
        return DialinConfig.model_validate(self.request("PUT", path, json=body))

    def delete_dialin_config(self, config_id: str) -> None:
        self.request("DELETE", f"/domain-dialin-config/{quote(config_id, safe='')}")

    def list_purchased_phone_numbers(
        self, *, limit: int = NUMBERS_PAGE_LIMIT, starting_after: str | None = None
    ) -> PurchasedPhoneNumberList:
        params: dict[str, Any] = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        body = self.request("GET", "/purchased-phone-numbers", params=params)
        return PurchasedPhoneNumberList.model_validate(body)

    def iter_purchased_phone_numbers(self) -> Iterator[PurchasedPhoneNumber]:
        return _walk_pages(
            lambda cursor: self.list_purchased_phone_numbers(limit=NUMBERS_PAGE_LIMIT, starting_after=cursor).data,
            NUMBERS_PAGE_LIMIT,
        )

    # -- connection test ----------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """Used by the UI's "Test" button: the key and its domain (``GET /``), then the numbers on the
        PIN flow (the connection's fallback number must be one unless it is Daily's global number);
        the message says which part failed. ``python -m daily_dialin doctor`` checks the rest."""
        try:
            domain = self.get_domain()
            page = self.list_rooms(limit=1)
        except DailyApiError as exc:
            return False, f"key: Daily refused the request: {exc}"
        except DailyError as exc:
            return False, f"key: {exc}"
        name = domain.domain_name or domain.domain_id
        found = f"key: ok, domain {name!r} at {self.base_url} ({page.total_count} live rooms)"
        ok, numbers = self._test_pin_numbers()
        return ok, f"{found}; numbers: {numbers}"

    def _test_pin_numbers(self) -> tuple[bool, str]:
        """Part of :meth:`test_connection`: which purchased numbers are on a ``pin_dialin`` config."""
        from airflow_provider_daily.models import US_GLOBAL_DIALIN_NUMBER

        try:
            pin = sorted({str(c.config.phone_number) for c in self.iter_dialin_configs() if c.type == "pin_dialin"})
            fallback = self.settings.default_dialin_number
        except DailyError as exc:
            return False, f"cannot list the dial-in configs ({exc})"
        if not pin:
            return False, "no number is on the PIN flow: create a pin_dialin config (POST /domain-dialin-config)"
        if fallback != US_GLOBAL_DIALIN_NUMBER and fallback not in pin:
            return False, f"the fallback default_dialin_number {fallback} is not on the PIN flow ({', '.join(pin)} are)"
        return True, f"{', '.join(pin)} on the PIN flow"

    # -- domain and meeting tokens --------------------------------------------------------------
    def get_domain(self) -> DomainConfig:
        """``GET /``: the domain configuration, with the ``domain_id`` self-signed tokens carry as ``d``."""
        return DomainConfig.model_validate(self.request("GET", "/"))

    def create_meeting_token(self, properties: MeetingTokenProperties | dict[str, Any]) -> str:
        """``POST /meeting-tokens``: mint a token and return it. The token is a secret like a PIN:
        never log it, never return it to XCom. A retried call at worst mints a second token."""
        props = MeetingTokenProperties.model_validate(properties).to_api()
        body = self.request("POST", "/meeting-tokens", json={"properties": props})
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise DailyError("POST /meeting-tokens answered without a token")
        return token

    def validate_meeting_token(self, token: str) -> MeetingTokenProperties:
        """``GET /meeting-tokens/:token``: the properties of a valid token (self-signed ones too).

        An invalid token raises :class:`DailyInvalidRequestError`. The token travels in the path,
        so this call is not retried (a retry warning would show the path) and errors name the path
        with the token left out.
        """
        hidden = "/meeting-tokens/<token>"
        try:
            body = self._send(
                "GET", f"/meeting-tokens/{quote(token, safe='')}", params=None, json=None, endpoint_class="default"
            )
        except DailyTransportError as exc:
            raise DailyTransportError(method="GET", path=hidden, reason=exc.reason) from None
        except DailyApiError as exc:
            raise type(exc)(
                status=exc.status,
                error=exc.error,
                info=exc.info,
                method="GET",
                path=hidden,
                retry_after=exc.retry_after,
            ) from None
        return MeetingTokenProperties.model_validate(body)

    # -- webhooks (the calls loop; Daily posts events to the application's receiver) ------------------
    # Answers are plain dicts ({uuid, url, hmac, state, failedCount, eventTypes, ...} [doc]): ``hmac``
    # is the webhook's secret - never log or return it to XCom.
    @staticmethod
    def _webhook_list(body: Any) -> list[dict[str, Any]]:
        items = body.get("data", body.get("webhooks")) if isinstance(body, dict) else body
        return [item for item in items or [] if isinstance(item, dict)] if isinstance(items, list) else []

    def list_webhooks(self) -> list[dict[str, Any]]:
        """``GET /webhooks``: the domain's webhooks (a list, or one under ``data``: both are read)."""
        return self._webhook_list(self.request("GET", "/webhooks"))

    def create_webhook(
        self,
        *,
        url: str,
        event_types: list[str],
        hmac_secret: str | None = None,
        retry_type: str | None = None,
    ) -> dict[str, Any]:
        """``POST /webhooks``. Sent once, not retried (a retried create could make a second hook):
        list first and reuse one with the same URL (what the bootstrap does)."""
        body: dict[str, Any] = {"url": url, "eventTypes": event_types}
        if hmac_secret:
            body["hmac"] = hmac_secret
        if retry_type:
            body["retryType"] = retry_type
        return dict(self._send("POST", "/webhooks", params=None, json=body, endpoint_class="default") or {})

    def update_webhook(self, uuid: str, fields: dict[str, Any]) -> dict[str, Any]:
        """``POST /webhooks/:uuid``: change a webhook; on a FAILED one this re-arms it [doc]."""
        return dict(self.request("POST", f"/webhooks/{quote(uuid, safe='')}", json=fields) or {})

    def delete_webhook(self, uuid: str) -> None:
        """``DELETE /webhooks/:uuid``."""
        self.request("DELETE", f"/webhooks/{quote(uuid, safe='')}")

    # -- meetings analytics (the calls loop's fallback without webhooks) --------------------------
    # ~15 s granularity, joins under 10 s not recorded, no phone flag on participants [doc].
    def list_meetings(
        self,
        *,
        limit: int = MEETINGS_PAGE_LIMIT,
        starting_after: str | None = None,
        room: str | None = None,
        timeframe_start: int | None = None,
        timeframe_end: int | None = None,
        ongoing: bool | None = None,
        no_participants: bool | None = None,
    ) -> MeetingList:
        """``GET /meetings``: one page, newest first [doc]; the timeframe is unix seconds."""
        params = {
            "limit": limit,
            "starting_after": starting_after,
            "room": room,
            "timeframe_start": timeframe_start,
            "timeframe_end": timeframe_end,
            "ongoing": None if ongoing is None else str(ongoing).lower(),
            "no_participants": None if no_participants is None else str(no_participants).lower(),
        }
        params = {k: v for k, v in params.items() if v is not None}
        return MeetingList.model_validate(self.request("GET", "/meetings", params=params))

    def iter_meetings(self, **filters: Any) -> Iterator[MeetingSession]:
        """Every meeting session matching ``filters`` (:meth:`list_meetings`'s), following the cursor."""
        return _walk_pages(
            lambda cursor: self.list_meetings(limit=MEETINGS_PAGE_LIMIT, starting_after=cursor, **filters).data,
            MEETINGS_PAGE_LIMIT,
        )

    def iter_meeting_participants(
        self, meeting_id: str, *, page_size: int = MEETINGS_PAGE_LIMIT
    ) -> Iterator[MeetingParticipant]:
        """``GET /meetings/:id/participants``, in join order, paging with ``joined_after`` (the last
        participant id) until Daily answers 404, which is how it says the pages ran out [doc]. An
        unknown meeting is therefore an empty iterator too."""
        path = f"/meetings/{quote(meeting_id, safe='')}/participants"
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if after:
                params["joined_after"] = after
            try:
                body = self.request("GET", path, params=params)
            except DailyNotFoundError:
                return
            items = body.get("data") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise DailyError(f"GET {path} answered without a list of participants")
            page = [MeetingParticipant.model_validate(item) for item in items]
            yield from page
            if len(page) < page_size or not page[-1].participant_id:
                return
            after = page[-1].participant_id
