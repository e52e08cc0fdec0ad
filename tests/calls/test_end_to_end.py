"""End to end over real HTTP: the emulator's webhooks (registered by the bootstrap, signed by the
emulator) into the receiver served by uvicorn under ``/daily`` (as the API server mounts it), then the
fold. Calls by PIN become calls-table rows with masked numbers and figures; a wrong PIN never
counts; a failed call alerts; bad input is refused; a FAILED webhook is re-armed."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from airflow_provider_daily.hooks.daily import DailyHook
from daily_dialin import bootstrap
from daily_dialin.calls import process
from tests.calls.helpers import body_of, dialin, signed
from tests.calls.test_fold import FIGURE_COLUMNS, add_figure_columns
from tests.hooks.helpers import dialin_spec
from tests.support.daily import PIN_NUMBER, daily_connection_uri
from tests.support.engine import insert_rows

CALLER = "+12095550177"


@pytest.fixture
def served_receiver(calls_db):
    import uvicorn
    from fastapi import FastAPI

    from daily_devtools.postgres import _free_port
    from daily_dialin.calls.receiver import create_app

    outer, receiver = FastAPI(), create_app()
    outer.mount("/daily", receiver)  # what Airflow's API server does with the plugin's app
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(outer, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/daily/webhooks", receiver.state.counters
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def daily_in_airflow(airflow_db, emulator, monkeypatch):
    """``daily_default`` in the metadata DB (where the bootstrap keeps the secret) and in the environment."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    uri = json.loads(daily_connection_uri(emulator.base_url))
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == "daily_default").delete()
        session.add(
            Connection(
                conn_id="daily_default",
                conn_type="daily",
                host=uri["host"],
                password=uri["password"],
                extra=json.dumps(uri["extra"]),
            )
        )
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", json.dumps(uri))  # restored after the test
    return {"connections": {"daily_default": uri}, "variables": {"daily_provisioning": {}, "daily_calls": {}}}


@pytest.mark.slow
def test_calls_by_pin_end_to_end(daily_in_airflow, served_receiver, calls_db, emulator, monkeypatch):
    url, counters = served_receiver
    table, store = calls_db
    summary = bootstrap.register_webhook(daily_in_airflow, url=url, secret=None)
    assert summary["action"] == "created" and summary["state"] == "ACTIVE"
    assert counters.snapshot().get("ping") == 1, "Daily's test request reached the receiver"
    assert bootstrap.stored_webhook_secret("daily_default"), "the secret is kept in the Daily connection"
    # the receiver reads the secret from the connection (here: the environment the bootstrap set)
    assert bootstrap.register_webhook(daily_in_airflow, url=url, secret=None)["action"] in ("kept", "updated")

    hook = DailyHook()
    room = hook.ensure_room(dialin_spec("mtg-M1", number=PIN_NUMBER)).room
    now = time.time()
    insert_rows(
        table,
        [
            {
                "meeting_id": "M1",
                "title": "M1",
                "starts_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - 600)),
                "ends_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now + 3000)),
                "timezone": "UTC",
                "status": "scheduled",
                "room_name": "mtg-M1",
            }
        ],
    )
    add_figure_columns(table)
    admin = emulator.admin
    web = admin.join("mtg-M1", user_name="Host")
    good = admin.dial(number=PIN_NUMBER, pin=room.pin, caller=CALLER)
    wrong = admin.dial(number=PIN_NUMBER, pin="99999999999", caller="+12095550188")
    assert good["status"] == "connected" and wrong["status"] == "disconnected"
    failed = admin.dial(number=PIN_NUMBER, pin=room.pin, caller="+442071234567")
    admin.call_error(failed["session_id"], "carrier rejected the call")
    admin.hang_up(good["session_id"])
    admin.leave("mtg-M1", web)
    assert admin.wait_webhooks(timeout=30)["idle"]

    snapshot = counters.snapshot()
    assert snapshot.get("stored", 0) >= 4 and not {"bad_signature", "stale", "unsigned"} & set(snapshot), snapshot
    result = process.fold_events()
    calls = {c.session_id: c for c in store.read_calls()}
    assert set(calls) == {good["session_id"], failed["session_id"]}, "a wrong PIN never becomes a call"
    assert calls[good["session_id"]].caller == "+1***77" and calls[good["session_id"]].duration_seconds is not None
    assert calls[failed["session_id"]].error == "carrier rejected the call"
    with table.engine.connect() as conn:
        row = conn.exec_driver_sql(f"SELECT {', '.join(FIGURE_COLUMNS)} FROM daily_meetings").one()
    assert row[0] == 2 and row[3] == "carrier rejected the call"
    with pytest.raises(process.DialinAlert, match="meeting M1"):
        process.raise_alerts(result)
    with store.engine.connect() as conn:
        everything = repr(list(conn.exec_driver_sql("SELECT * FROM daily_call_events")))
        everything += repr(list(conn.exec_driver_sql("SELECT * FROM daily_calls")))
    assert "2095550177" not in everything and "2071234567" not in everything and "2095550188" not in everything

    # bad input against the served receiver: forged, stale, too large
    body = body_of(dialin("dialin.connected", "mtg-M1", "s-x", time.time()))
    assert requests.post(url, data=body, headers=signed(body), timeout=10).status_code == 401  # not Daily's secret
    secret = bootstrap.stored_webhook_secret("daily_default")
    assert (
        requests.post(
            url, data=body, headers=signed(body, secret=secret, at=time.time() - 3600), timeout=10
        ).status_code
        == 401
    )
    big = b"{" + b" " * (1024 * 1024 + 1) + b"}"
    assert requests.post(url, data=big, headers=signed(big, secret=secret), timeout=10).status_code == 413
    assert requests.post(url, data=body, headers=signed(body, secret=secret), timeout=10).json() == {"status": "stored"}


@pytest.mark.slow
def test_a_failed_webhook_is_re_armed(daily_in_airflow, served_receiver, emulator):
    url, _ = served_receiver
    daily_in_airflow["variables"]["daily_calls"] = {"retry_type": "circuit-breaker"}
    created = bootstrap.register_webhook(daily_in_airflow, url=url, secret=None)
    emulator.admin.configure(webhook_fail_rate=1.0)  # the receiver "fails" every delivery
    hook = DailyHook()
    room = hook.ensure_room(dialin_spec("mtg-M2", number=PIN_NUMBER)).room
    for _ in range(3):
        emulator.admin.dial(number=PIN_NUMBER, pin=room.pin, caller=CALLER)
    emulator.admin.wait_webhooks(timeout=60)
    (found,) = [h for h in hook.list_webhooks() if h["uuid"] == created["uuid"]]
    assert found["state"] == "FAILED", found
    emulator.admin.configure(webhook_fail_rate=0.0)
    again = bootstrap.register_webhook(daily_in_airflow, url=url, secret=None)
    assert again["action"] == "re-armed" and again["state"] == "ACTIVE"
    hook.delete_webhook(created["uuid"])
    assert [h for h in hook.list_webhooks() if h["uuid"] == created["uuid"]] == []
