"""The calls loop on the native cluster, over real HTTP end to end: the emulator's signed webhooks are
delivered into the real Airflow API server's ``/daily/webhooks`` (the application's plugin, mounted
without Airflow auth), stored, the events-table watcher in the triggerer starts ``daily_dialin_calls``
on a Celery worker, and:

* calls by PIN become calls-table rows with masked numbers, and figures in the meetings table;
* a wrong PIN never counts as a call;
* a ``dialin.error`` fails ``alert_dialin_errors`` naming the meeting (what notifiers alert on);
* an ended one-off meeting's PIN stops working: the revoke watcher starts the DAG once
  ``revoke_after_minutes`` (1 here, set in the Variable for the module and restored) went by, and the
  emulator refuses the old PIN;
* every bad input of issue 24 is refused as stated by the real server.

One module fixture sets up the loop (webhook secret in the Daily connection, figure columns, the
emulator's webhook, the DAG unpaused) and undoes it. Nothing here triggers a run by hand.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from bench.calls.cluster import Loop
from tests.calls.helpers import SECRET, body_of, dialin, event, signed
from tests.support.cluster import NativeCluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

CALLS_DAG = "daily_dialin_calls"
CALLER = "+12095550142"
ROOM = "mtg-CALLS-1"
PIN_ROOM, PIN_MEETING = "mtg-CALLS-PIN", "CALLS-PIN"
VARIABLE = "daily_provisioning"
REVOKE_AFTER_MINUTES = 1


def _sql(cluster: NativeCluster, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
    import psycopg2
    import psycopg2.extras

    with contextlib.closing(psycopg2.connect(cluster.meetings_uri)) as conn:
        cur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
        try:
            cur.execute(sql, args)
        except psycopg2.errors.UndefinedTable:
            return []
        rows = [dict(row) for row in cur.fetchall()] if cur.description else []
        conn.commit()
        return rows


def _calls(cluster: NativeCluster, room: str = ROOM) -> list[dict[str, Any]]:
    return _sql(cluster, "SELECT * FROM daily_calls WHERE room = %s ORDER BY session_id", (room,))


def _daily(cluster: NativeCluster, method: str, path: str, body: Any = None) -> Any:
    return Loop(cluster).daily(method, path, body)


def _admin(cluster: NativeCluster, method: str, path: str, body: Any = None) -> Any:
    return Loop(cluster).admin(method, path, body)


def _wait(what: str, probe, cluster: NativeCluster, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            tails = "\n".join(
                f"--- {n}:\n{cluster.log_tail(n, 4000)}" for n in ("airflow-triggerer", "airflow-apiserver")
            )
            raise AssertionError(f"{what}: not within {timeout} s\n{tails}")
        time.sleep(1)
    return found


@pytest.fixture(scope="module")
def calls_loop(native_cluster: NativeCluster) -> Iterator[tuple[NativeCluster, Any]]:
    """The loop set up as docs/calls.md says: secret in the Daily connection, figure columns, the
    webhook registered with Daily (the emulator), the calls DAG unpaused; ``revoke_after_minutes`` 1."""
    cluster = native_cluster
    loop = Loop(cluster)
    api = loop.api
    saved = api.get(f"/variables/{VARIABLE}")["value"]
    api.wait_for_dag(CALLS_DAG)
    was_paused = api.get(f"/dags/{CALLS_DAG}")["is_paused"]
    try:
        loop.set_up(REVOKE_AFTER_MINUTES, secret=SECRET)
        loop.admin("PATCH", "/settings", {"webhook_retry_scale": 0.05})
        yield cluster, api
    finally:
        loop.webhook_off()
        loop.admin("PATCH", "/settings", {"webhook_retry_scale": 1.0})  # the compose emulator's default
        api.patch(f"/variables/{VARIABLE}", {"key": VARIABLE, "value": saved})
        if was_paused:
            api.patch(f"/dags/{CALLS_DAG}", {"is_paused": True})


def test_signed_events_to_the_api_server_become_calls(calls_loop):
    cluster, api = calls_loop
    url = f"{cluster.api_url}/daily/webhooks"
    start = time.time()
    events = [
        dialin("dialin.connected", ROOM, "cl-1", start - 120, caller=CALLER),
        dialin("dialin.stopped", ROOM, "cl-1", start - 60, caller=CALLER),
    ]
    assert requests.get(f"{cluster.api_url}/daily/openapi.json", timeout=30).status_code == 404
    for data in events:
        body = body_of(data)
        response = requests.post(url, data=body, headers=signed(body), timeout=30)
        assert response.status_code == 200 and response.json() == {"status": "stored"}, response.text
    posted = time.monotonic()
    (row,) = _wait("a calls row", lambda: _calls(cluster), cluster)
    print(f"event -> calls row: {time.monotonic() - posted:.1f} s")
    assert row["caller"] == "+1***42" and row["duration_seconds"] == 60
    runs = api.runs(CALLS_DAG)
    assert runs and all(r["run_type"] in ("asset_triggered", "scheduled") for r in runs)


def _bad_inputs(room: str) -> dict[str, tuple[bytes, dict[str, str], int, dict | None]]:
    """name -> (body, headers, status, JSON answer) for each bad input of issue 24."""
    now = time.time()
    good = body_of(dialin("dialin.connected", room, f"bad-{uuid.uuid4().hex[:6]}", now))
    big = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    broken = b'{"type": "dialin.connected", "id": '
    unknown = body_of(event("recording.started", {"room": room}))
    foreign = body_of(dialin("dialin.connected", "otherapp-room-1", "bad-foreign", now))
    return {
        "missing signature": (good, {"Content-Type": "application/json"}, 401, None),
        "forged signature": (good, signed(good, secret="b3RoZXItc2VjcmV0"), 401, None),
        "an hour-old timestamp": (good, signed(good, at=now - 3600), 401, None),
        "a body over 1 MiB": (big, signed(big), 413, None),
        "malformed JSON": (broken, signed(broken), 400, None),
        "an unknown event type": (unknown, signed(unknown), 200, {"status": "ignored_type"}),
        "a room not ours": (foreign, signed(foreign), 200, {"status": "ignored_room"}),
    }


def test_bad_input_is_refused_by_the_api_server(calls_loop):
    cluster, _ = calls_loop
    url = f"{cluster.api_url}/daily/webhooks"
    room = "mtg-CALLS-BAD"
    before = _sql(cluster, "SELECT count(*) AS n FROM daily_call_events")[0]["n"]
    for name, (body, headers, status, answer) in _bad_inputs(room).items():
        response = requests.post(url, data=body, headers=headers, timeout=60)
        assert response.status_code == status, f"{name}: {response.status_code} {response.text}"
        if answer is not None:
            assert response.json() == answer, name
        assert SECRET not in response.text and "2095550" not in response.text
    replayed = body_of(dialin("dialin.connected", room, "bad-replay", time.time()))
    answers = [requests.post(url, data=replayed, headers=signed(replayed), timeout=30) for _ in range(2)]
    assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "stored"), (200, "duplicate")]
    after = _sql(cluster, "SELECT count(*) AS n FROM daily_call_events")[0]["n"]
    assert after == before + 1, "only the replayed event was stored, once"
    stored = _sql(cluster, "SELECT event_id FROM daily_call_events WHERE room = %s", (room,))
    assert [row["event_id"] for row in stored] == [json.loads(replayed)["id"]]
    assert not _sql(cluster, "SELECT 1 FROM daily_call_events WHERE room = 'otherapp-room-1'")


def _pin_meeting(cluster: NativeCluster) -> str:
    """A one-off meeting whose scheduled end just passed, with a room and PIN in the emulator (created
    here: provisioning selects only meetings not over, so no run touches this row)."""
    room = _daily(
        cluster,
        "POST",
        "/rooms",
        {
            "name": PIN_ROOM,
            "properties": {
                "exp": int(time.time() + 7200),
                "dialin": {"display_name": "Calls check", "wait_for_meeting_start": True},
            },
        },
    )
    pin = (room.get("config") or {}).get("dialin_code")
    assert pin, room
    now = datetime.now(UTC).replace(microsecond=0)
    _sql(
        cluster,
        "INSERT INTO daily_meetings (meeting_id, title, starts_at, ends_at, timezone, status, room_name, dialin_pin,"
        " room_url, provisioned_at) VALUES (%s, %s, %s, %s, 'UTC', 'scheduled', %s, %s, %s, %s)",
        (
            PIN_MEETING,
            "Calls check",
            now - timedelta(minutes=40),
            now - timedelta(minutes=2),
            PIN_ROOM,
            pin,
            room.get("url"),
            now - timedelta(hours=1),
        ),
    )
    return pin


def _dial(cluster: NativeCluster, pin: str, caller: str) -> dict[str, Any]:
    return Loop(cluster).dial(pin, caller)


def _alert_log(api: Any) -> str | None:
    for run in api.runs(CALLS_DAG):
        tis = {ti["task_id"]: ti for ti in api.task_instances(CALLS_DAG, run["dag_run_id"])}
        alert = tis.get("alert_dialin_errors")
        if alert and alert["state"] == "failed":
            path = f"/dags/{CALLS_DAG}/dagRuns/{run['dag_run_id']}/taskInstances/alert_dialin_errors/logs/1"
            response = api.request("GET", path, params={"full_content": "true"})
            text = response.text
            if PIN_MEETING in text:
                return text
    return None


def test_calls_by_pin_figures_alert_and_the_pin_dies(calls_loop):
    cluster, api = calls_loop
    pin = _pin_meeting(cluster)
    host = _admin(cluster, "POST", f"/rooms/{PIN_ROOM}/participants", {"user_name": "Host"})["id"]
    good = _dial(cluster, pin, CALLER)
    wrong = _dial(cluster, "99999999999" if pin != "99999999999" else "88888888888", "+12095550188")
    failed = _dial(cluster, pin, "+442071234567")
    assert (good["status"], wrong["status"], failed["status"]) == ("connected", "disconnected", "connected")
    _admin(cluster, "POST", f"/calls/{failed['session_id']}/error", {"message": "carrier rejected the call"})
    _admin(cluster, "DELETE", f"/calls/{failed['session_id']}")
    _admin(cluster, "DELETE", f"/calls/{good['session_id']}")
    _admin(cluster, "DELETE", f"/rooms/{PIN_ROOM}/participants/{host}")  # the last one leaves: meeting.ended
    ended = time.monotonic()

    calls = _wait("the calls rows", lambda: len(_calls(cluster, PIN_ROOM)) == 2 and _calls(cluster, PIN_ROOM), cluster)
    by_session = {row["session_id"]: row for row in calls}
    assert set(by_session) == {good["session_id"], failed["session_id"]}, "a wrong PIN never becomes a call"
    assert by_session[good["session_id"]]["caller"] == "+1***42"
    assert by_session[failed["session_id"]]["error"] == "carrier rejected the call"
    assert all(row["meeting_id"] == PIN_MEETING for row in calls)
    everything = repr(_sql(cluster, "SELECT * FROM daily_call_events WHERE room = %s", (PIN_ROOM,))) + repr(calls)
    for number in ("2095550142", "2071234567", "2095550188"):
        assert number not in everything

    def figures() -> dict[str, Any] | None:
        (row,) = _sql(cluster, "SELECT * FROM daily_meetings WHERE meeting_id = %s", (PIN_MEETING,))
        return row if row["actual_end_at"] is not None and row["phone_callers"] == 2 else None

    row = _wait("the figures", figures, cluster)
    assert row["last_dialin_error"] == "carrier rejected the call" and row["first_dialin_at"] is not None
    assert row["participants"] == 3, "the host and two callers attended (no phone flag in participant.*)"
    print(f"meeting.ended -> figures: {time.monotonic() - ended:.1f} s")

    log_text = _wait("a failed alert_dialin_errors naming the meeting", lambda: _alert_log(api), cluster)
    assert "carrier rejected the call" in log_text and "2071234567" not in log_text

    def deleted() -> bool:
        # the room's state in the emulator, not a dial: a waiting caller would keep the room live
        return requests.get(f"{cluster.emulator_url}/_emulator/rooms/{PIN_ROOM}", timeout=30).status_code == 404

    _wait("the room deleted", deleted, cluster, timeout=REVOKE_AFTER_MINUTES * 60 + 180)
    call = _dial(cluster, pin, "+12095550199")
    took = time.monotonic() - ended
    print(f"meeting.ended -> PIN refused: {took:.1f} s (revoke_after_minutes {REVOKE_AFTER_MINUTES})")
    assert (call["status"], call.get("reason")) == ("disconnected", "wrong PIN")
    (row,) = _sql(cluster, "SELECT dialin_pin, last_error FROM daily_meetings WHERE meeting_id = %s", (PIN_MEETING,))
    assert row == {"dialin_pin": None, "last_error": "revoked: the meeting ended"}
