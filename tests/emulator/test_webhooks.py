"""Webhooks over real HTTP: the ``/webhooks`` routes, the test ping, signed deliveries of room-life events
to a tiny real receiver (``http.server`` on a free port, in a thread), both retry modes, the fault switch."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.emulator.helpers import NUMBERS, Api, assert_error, dialin_room, in_hours

SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
CALLER = "+4915112345678"
HOOK_KEYS = {
    "uuid",
    "url",
    "hmac",
    "basicAuth",
    "retryType",
    "eventTypes",
    "state",
    "failedCount",
    "lastMomentPushed",
    "domainId",
    "createdAt",
    "updatedAt",
}


class Receiver:
    """A real HTTP endpoint that records every request and answers ``status`` (or the next scripted one)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.script: list[int] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    status = receiver.script.pop(0) if receiver.script else receiver.status
                    delay = receiver.delay
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            bodies = [json.loads(r["body"]) for r in self.requests]
        return [body for body in bodies if body != {"test": "test"}]

    def types(self) -> list[str]:
        return [event["type"] for event in self.events()]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"receiver saw {self.types()}"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def fast_retries(emu):
    emu.admin.configure(webhook_retry_scale=0.001, webhook_timeout_seconds=2)


def _create(api: Api, url: str, **body: Any) -> dict[str, Any]:
    response = api.post("/webhooks", {"url": url, "hmac": SECRET, **body})
    assert response.status_code == 200, response.text
    return response.json()


def _verify(request: dict[str, Any], secret: str = SECRET) -> None:
    headers = {key.lower(): value for key, value in request["headers"].items()}
    timestamp = headers["x-webhook-timestamp"]
    expected = hmac.new(base64.b64decode(secret), timestamp.encode() + b"." + request["body"], hashlib.sha256)
    assert hmac.compare_digest(headers["x-webhook-signature"], base64.b64encode(expected.digest()).decode())
    assert abs(int(timestamp) - time.time()) < 300


def _pin(api: Api, name: str, **dialin: Any) -> str:
    return api.create_room(**dialin_room(name, **dialin))["config"]["dialin_code"]


# ----------------------------------------------------------------- the /webhooks routes


def test_create_pings_then_lists_gets_and_deletes(emu, api, receiver):
    hook = _create(api, receiver.url, eventTypes=["meeting.started"])
    assert set(hook) == HOOK_KEYS
    assert (hook["state"], hook["failedCount"], hook["retryType"]) == ("ACTIVE", 0, "circuit-breaker")
    assert (hook["url"], hook["hmac"], hook["eventTypes"]) == (receiver.url, SECRET, ["meeting.started"])
    assert hook["lastMomentPushed"] is None
    [ping] = receiver.requests
    assert json.loads(ping["body"]) == {"test": "test"}
    _verify(ping)
    assert api.get("/webhooks").json() == [hook]
    assert api.get(f"/webhooks/{hook['uuid']}").json() == hook
    assert api.delete(f"/webhooks/{hook['uuid']}").json()["uuid"] == hook["uuid"]
    assert_error(api.get(f"/webhooks/{hook['uuid']}"), 404, "not-found")
    assert_error(api.delete(f"/webhooks/{hook['uuid']}"), 404, "not-found")
    assert api.get("/webhooks").json() == []


def test_create_without_hmac_gets_a_secret(emu, api, receiver):
    response = api.post("/webhooks", {"url": receiver.url})
    assert response.status_code == 200, response.text
    secret = response.json()["hmac"]
    assert len(base64.b64decode(secret)) == 32
    _verify(receiver.requests[0], secret)


@pytest.mark.parametrize("status", [500, 404, 204])
def test_create_fails_unless_the_ping_gets_200(emu, api, receiver, status):
    receiver.status = status
    assert_error(api.post("/webhooks", {"url": receiver.url}), 400, "invalid-request-error")
    assert api.get("/webhooks").json() == []
    assert emu.admin.webhook_stats()["counters"]["pings_failed"] == 1


