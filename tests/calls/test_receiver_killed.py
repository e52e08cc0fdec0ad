"""The receiver's process killed mid-burst (``kill -9``) and started again: no event the emulator saw
acknowledged is lost, and every event ends up stored exactly once - Daily (the emulator, exponential
retry mode with its delays scaled down) retries what got no answer, a replay of an event committed
just before the kill is acknowledged as a duplicate.

The receiver runs as the benchmark serves it (:mod:`bench.calls.serve`: uvicorn in its own process,
the app mounted under ``/daily`` as the API server mounts it, its settings from the environment),
so the kill takes down the whole server process, not a thread.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from airflow_provider_daily.hooks.daily import DailyHook
from bench.calls.__main__ import SECRET, child_env, start_receiver, stop
from tests.hooks.helpers import dialin_spec
from tests.support.daily import daily_connection_uri

PEOPLE = 120  # 120 joins and 120 leaves: ~242 events (under the emulator's 1,000 recent deliveries)
ROOM = "mtg-burst"


def _room_life(emulator, done: threading.Event) -> None:
    try:
        admin = emulator.admin
        ids = [admin.join(ROOM, user_name=f"P{n}") for n in range(PEOPLE)]
        for participant in ids:
            admin.leave(ROOM, participant)
    finally:
        done.set()


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_kill_9_mid_burst_loses_no_acknowledged_event(calls_db, emulator, monkeypatch, tmp_path):
    _, store = calls_db
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url))
    env = child_env(tmp_path, json.loads(os.environ["AIRFLOW_CONN_DAILY_MEETINGS_DB"]))
    proc, url = start_receiver(env)
    port = int(url.split(":")[2].split("/")[0])
    try:
        hook = DailyHook()
        hook.ensure_room(dialin_spec(ROOM))
        # Daily's retries [doc: 5 tries over ~15 min], 20 times faster: 3, 6, 12, 24 s apart
        emulator.admin.configure(webhook_retry_scale=0.05, webhook_workers=2)
        hook.create_webhook(
            url=url,
            event_types=["participant.joined", "participant.left", "meeting.started", "meeting.ended"],
            hmac_secret=SECRET,
            retry_type="exponential",
        )
        done = threading.Event()
        life = threading.Thread(target=_room_life, args=(emulator, done), daemon=True)
        life.start()
        _wait(lambda: emulator.admin.webhook_stats()["counters"]["delivered"] >= 30, 120, "30 deliveries")
        os.kill(proc.pid, signal.SIGKILL)  # the API server dies mid-burst
        proc.wait(timeout=30)
        killed_at = emulator.admin.webhook_stats()["counters"]["delivered"]
        time.sleep(1.0)  # deliveries fail meanwhile (connection refused) and are queued for retry
        proc, _ = start_receiver(env, port=port)
        life.join(timeout=180)
        assert done.is_set(), "the room life did not finish"
        assert emulator.admin.wait_webhooks(timeout=120)["idle"], "retries did not finish"
        stats = emulator.admin.webhook_stats()
    finally:
        stop(proc)

    counters = stats["counters"]
    assert killed_at < PEOPLE * 2, "the kill came mid-burst"
    assert counters["failed_attempts"] > 0, "some deliveries failed while the receiver was down"
    assert counters["dropped_exhausted"] == counters["dropped_overflow"] == 0, counters
    acknowledged = {d["id"] for d in stats["recent"] if d["ok"]}
    sent = {d["id"] for d in stats["recent"]}
    assert acknowledged == sent, "every event was acknowledged in the end (Daily retried the rest)"
    with store.engine.connect() as conn:
        stored = Counter(
            row[0] for row in conn.execute(sa.select(store.events.c.event_id).where(store.events.c.room == ROOM))
        )
    assert set(stored) == acknowledged, f"lost: {len(acknowledged - set(stored))}"
    assert max(stored.values()) == 1, "stored exactly once"
    assert len(stored) >= PEOPLE * 2
