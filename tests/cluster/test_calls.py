"""The calls loop on the native cluster: signed events posted to the real API server's
``/daily/webhooks`` (the application's plugin, mounted without Airflow auth) are stored, the
events-table watcher in the triggerer starts ``daily_dialin_calls`` on a Celery worker, and the calls
table fills with masked numbers. Refusals come from the real server too. Nothing here triggers a run.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import pytest
import requests

from tests.calls.helpers import SECRET, body_of, dialin, signed
from tests.support.cluster import NativeCluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

CALLS_DAG = "daily_dialin_calls"
CALLER = "+12095550142"
ROOM = "mtg-CALLS-1"


def _calls(cluster: NativeCluster) -> list[dict[str, Any]]:
    import psycopg2
    import psycopg2.extras

    with contextlib.closing(psycopg2.connect(cluster.meetings_uri)) as conn:
        cur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
        try:
            cur.execute("SELECT * FROM daily_calls WHERE room = %s", (ROOM,))
        except psycopg2.errors.UndefinedTable:
            return []
        return [dict(row) for row in cur.fetchall()]


def test_signed_events_to_the_api_server_become_calls(native_cluster: NativeCluster):
    cluster, api = native_cluster, native_cluster.api()
    api.request(
        "PATCH",
        "/connections/daily_default",
        params={"update_mask": "extra"},
        json={"connection_id": "daily_default", "conn_type": "daily", "extra": json.dumps({"webhook_secret": SECRET})},
    ).raise_for_status()
    api.wait_for_dag(CALLS_DAG)
    was_paused = api.get(f"/dags/{CALLS_DAG}")["is_paused"]
    api.patch(f"/dags/{CALLS_DAG}", {"is_paused": False})
    url = f"{cluster.api_url}/daily/webhooks"
    try:
        start = time.time()
        events = [
            dialin("dialin.connected", ROOM, "cl-1", start - 120, caller=CALLER),
            dialin("dialin.stopped", ROOM, "cl-1", start - 60, caller=CALLER),
        ]
        body = body_of(events[0])
        assert requests.post(url, data=body, timeout=30).status_code == 401, "unsigned"
        assert requests.post(url, data=body, headers=signed(body, secret="b3RoZXI="), timeout=30).status_code == 401
        assert requests.get(f"{cluster.api_url}/daily/openapi.json", timeout=30).status_code == 404
        for data in events:
            body = body_of(data)
            response = requests.post(url, data=body, headers=signed(body), timeout=30)
            assert response.status_code == 200 and response.json() == {"status": "stored"}, response.text
        posted = time.monotonic()
        deadline = posted + 240
        while not (rows := _calls(cluster)):
            if time.monotonic() > deadline:
                tails = "\n".join(
                    f"--- {n}:\n{cluster.log_tail(n, 4000)}" for n in ("airflow-triggerer", "airflow-apiserver")
                )
                raise AssertionError(f"no calls row within 240 s\n{tails}")
            time.sleep(2)
        print(f"event -> calls row: {time.monotonic() - posted:.1f} s")
        (row,) = rows
        assert row["caller"] == "+1***42" and row["duration_seconds"] == 60
        assert CALLER[1:] not in repr(rows)
        runs = api.runs(CALLS_DAG)
        assert runs and all(r["run_type"] in ("asset_triggered", "scheduled") for r in runs)
    finally:
        if was_paused:
            api.patch(f"/dags/{CALLS_DAG}", {"is_paused": True})