def test_create_fails_for_an_unreachable_receiver(emu, api, receiver):
    url = receiver.url
    receiver.close()
    assert_error(api.post("/webhooks", {"url": url}), 400, "invalid-request-error")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "ftp://example.invalid/x"},
        {"url": "not a url"},
        {"url": "http://127.0.0.1:9/x", "eventTypes": ["no.such-event"]},
        {"url": "http://127.0.0.1:9/x", "eventTypes": "meeting.started"},
        {"url": "http://127.0.0.1:9/x", "retryType": "sometimes"},
        {"url": "http://127.0.0.1:9/x", "hmac": "not base64!"},
    ],
)
def test_create_validates_before_pinging(emu, api, body):
    assert_error(api.post("/webhooks", body), 400, "invalid-request-error")
    assert emu.admin.webhook_stats()["counters"]["pings_failed"] == 0


def test_webhook_routes_need_the_api_key(emu):
    assert_error(Api(base_url=emu.base_url, key="wrong").get("/webhooks"), 401, "authentication-error")
    assert emu.admin.counters()["requests"]["GET /webhooks"] == 1


# ----------------------------------------------------------------- deliveries


def test_room_life_events_are_signed_and_shaped(emu, api, receiver):
    hook = _create(api, receiver.url)
    pin = _pin(api, "r1")
    web = emu.admin.join("r1", user_name="Ann", user_id="ann")
    call = emu.admin.dial(number=NUMBERS[0], pin=pin, caller=CALLER)
    emu.admin.hang_up(call["session_id"])
    emu.admin.leave("r1", web)
    expected = {
        "meeting.started": 1,
        "participant.joined": 2,
        "dialin.connected": 1,
        "dialin.stopped": 1,
        "participant.left": 2,
        "meeting.ended": 1,
    }
    receiver.wait_for(lambda: len(receiver.events()) == sum(expected.values()))
    assert emu.admin.wait_webhooks()["idle"]
    for request in receiver.requests:
        _verify(request)
    events = receiver.events()
    assert {kind: receiver.types().count(kind) for kind in expected} == expected
    assert len({event["id"] for event in events}) == len(events)
    by_type = {event["type"]: event for event in events}
    for event in events:
        assert set(event) == {"version", "type", "id", "payload", "event_ts"}
    connected = by_type["dialin.connected"]["payload"]
    assert {"timestamp", "session_id", "sip_from", "domain_id", "room", "display_name", "sip_headers"} <= set(connected)
    assert (connected["session_id"], connected["sip_from"], connected["room"]) == (call["session_id"], CALLER, "r1")
    assert connected["domain_id"] == api.get("/").json()["domain_id"]
    started = by_type["meeting.started"]["payload"]
    ended = by_type["meeting.ended"]["payload"]
    assert started["meeting_id"] == ended["meeting_id"]
    assert {"start_ts", "meeting_id", "room"} <= set(started)
    assert {"start_ts", "end_ts", "meeting_id", "room"} <= set(ended)
    joined = [e["payload"] for e in events if e["type"] == "participant.joined"]
    assert {p["session_id"] for p in joined} == {web, call["session_id"]}
    assert {"joined_at", "session_id", "room", "user_id", "user_name", "owner"} <= set(joined[0])
    stats = emu.admin.webhook_stats()
    assert stats["counters"]["delivered"] == 8
    assert stats["delivered_by_type"] == expected
    assert api.get(f"/webhooks/{hook['uuid']}").json()["lastMomentPushed"] is not None
    assert CALLER not in json.dumps(stats)


def test_event_types_filter(emu, api, receiver):
    _create(api, receiver.url, eventTypes=["dialin.connected", "dialin.stopped"])
    pin = _pin(api, "r1")
    emu.admin.join("r1")
    emu.admin.hang_up(emu.admin.dial(number=NUMBERS[0], pin=pin, caller=CALLER)["session_id"])
    receiver.wait_for(lambda: len(receiver.events()) == 2)
    assert emu.admin.wait_webhooks()["idle"]
    assert sorted(receiver.types()) == ["dialin.connected", "dialin.stopped"]


def test_a_wrong_pin_sends_nothing(emu, api, receiver):
    _create(api, receiver.url)
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    wrong = f"{(int(pin) + 1) % 10**11:011d}"
    assert emu.admin.dial(number=NUMBERS[0], pin=wrong, caller=CALLER)["status"] == "disconnected"
    assert emu.admin.wait_webhooks()["idle"]
    assert receiver.events() == []


