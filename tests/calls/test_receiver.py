"""The webhook receiver in-process (FastAPI's test client) against a real SQLite file and the
throwaway PostgreSQL: every bad input gets its status and leaves nothing but a counter; a good
event is committed before the 200; a replay is acknowledged once; the database down answers 503."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.calls.helpers import CALLER, SECRET, body_of, dialin, event, signed

ROOM = "mtg-M1"


def post(client, body: bytes, headers: dict[str, str] | None = None):
    return client.post("/webhooks", content=body, headers=headers or {"Content-Type": "application/json"})


def stored_rows(store) -> list[dict]:
    store.ensure_schema()
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(store.events))]


def counts(client) -> dict[str, int]:
    return client.app_state.counters.snapshot()


def test_a_signed_event_is_stored_before_the_answer(receiver, calls_db):
    _, store = calls_db
    data = dialin("dialin.connected", ROOM, "s-1", time.time())
    body = body_of(data)
    response = post(receiver, body, signed(body))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "stored"}
    # committed: a new connection (another engine) sees it as soon as the answer is there
    other = sa.create_engine(store.engine.url)
    with other.connect() as conn:
        (row,) = conn.execute(sa.select(store.events)).mappings()
    other.dispose()
    assert row["event_id"] == data["id"] and row["room"] == ROOM and row["processed_at"] is None
    assert CALLER not in row["payload"] and "2095550123" not in row["payload"]
    assert json.loads(row["payload"])["sip_from"] == "+1***23"
    assert "sip_headers" not in json.loads(row["payload"])


def test_a_replay_is_acknowledged_and_stored_once(receiver, calls_db):
    _, store = calls_db
    body = body_of(dialin("dialin.stopped", ROOM, "s-1", time.time()))
    first, again = post(receiver, body, signed(body)), post(receiver, body, signed(body))
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"status": "duplicate"}
    assert len(stored_rows(store)) == 1


BAD = {
    "forged": (lambda body: signed(body, secret="d3Jvbmctc2VjcmV0"), 401, "bad_signature"),
    "unsigned": (lambda body: {"Content-Type": "application/json"}, 401, "unsigned"),
    "an hour old": (lambda body: signed(body, at=time.time() - 3600), 401, "stale"),
    "an hour ahead": (lambda body: signed(body, at=time.time() + 3600), 401, "stale"),
    "garbage timestamp": (
        lambda body: {**signed(body), "X-Webhook-Timestamp": "yesterday"},
        401,
        "stale",
    ),
    "signature of another body": (lambda body: signed(body + b" "), 401, "bad_signature"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_signatures_are_refused_and_leave_nothing(receiver, calls_db, case, caplog):
    _, store = calls_db
    headers_for, status, reason = BAD[case]
    body = body_of(dialin("dialin.connected", ROOM, "s-1", time.time()))
    headers = headers_for(body)
    with caplog.at_level(logging.DEBUG):
        response = post(receiver, body, headers)
    assert response.status_code == status
    assert response.json() == {"error": reason}
    assert stored_rows(store) == []
    assert counts(receiver).get(reason) == 1
    text = caplog.text
    assert SECRET not in text and CALLER not in text
    if "X-Webhook-Signature" in headers:
        assert headers["X-Webhook-Signature"] not in text


def test_a_timestamp_just_inside_five_minutes_is_accepted(receiver):
    body = body_of(dialin("dialin.connected", ROOM, "s-1", time.time()))
    assert post(receiver, body, signed(body, at=time.time() - 280)).status_code == 200


def test_a_body_over_one_mebibyte_is_refused(receiver, calls_db):
    _, store = calls_db
    big = body_of(event("dialin.connected", {"room": ROOM, "session_id": "s", "pad": "x" * (1024 * 1024)}))
    response = post(receiver, big, signed(big))
    assert response.status_code == 413
    assert stored_rows(store) == []


def test_a_body_over_the_limit_without_a_content_length_is_refused(receiver):
    def chunks():
        for _ in range(17):
            yield b"x" * 65536

    response = receiver.post("/webhooks", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert counts(receiver).get("too_large") == 1


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"type": "dialin.connected"}', b'"text"'])
def test_malformed_signed_bodies_are_400(receiver, calls_db, body):
    _, store = calls_db
    response = post(receiver, body, signed(body))
    assert response.status_code == 400
    assert stored_rows(store) == []
    assert counts(receiver).get("bad_json") == 1


@pytest.mark.parametrize("body", [b'{"test":"test"}', b'{"test": "test"}'])
def test_the_test_ping_is_answered_signed_or_not_and_stores_nothing(receiver, calls_db, body):
    _, store = calls_db
    assert post(receiver, body).status_code == 200
    assert post(receiver, body, signed(body)).status_code == 200
    assert counts(receiver).get("ping") == 2
    assert stored_rows(store) == []


def test_an_unsigned_body_that_is_almost_the_ping_is_refused(receiver):
    body = b'{"test":"test","type":"dialin.connected","id":"x","payload":{"room":"mtg-M1"}}'
    assert post(receiver, body).status_code == 401


def test_unknown_types_and_other_rooms_are_ignored(receiver, calls_db):
    _, store = calls_db
    for data, outcome in (
        (event("recording.started", {"room": ROOM}), "ignored_type"),
        (dialin("dialin.connected", "other-M1", "s-1", time.time()), "ignored_room"),
        (dialin("dialin.connected", "mtgx-M1", "s-2", time.time()), "ignored_room"),
        (event("meeting.ended", {"meeting_id": "x"}), "ignored_room"),  # no room at all
    ):
        body = body_of(data)
        response = post(receiver, body, signed(body))
        assert response.status_code == 200
        assert response.json() == {"status": outcome}
    assert stored_rows(store) == []
    assert counts(receiver) == {"ignored_type": 1, "ignored_room": 3}


def test_a_series_room_is_ours(receiver, calls_db):
    body = body_of(dialin("dialin.connected", "mtg_s-weekly", "s-1", time.time()))
    assert post(receiver, body, signed(body)).json() == {"status": "stored"}


def test_nothing_else_is_reachable(receiver):
    for path in ("/docs", "/redoc", "/openapi.json", "/", "/webhooks/x"):
        assert receiver.get(path).status_code == 404, path
    assert receiver.get("/webhooks").status_code == 405
    assert receiver.put("/webhooks", content=b"{}").status_code == 405


def test_no_secret_configured_is_503(receiver, monkeypatch):
    conn = {"conn_type": "daily", "host": "http://127.0.0.1:9/v1", "password": "k"}
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", json.dumps(conn))
    receiver.app_state.sources.failed()  # drop the cached settings
    body = body_of(dialin("dialin.connected", ROOM, "s-1", time.time()))
    assert post(receiver, body, signed(body)).status_code == 503


@pytest.mark.postgres
def test_the_database_down_is_503_and_the_receiver_recovers(receiver, calls_db, monkeypatch, caplog):
    from daily_devtools.postgres import _free_port

    _, store = calls_db
    good = json.loads(os.environ["AIRFLOW_CONN_DAILY_MEETINGS_DB"])
    down = {"conn_type": "postgres", "host": "127.0.0.1", "port": _free_port(), "login": "postgres", "schema": "x"}
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps(down))
    receiver.app_state.sources.failed()
    body = body_of(dialin("dialin.connected", ROOM, "s-1", time.time()))
    with caplog.at_level(logging.DEBUG):
        assert post(receiver, body, signed(body)).status_code == 503
    assert CALLER not in caplog.text and SECRET not in caplog.text
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps(good))
    # Daily retries the same message: accepted now, without anyone resetting the receiver
    assert post(receiver, body, signed(body)).json() == {"status": "stored"}
    assert len(stored_rows(store)) == 1


def test_concurrent_first_requests_create_the_tables_once(calls_db):
    """The receiver's first requests arrive together (Daily delivers in parallel): the tables are
    created once, not raced into "table already exists" (a 503 for every request but one)."""
    import threading

    from daily_dialin.calls.events import parse_event

    _, store = calls_db
    barrier, errors = threading.Barrier(8), []

    def first_request(n: int) -> None:
        barrier.wait()
        try:
            store.ensure_schema()
            event = parse_event(body_of(dialin("dialin.connected", ROOM, f"c-{n}", time.time())))
            store.insert_event(event, received_at=datetime.now(UTC))
        except Exception as exc:
            errors.append(repr(exc)[:200])

    threads = [threading.Thread(target=first_request, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(stored_rows(store)) == 8
