"""The webhook receiver: a FastAPI app answering ``POST /webhooks`` (mounted at ``/daily`` by
:mod:`daily_dialin.calls.plugin`, so Daily posts to ``https://<airflow>/daily/webhooks``).

Airflow mounts plugin apps **without** its authentication: this route's authentication is Daily's
signature, and nothing else is reachable on the app (no docs, no OpenAPI, one route, one method).
In order, each request is:

1. **413** when the body is over :data:`MAX_BODY_BYTES` (1 MiB): by ``Content-Length``, and by the
   bytes actually read (a lying or missing length stops reading at the limit);
2. **200** for Daily's test request ``{"test":"test"}`` (sent on creation and re-arm [client];
   whether it is signed is not known, so it is answered either way; nothing is stored);
3. **401** without both signature headers, with a timestamp more than 5 minutes off, or with a
   signature that does not match (compared in constant time, :mod:`.signing`);
4. **400** for a signed body that is not a Daily event (malformed JSON, no ``id``/``type``);
5. **200 ignored** for an event type the calls loop does not use, or a room that is not this
   deployment's (another prefix, another app on the same Daily domain);
6. **200** once the event is **committed** to the events table (:meth:`CallsStore.insert_event`);
   a replayed ``id`` is acknowledged and stored once;
7. **503** when the secret, the settings or the meetings database cannot be read (Daily retries;
   the next request tries afresh, so the receiver recovers by itself).

Refusals leave nothing behind but a counter (:class:`Counters`, logged at most once a minute per
reason). No secret, signature, body or caller number is ever logged or echoed.

Where the settings come from (:class:`AirflowSources`): the webhook secret is the ``webhook_secret``
extra of the Daily connection (``daily_conn_id`` of the Variable ``daily_provisioning``; Airflow
masks extras named ``*secret*``), read through Airflow's connection API; the room prefix and the
meetings connection from ``daily_provisioning``; the events table from ``daily_calls``. All are
cached for :data:`SOURCES_TTL_SECONDS` (a rotated secret or a fixed Variable takes effect within
that); the database engine is kept until it fails.

May import: FastAPI/Starlette (the API server's own dependency), ``daily_dialin.calls`` and, inside
:class:`AirflowSources`, Airflow's SDK and ``daily_dialin.provisioning``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from daily_dialin.calls import signing
from daily_dialin.calls.events import BadEvent, is_our_room, is_ping, parse_event

log = logging.getLogger(__name__)

__all__ = ["MAX_BODY_BYTES", "AirflowSources", "Counters", "ReceiverConfig", "create_app"]

MAX_BODY_BYTES = 1024 * 1024
SOURCES_TTL_SECONDS = 30.0
LOG_EVERY_SECONDS = 60.0
SECRET_EXTRA = "webhook_secret"
# reason -> HTTP status of a refusal
REFUSALS = {
    "too_large": 413,
    "unsigned": 401,
    "stale": 401,
    "bad_signature": 401,
    "bad_json": 400,
    "unavailable": 503,
    "no_secret": 503,
}


class TooLarge(Exception):
    """The body is over the limit."""


@dataclass(frozen=True)
class ReceiverConfig:
    """What one request needs: the secret, the room prefix, and where to store events."""

    secret: str | None
    prefix: str
    store: Any  # a CallsStore (or anything with insert_event(event, received_at=...) -> bool)

    def __repr__(self) -> str:  # never the secret
        return f"ReceiverConfig(prefix={self.prefix!r}, secret={'***' if self.secret else None})"


class Sources(Protocol):
    def load(self) -> ReceiverConfig: ...

    def failed(self) -> None: ...


class Counters:
    """Outcome counts of this process (thread-safe); refusals are logged at most once a minute per reason."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._logged: dict[str, float] = {}
        self._clock = clock

    def add(self, outcome: str) -> None:
        with self._lock:
            self._counts[outcome] += 1
            count = self._counts[outcome]
            now = self._clock()
            due = outcome in REFUSALS and now - self._logged.get(outcome, -LOG_EVERY_SECONDS) >= LOG_EVERY_SECONDS
            if due:
                self._logged[outcome] = now
        if due:
            log.warning("Daily webhooks: request refused (%s); %d so far in this process", outcome, count)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class AirflowSources:
    """The receiver's settings from Airflow (connection, Variables) and the meetings database, cached."""

    def __init__(self, *, ttl_seconds: float = SOURCES_TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._config: ReceiverConfig | None = None
        self._loaded_at = 0.0
        self._store: Any = None
        self._store_key: tuple[Any, ...] | None = None

    def load(self) -> ReceiverConfig:
        with self._lock:
            if self._config is None or time.monotonic() - self._loaded_at >= self.ttl_seconds:
                self._config = self._read()
                self._loaded_at = time.monotonic()
            return self._config

    def failed(self) -> None:
        """A request could not use the settings or the database: read and connect afresh next time."""
        with self._lock:
            self._config = None
            store, self._store, self._store_key = self._store, None, None
        if store is not None:
            try:
                store.engine.dispose()
            except Exception as exc:
                log.debug("Daily webhooks: engine not disposed (%s)", type(exc).__name__)

    def _read(self) -> ReceiverConfig:
        from airflow.sdk import Connection

        from daily_dialin.calls.settings import CallsSettings
        from daily_dialin.provisioning.config import ProvisioningConfig

        config = ProvisioningConfig.load()
        settings = CallsSettings.load()
        secret = Connection.get(config.daily_conn_id).extra_dejson.get(SECRET_EXTRA) or None
        return ReceiverConfig(secret=secret, prefix=config.room_name_prefix, store=self._store_for(config, settings))

    def _store_for(self, config: Any, settings: Any) -> Any:
        key = (config.meetings_conn_id, settings.events_table, settings.calls_table)
        if self._store is None or self._store_key != key:
            from daily_dialin.calls.store import CallsStore
            from daily_dialin.provisioning.table import MeetingsTable

            engine = MeetingsTable.from_config(config).engine
            self._store, self._store_key = CallsStore(engine=engine, settings=settings), key
        return self._store


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(counters: Counters, outcome: str, status: int = 200) -> JSONResponse:
    counters.add(outcome)
    return JSONResponse({"status": outcome} if status == 200 else {"error": outcome}, status_code=status)


def _refuse(counters: Counters, reason: str) -> JSONResponse:
    return _answer(counters, reason, REFUSALS[reason])


def _store(config: ReceiverConfig, event: Any) -> bool:
    config.store.ensure_schema()
    return config.store.insert_event(event, received_at=datetime.now(UTC))


async def _config(sources: Sources) -> ReceiverConfig | str:
    """The settings, or the refusal when they cannot be read (503: Daily retries)."""
    try:
        config = await run_in_threadpool(sources.load)
    except Exception as exc:
        sources.failed()
        log.warning("Daily webhooks: settings not readable (%s)", type(exc).__name__)
        return "unavailable"
    return config if config.secret else "no_secret"


def _verified(request: Request, body: bytes, config: ReceiverConfig, now: float) -> Any:
    """The event of a signed body, or the refusal / the reason it is ignored (a string)."""
    headers = request.headers
    refused = signing.verify(
        config.secret or "",
        timestamp=headers.get("x-webhook-timestamp"),
        signature=headers.get("x-webhook-signature"),
        body=body,
        now=now,
    )
    if refused:
        return refused
    try:
        event = parse_event(body)
    except BadEvent:
        return "bad_json"
    if not event.known:
        return "ignored_type"
    if not is_our_room(event.room, config.prefix):
        return "ignored_room"
    return event


async def _handle(request: Request, *, sources: Sources, counters: Counters, clock: Callable[[], float]) -> Any:
    try:
        body = await _read_body(request, MAX_BODY_BYTES)
    except TooLarge:
        return _refuse(counters, "too_large")
    if is_ping(body):
        return _answer(counters, "ping")
    config = await _config(sources)
    if isinstance(config, str):
        return _refuse(counters, config)
    event = _verified(request, body, config, clock())
    if isinstance(event, str):
        return _refuse(counters, event) if event in REFUSALS else _answer(counters, event)
    try:
        stored = await run_in_threadpool(_store, config, event)
    except Exception as exc:  # the database is down or refused: Daily retries
        sources.failed()
        log.warning("Daily webhooks: event not stored, answering 503 (%s)", type(exc).__name__)
        return _refuse(counters, "unavailable")
    return _answer(counters, "stored" if stored else "duplicate")


def create_app(
    *, sources: Sources | None = None, clock: Callable[[], float] = time.time, counters: Counters | None = None
) -> FastAPI:
    """The receiver app: one route, ``POST /webhooks``; ``app.state.counters`` holds the counts."""
    app = FastAPI(
        title="Daily webhooks", docs_url=None, redoc_url=None, openapi_url=None, swagger_ui_oauth2_redirect_url=None
    )
    app.state.counters = counters or Counters()
    app.state.sources = sources or AirflowSources()

    @app.post("/webhooks", include_in_schema=False)
    async def webhooks(request: Request) -> Any:
        return await _handle(request, sources=app.state.sources, counters=app.state.counters, clock=clock)

    return app