def test_injected_dialin_error_and_warning(emu, api, receiver):
    _create(api, receiver.url, eventTypes=["dialin.error", "dialin.warning"])
    pin = _pin(api, "r1", wait_for_meeting_start=True)
    call = emu.admin.dial(number=NUMBERS[0], pin=pin, caller=CALLER)
    assert emu.admin.call_error(call["session_id"], "SIP 503 from carrier")["type"] == "dialin.error"
    emu.admin.call_error(call["session_id"], "jitter", warning=True)
    receiver.wait_for(lambda: len(receiver.events()) == 2)
    payloads = {e["type"]: e["payload"] for e in receiver.events()}
    assert payloads["dialin.error"]["error_msg"] == "SIP 503 from carrier"
    assert payloads["dialin.warning"]["error_msg"] == "jitter"
    assert {"timestamp", "session_id", "domain_id", "room", "error_msg"} <= set(payloads["dialin.error"])
    assert payloads["dialin.error"]["room"] == "r1"


def test_deleting_a_room_sends_the_ends(emu, api, receiver):
    _create(api, receiver.url, eventTypes=["dialin.stopped", "participant.left", "meeting.ended"])
    pin = _pin(api, "r1")
    emu.admin.join("r1")
    emu.admin.dial(number=NUMBERS[0], pin=pin, caller=CALLER)
    api.delete("/rooms/r1")
    receiver.wait_for(lambda: len(receiver.events()) == 4)
    assert sorted(receiver.types()) == ["dialin.stopped", "meeting.ended", "participant.left", "participant.left"]


def test_exp_eject_sends_events_without_api_traffic(emu, api, receiver):
    _create(api, receiver.url, eventTypes=["meeting.ended"])
    api.create_room(name="r1", properties={"exp": in_hours(1), "eject_at_room_exp": True})
    emu.admin.join("r1")
    emu.admin.advance_clock(2 * 3600)
    receiver.wait_for(lambda: receiver.types() == ["meeting.ended"])  # the workers apply exp on their own


def test_delivery_never_blocks_the_api(emu, api, receiver):
    _create(api, receiver.url)
    receiver.delay = 2.0  # every delivery takes 2 s: were delivery on the request path, a join would take 4 s
    api.create_room(name="r1")
    started = time.monotonic()
    emu.admin.leave("r1", emu.admin.join("r1"))
    assert api.get("/presence").status_code == 200
    assert time.monotonic() - started < 1.5
    receiver.delay = 0.0
    assert emu.admin.wait_webhooks(timeout=20)["idle"]
    assert sorted(receiver.types()) == ["meeting.ended", "meeting.started", "participant.joined", "participant.left"]


# ----------------------------------------------------------------- retry modes and faults


def test_circuit_breaker_fails_after_three_and_rearms(emu, api, receiver, fast_retries):
    hook = _create(api, receiver.url, eventTypes=["meeting.started"], retryType="circuit-breaker")
    receiver.status = 500
    api.create_room(name="r1")
    emu.admin.join("r1")
    receiver.wait_for(lambda: api.get(f"/webhooks/{hook['uuid']}").json()["state"] == "FAILED")
    state = api.get(f"/webhooks/{hook['uuid']}").json()
    assert state["failedCount"] == 3
    assert emu.admin.wait_webhooks()["idle"]
    attempts = len(receiver.events())
    assert attempts == 3
    api.create_room(name="r2")
    emu.admin.join("r2")  # a FAILED hook gets nothing
    assert emu.admin.wait_webhooks()["idle"]
    assert len(receiver.events()) == attempts
    receiver.status = 200
    rearmed = api.post(f"/webhooks/{hook['uuid']}", {})
    assert rearmed.status_code == 200, rearmed.text
    assert (rearmed.json()["state"], rearmed.json()["failedCount"]) == ("ACTIVE", 0)
    api.create_room(name="r3")
    emu.admin.join("r3")
    receiver.wait_for(lambda: len(receiver.events()) == attempts + 1)
    assert receiver.events()[-1]["payload"]["room"] == "r3"


