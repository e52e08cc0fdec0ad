"""Webhooks of the emulated domain: ``/webhooks`` records, the test ping, and signed deliveries of room-life
events off the request path (a bounded pool of worker threads), with Daily's two retry modes.

Every behaviour cites the Daily doc fact it follows (``[doc]``) or says it is assumed; see
``docs/emulator.md`` ("Webhooks"). Hooks are kept in memory only [assumed, like room life].

May import: requests, the emulator's own modules; never the provider or the application.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import hmac as hmac_lib
import itertools
import json
import logging
import random
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from daily_emulator.clock import Clock
from daily_emulator.errors import invalid, not_found
from daily_emulator.records import iso_utc
from daily_emulator.settings import EmulatorSettings

log = logging.getLogger(__name__)

ENVELOPE_VERSION = "1.0.0"  # [assumed] the envelope's version string
# [doc: webhooks event pages] the event types Daily documents; the emulator sends the room-life ones.
SENT_EVENT_TYPES = (
    "dialin.connected",
    "dialin.stopped",
    "dialin.warning",
    "dialin.error",
    "participant.joined",
    "participant.left",
    "meeting.started",
    "meeting.ended",
)
OTHER_EVENT_TYPES = (
    "dialin.ready",  # [doc] only for SIP dial-in rooms, never for PIN rooms: never sent here
    "dialout.connected",
    "dialout.answered",
    "dialout.stopped",
    "dialout.warning",
    "dialout.error",
    "waiting-participant.joined",
    "waiting-participant.left",
    "recording.started",
    "recording.ready-to-download",
    "recording.error",
    "transcript.started",
    "transcript.ready-to-download",
    "transcript.error",
    "streaming.started",
    "streaming.updated",
    "streaming.ended",
    "streaming.error",
    "batch-processor.job-finished",
    "batch-processor.error",
)
KNOWN_EVENT_TYPES = frozenset(SENT_EVENT_TYPES + OTHER_EVENT_TYPES)
RETRY_TYPES = ("circuit-breaker", "exponential")
CIRCUIT_BREAKER_FAILURES = 3  # [doc] three failures mark the hook FAILED
# [doc] exponential: up to 5 tries over ~15 minutes, then the message is dropped. The spacing is assumed:
# 1, 2, 4 and 8 minutes after the previous try (15 minutes in all), times settings.webhook_retry_scale.
EXPONENTIAL_DELAYS = (60.0, 120.0, 240.0, 480.0)
RECENT_DELIVERIES = 1000
TICK_SECONDS = 0.5  # how often an idle worker applies exp (so exp ejects send events without API traffic)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(key=base64-decode(secret), msg=f"{timestamp}.{body}")) [client; doc names headers]."""
    key = base64.b64decode(secret)
    digest = hmac_lib.new(key, timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _check_secret(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid("hmac must be a base64 string")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("hmac must be a base64 string") from None
    return value


def _check_url(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid(f"url must be an http(s) URL (got {value!r})")
    return value


def _check_event_types(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("eventTypes must be a list of event type names")
    unknown = sorted(set(value) - KNOWN_EVENT_TYPES)
    if unknown:
        raise invalid(f"unknown eventTypes {unknown}")  # [assumed] Daily refuses unknown types
    return list(dict.fromkeys(value))


def _check_retry_type(value: Any) -> str:
    if value not in RETRY_TYPES:
        raise invalid(f"retryType must be one of {list(RETRY_TYPES)} (got {value!r})")
    return value


_FIELD_CHECKS: dict[str, Callable[[Any], Any]] = {
    "url": _check_url,
    "eventTypes": _check_event_types,
    "hmac": _check_secret,
    "retryType": _check_retry_type,
}


def _parse_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields = {key: check(body[key]) for key, check in _FIELD_CHECKS.items() if body.get(key) is not None}
    basic = body.get("basicAuth")
    if basic is not None and not isinstance(basic, str):
        raise invalid("basicAuth must be a string")
    if basic is not None:
        fields["basicAuth"] = basic
    return fields


@dataclass(kw_only=True)
class Hook:
    """A ``/webhooks`` entry [doc: webhook object]."""

    uuid: str
    url: str
    hmac: str
    event_types: list[str]
    retry_type: str
    basic_auth: str | None
    domain_id: str
    created_at: float
    updated_at: float
    state: str = "ACTIVE"
    failed_count: int = 0
    last_moment_pushed: float | None = None

    def render(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "url": self.url,
            "hmac": self.hmac,
            "basicAuth": self.basic_auth,
            "retryType": self.retry_type,
            "eventTypes": list(self.event_types),
            "state": self.state,
            "failedCount": self.failed_count,
            "lastMomentPushed": iso_utc(self.last_moment_pushed) if self.last_moment_pushed else None,
            "domainId": self.domain_id,
            "createdAt": iso_utc(self.created_at),
            "updatedAt": iso_utc(self.updated_at),
        }

    def wants(self, kind: str) -> bool:
        # [assumed] an empty eventTypes list means every event type
        return self.state == "ACTIVE" and (not self.event_types or kind in self.event_types)


@dataclass(order=True, kw_only=True)
class Delivery:
    """One message to one hook; ordered by due time (monotonic seconds) then by queue order."""

    due: float
    seq: int
    hook_uuid: str = field(compare=False)
    kind: str = field(compare=False)
    event_id: str = field(compare=False)
    body: bytes = field(compare=False)
    attempt: int = field(default=0, compare=False)


class Webhooks:
    """Hooks, the delivery queue and its workers (started when the first hook is created)."""

    def __init__(
        self,
        *,
        settings: Callable[[], EmulatorSettings],
        clock: Clock,
        tick: Callable[[], None],
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._tick = tick
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._workers: list[threading.Thread] = []
        self._stopping = False
        self._rng = random.Random(0)
        self._in_flight = 0  # survives reset: a worker mid-request settles it
        self.reset()

    # ------------------------------------------------------------------ records

    def reset(self) -> None:
        """Forget every hook, queued message and counter."""
        with self._cond:
            self._hooks: dict[str, Hook] = {}
            self._queue: list[Delivery] = []
            self._counts: Counter[str] = Counter()
            self._delivered_by_type: Counter[str] = Counter()
            self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT_DELIVERIES)
            self._rng = random.Random(self._settings().faults.seed)
            self._cond.notify_all()

    def _hook(self, hook_uuid: str) -> Hook:
        hook = self._hooks.get(hook_uuid)
        if hook is None:
            raise not_found(f"webhook {hook_uuid} was not found")
        return hook

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /webhooks``: validate, ping the receiver (it must answer 200), then store [doc + client]."""
        fields = _parse_fields(body)
        if "url" not in fields:
            raise invalid("url is required")
        now = self._clock.now()
        settings = self._settings()
        hook = Hook(
            uuid=str(uuid.uuid4()),
            url=fields["url"],
            # [assumed] without hmac, Daily makes a secret (returned in the object)
            hmac=fields.get("hmac") or base64.b64encode(secrets.token_bytes(32)).decode(),
            event_types=fields.get("eventTypes", []),
            retry_type=fields.get("retryType", "circuit-breaker"),  # [assumed] the default mode
            basic_auth=fields.get("basicAuth"),
            domain_id=settings.domain_id or "",
            created_at=now,
            updated_at=now,
        )
        self._ping_or_refuse(hook)
        with self._cond:
            self._hooks[hook.uuid] = hook
        self._ensure_workers()
        log.info("Webhook %s created (%s)", hook.uuid, hook.retry_type)
        return hook.render()

    def update(self, hook_uuid: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /webhooks/:uuid``: change fields and re-arm (ping again; ACTIVE, failedCount 0) [doc]."""
        fields = _parse_fields(body)
        with self._cond:
            current = self._hook(hook_uuid)
            candidate = Hook(**{**current.__dict__})
        candidate.url = fields.get("url", candidate.url)
        candidate.hmac = fields.get("hmac", candidate.hmac)
        candidate.event_types = fields.get("eventTypes", candidate.event_types)
        candidate.retry_type = fields.get("retryType", candidate.retry_type)
        candidate.basic_auth = fields.get("basicAuth", candidate.basic_auth)
        self._ping_or_refuse(candidate)
        with self._cond:
            hook = self._hook(hook_uuid)
            hook.url, hook.hmac, hook.event_types = candidate.url, candidate.hmac, candidate.event_types
            hook.retry_type, hook.basic_auth = candidate.retry_type, candidate.basic_auth
            hook.state, hook.failed_count, hook.updated_at = "ACTIVE", 0, self._clock.now()
            return hook.render()

    def get(self, hook_uuid: str) -> dict[str, Any]:
        with self._cond:
            return self._hook(hook_uuid).render()

    def list_hooks(self) -> list[dict[str, Any]]:
        """``GET /webhooks``: every hook [assumed: a JSON array of webhook objects]."""
        with self._cond:
            return [hook.render() for hook in self._hooks.values()]

    def delete(self, hook_uuid: str) -> dict[str, Any]:
        """``DELETE /webhooks/:uuid``: forget it and its queued messages; returns the deleted object [assumed]."""
        with self._cond:
            hook = self._hooks.pop(hook_uuid, None)
            if hook is None:
                raise not_found(f"webhook {hook_uuid} was not found")
            self._queue = [item for item in self._queue if item.hook_uuid != hook_uuid]
            heapq.heapify(self._queue)
            self._cond.notify_all()
            return hook.render()

    # ------------------------------------------------------------------ sending

    def _headers(self, hook: Hook, body: bytes) -> dict[str, str]:
        # [assumed] the signature's timestamp is real unix seconds (the emulator's clock offset is for room
        # life only), so receivers that refuse stale timestamps accept it
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Webhook-Signature": sign(hook.hmac, timestamp, body),
            "X-Webhook-Timestamp": timestamp,
        }
        if hook.basic_auth:
            headers["Authorization"] = "Basic " + base64.b64encode(hook.basic_auth.encode()).decode()
        return headers

    def _post(self, hook: Hook, body: bytes, session: requests.Session | None = None) -> int | str:
        """Send one request; the status code, or a short reason when none came back."""
        settings = self._settings()
        delay = settings.webhook_delay_ms / 1000
        if delay >= settings.webhook_timeout_seconds:
            time.sleep(settings.webhook_timeout_seconds)
            return "timeout (fault switch)"
        if delay:
            time.sleep(delay)
        with self._cond:
            failed = self._rng.random() < settings.webhook_fail_rate
        if failed:
            return "failed (fault switch)"
        sender = session or requests
        try:
            response = sender.post(
                hook.url, data=body, headers=self._headers(hook, body), timeout=settings.webhook_timeout_seconds
            )
        except requests.RequestException as exc:
            return type(exc).__name__
        return response.status_code

    def _ping_or_refuse(self, hook: Hook) -> None:
        """The test request ``{"test":"test"}``: anything but a 200 refuses the create/re-arm [client]."""
        with requests.Session() as session:
            session.trust_env = False
            outcome = self._post(hook, b'{"test":"test"}', session)
        with self._cond:
            self._counts["pings_ok" if outcome == 200 else "pings_failed"] += 1
        if outcome != 200:
            raise invalid(f"webhook test request to the url failed: {outcome}")

    def on_event(self, kind: str, payload: dict[str, Any]) -> None:
        """A room-life event: queue one message per interested ACTIVE hook (never blocks) [doc: every room]."""
        settings = self._settings()
        with self._cond:
            hooks = [hook for hook in self._hooks.values() if hook.wants(kind)]
            if not hooks:
                return
            event_id = str(uuid.uuid4())
            if kind.startswith("dialin."):
                payload = {**payload, "domain_id": settings.domain_id}
            envelope = {
                "version": ENVELOPE_VERSION,
                "type": kind,
                "id": event_id,
                "payload": payload,
                "event_ts": self._clock.now(),
            }
            body = json.dumps(envelope, separators=(",", ":")).encode()
            for hook in hooks:
                if len(self._queue) + self._in_flight >= settings.webhook_max_pending:
                    self._counts["dropped_overflow"] += 1
                    continue
                delivery = Delivery(
                    due=time.monotonic(),
                    seq=next(self._seq),
                    hook_uuid=hook.uuid,
                    kind=kind,
                    event_id=event_id,
                    body=body,
                )
                heapq.heappush(self._queue, delivery)
                self._counts["queued"] += 1
            self._cond.notify()
            if not any(worker.is_alive() for worker in self._workers):
                self._ensure_workers()  # e.g. after the server was stopped and started again

    # ------------------------------------------------------------------ workers

    def _ensure_workers(self) -> None:
        with self._cond:
            self._workers = [worker for worker in self._workers if worker.is_alive()]
            running = {worker.name for worker in self._workers}
            for index in range(self._settings().webhook_workers):
                name = f"emulator-webhooks-{id(self):x}-{index}"
                if name in running:
                    continue
                worker = threading.Thread(target=self._work, args=(index,), name=name, daemon=True)
                self._workers.append(worker)
                worker.start()

    def _next(self) -> Delivery | None:
        """The next due message (marked in flight), or None after a short idle wait."""
        with self._cond:
            if self._queue and self._queue[0].due <= time.monotonic():
                self._in_flight += 1
                return heapq.heappop(self._queue)
            wait = TICK_SECONDS if not self._queue else min(TICK_SECONDS, self._queue[0].due - time.monotonic())
            self._cond.wait(timeout=max(0.0, wait))
            return None

    def _work(self, index: int) -> None:
        """One worker; it ends when stopping or when ``webhook_workers`` shrinks below its index."""
        session = requests.Session()
        session.trust_env = False
        last_tick = 0.0
        while not self._stopping and index < self._settings().webhook_workers:
            delivery = self._next()
            if delivery is None:
                if time.monotonic() - last_tick >= TICK_SECONDS:
                    last_tick = time.monotonic()
                    self._tick()
                continue
            with self._cond:
                hook = self._hooks.get(delivery.hook_uuid)
            outcome = self._post(hook, delivery.body, session) if hook is not None else "webhook deleted"
            self._settle(delivery, outcome)

    def _settle(self, delivery: Delivery, outcome: int | str) -> None:
        ok = isinstance(outcome, int) and 200 <= outcome < 300  # [assumed] any 2xx acknowledges
        with self._cond:
            self._in_flight -= 1
            delivery.attempt += 1
            self._recent.append(
                {
                    "hook": delivery.hook_uuid,
                    "type": delivery.kind,
                    "id": delivery.event_id,
                    "attempt": delivery.attempt,
                    "outcome": outcome,
                    "ok": ok,
                }
            )
            hook = self._hooks.get(delivery.hook_uuid)
            if hook is not None:
                self._after_attempt(hook, delivery, ok)
            self._cond.notify_all()

    def _after_attempt(self, hook: Hook, delivery: Delivery, ok: bool) -> None:
        if ok:
            hook.failed_count, hook.last_moment_pushed = 0, self._clock.now()
            self._counts["delivered"] += 1
            self._delivered_by_type[delivery.kind] += 1
            return
        self._counts["failed_attempts"] += 1
        hook.failed_count += 1
        if hook.retry_type == "circuit-breaker":
            self._after_breaker_failure(hook, delivery)
        elif delivery.attempt >= len(EXPONENTIAL_DELAYS) + 1:
            self._counts["dropped_exhausted"] += 1  # [doc] after 5 tries the message is dropped
        else:
            self._retry(delivery, EXPONENTIAL_DELAYS[delivery.attempt - 1])

    def _after_breaker_failure(self, hook: Hook, delivery: Delivery) -> None:
        if hook.failed_count >= CIRCUIT_BREAKER_FAILURES:
            # [doc] 3 failures: FAILED until re-armed; [assumed] its queued messages are dropped
            hook.state = "FAILED"
            dropped = 1 + sum(1 for item in self._queue if item.hook_uuid == hook.uuid)
            self._queue = [item for item in self._queue if item.hook_uuid != hook.uuid]
            heapq.heapify(self._queue)
            self._counts["dropped_failed_hook"] += dropped
            log.warning("Webhook %s FAILED after %s failures", hook.uuid, hook.failed_count)
            return
        # [assumed] before the breaker trips, the same message is tried again (first exponential delay)
        self._retry(delivery, EXPONENTIAL_DELAYS[0])

    def _retry(self, delivery: Delivery, delay: float) -> None:
        delivery.due = time.monotonic() + delay * self._settings().webhook_retry_scale
        delivery.seq = next(self._seq)
        heapq.heappush(self._queue, delivery)

    def resize(self) -> None:
        """Apply a changed ``webhook_workers``: extra workers end by themselves, missing ones start (if hooks)."""
        with self._cond:
            self._cond.notify_all()
            if self._hooks:
                self._ensure_workers()

    def stop(self) -> None:
        """Stop the workers (they are daemon threads; a stopped emulator's workers end within a tick)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for worker in self._workers:
            worker.join(timeout=TICK_SECONDS * 4)
        with self._cond:
            self._workers, self._stopping = [], False

    # ------------------------------------------------------------------ admin

    def stats(self) -> dict[str, Any]:
        """Counters of deliveries, the queue, and the last deliveries (no bodies: they hold callers' numbers)."""
        with self._cond:
            return {
                "counters": {**{key: 0 for key in _COUNTER_NAMES}, **self._counts},
                "delivered_by_type": dict(self._delivered_by_type),
                "pending": len(self._queue),
                "in_flight": self._in_flight,
                "recent": list(self._recent),
            }

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or in flight (retries included); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(timeout=min(remaining, TICK_SECONDS))
            return True


_COUNTER_NAMES = (
    "queued",
    "delivered",
    "failed_attempts",
    "dropped_exhausted",
    "dropped_failed_hook",
    "dropped_overflow",
    "pings_ok",
    "pings_failed",
)