def test_rearm_fails_while_the_receiver_fails(emu, api, receiver, fast_retries):
    hook = _create(api, receiver.url)
    receiver.status = 503
    assert_error(api.post(f"/webhooks/{hook['uuid']}", {}), 400, "invalid-request-error")
    assert_error(api.post("/webhooks/nope", {}), 404, "not-found")


def test_circuit_breaker_retries_a_blip(emu, api, receiver, fast_retries):
    hook = _create(api, receiver.url, eventTypes=["meeting.started"])
    receiver.script = [500, 500]
    api.create_room(name="r1")
    emu.admin.join("r1")
    receiver.wait_for(lambda: len(receiver.events()) == 3)
    assert emu.admin.wait_webhooks()["idle"]
    assert len({e["id"] for e in receiver.events()}) == 1  # the same message, tried again
    state = api.get(f"/webhooks/{hook['uuid']}").json()
    assert (state["state"], state["failedCount"]) == ("ACTIVE", 0)


def test_exponential_tries_five_times_then_drops(emu, api, receiver, fast_retries):
    hook = _create(api, receiver.url, eventTypes=["meeting.started"], retryType="exponential")
    receiver.status = 500
    api.create_room(name="r1")
    emu.admin.join("r1")
    assert emu.admin.wait_webhooks(timeout=20)["idle"]
    events = receiver.events()
    assert len(events) == 5
    assert len({e["id"] for e in events}) == 1
    stats = emu.admin.webhook_stats()
    assert stats["counters"]["dropped_exhausted"] == 1
    assert stats["counters"]["delivered"] == 0
    assert api.get(f"/webhooks/{hook['uuid']}").json()["state"] == "ACTIVE"  # exponential never trips


def test_exponential_delivers_after_failures(emu, api, receiver, fast_retries):
    _create(api, receiver.url, eventTypes=["meeting.started"], retryType="exponential")
    receiver.script = [502, 502, 502]
    api.create_room(name="r1")
    emu.admin.join("r1")
    assert emu.admin.wait_webhooks(timeout=20)["idle"]
    assert len(receiver.events()) == 4
    assert emu.admin.webhook_stats()["counters"]["delivered"] == 1


def test_fault_switch_fails_deliveries_without_the_receiver(emu, api, receiver, fast_retries):
    _create(api, receiver.url, eventTypes=["meeting.started"], retryType="exponential")
    emu.admin.configure(webhook_fail_rate=1.0)
    api.create_room(name="r1")
    emu.admin.join("r1")
    assert emu.admin.wait_webhooks(timeout=20)["idle"]
    assert receiver.events() == []
    stats = emu.admin.webhook_stats()
    assert stats["counters"]["failed_attempts"] == 5
    assert stats["recent"][-1]["outcome"] == "failed (fault switch)"


def test_fault_switch_slow_receiver_times_out(emu, api, receiver, fast_retries):
    hook = _create(api, receiver.url, eventTypes=["meeting.started"])
    emu.admin.configure(webhook_delay_ms=300, webhook_timeout_seconds=0.2)
    api.create_room(name="r1")
    emu.admin.join("r1")
    assert emu.admin.wait_webhooks(timeout=20)["idle"]
    assert api.get(f"/webhooks/{hook['uuid']}").json()["state"] == "FAILED"
    assert receiver.events() == []


def test_a_real_slow_receiver_times_out(emu, api, receiver, fast_retries):
    _create(api, receiver.url, eventTypes=["meeting.started"], retryType="exponential")
    emu.admin.configure(webhook_timeout_seconds=0.2)
    receiver.delay = 0.5
    api.create_room(name="r1")
    emu.admin.join("r1")
    receiver.wait_for(lambda: len(receiver.events()) >= 2)
    receiver.delay = 0.0
    assert emu.admin.wait_webhooks(timeout=20)["idle"]
    assert emu.admin.webhook_stats()["counters"]["failed_attempts"] >= 1


def test_reset_forgets_webhooks(emu, api, receiver):
    _create(api, receiver.url)
    emu.admin.reset()
    assert api.get("/webhooks").json() == []
    assert emu.admin.webhook_stats()["counters"]["delivered"] == 0
