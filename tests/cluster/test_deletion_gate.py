"""The gate on mass deletion on the native cluster: a run that would delete more rooms than
``max_deletions_without_approval`` waits in ``approve_deletions`` (Human-in-the-loop, a real
scheduler) until a person answers through the REST API (``PATCH .../hitlDetails``):

* Approve -> the rooms are deleted and the PINs cleared;
* Reject -> nothing is deleted, the run fails;
* no answer within ``approval_timeout_minutes`` -> the scheduler applies the default (Reject):
  nothing is deleted, the run fails.

The settings go into the Variable ``daily_provisioning`` for the test and are restored after; each
case's meetings are scheduled again afterwards, so no later run waits for an approval.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.cluster import DAG_ID, NativeCluster, read_meetings

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1800)]

STEP = 300
VARIABLE = "daily_provisioning"


def _wait(what: str, check: Callable[[], Any], cluster: NativeCluster, timeout: float = STEP) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s\n{cluster.log_tail('airflow-scheduler', 4000)}")
        time.sleep(2)


def _execute(cluster: NativeCluster, sql: str, params: tuple[Any, ...]) -> None:
    import psycopg2

    with contextlib.closing(psycopg2.connect(cluster.meetings_uri)) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        conn.commit()


def _live(cluster: NativeCluster) -> set[str]:
    return {room["name"] for room in cluster.emulator_state()["rooms"] if not room.get("expired")}


@pytest.fixture(scope="module")
def gate(native_cluster: NativeCluster) -> Iterator[tuple[NativeCluster, Any]]:
    cluster, api = native_cluster, native_cluster.api()
    saved = api.get(f"/variables/{VARIABLE}")["value"]
    was_paused = api.get(f"/dags/{DAG_ID}")["is_paused"]
    api.patch(f"/dags/{DAG_ID}", {"is_paused": False})
    try:
        yield cluster, api
    finally:
        api.patch(f"/variables/{VARIABLE}", {"key": VARIABLE, "value": saved})
        if was_paused:
            api.patch(f"/dags/{DAG_ID}", {"is_paused": True})


def _settings(api: Any, **values: Any) -> None:
    current = json.loads(api.get(f"/variables/{VARIABLE}")["value"])
    api.patch(f"/variables/{VARIABLE}", {"key": VARIABLE, "value": json.dumps({**current, **values})})


def _provisioned(cluster: NativeCluster, api: Any, ids: list[str]) -> None:
    start = (datetime.now(UTC) + timedelta(hours=20)).replace(microsecond=0)
    for meeting_id in ids:
        _execute(
            cluster,
            "INSERT INTO daily_meetings (meeting_id, title, starts_at, ends_at, timezone, wait_for_meeting_start, "
            "status) VALUES (%s, %s, %s, %s, 'UTC', TRUE, 'scheduled')",
            (meeting_id, "Gate check", start, start + timedelta(minutes=30)),
        )
    api.post(f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {}})
    _wait("the meetings provisioned", lambda: all(read_meetings(cluster)[i]["dialin_pin"] for i in ids), cluster)


def _awaiting(cluster: NativeCluster, api: Any, before: set[str]) -> str:
    """Cancelling starts runs (the watch, or ours); the run id whose approval waits."""

    def find() -> str | None:
        for run in api.runs(DAG_ID):
            if run["dag_run_id"] in before or run["state"] != "running":
                continue
            states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run["dag_run_id"])}
            if states.get("approve_deletions") == "awaiting_input":
                return run["dag_run_id"]
        return None

    return _wait("a run waiting for approval", find, cluster)


def _cancel_and_wait(cluster: NativeCluster, api: Any, ids: list[str]) -> str:
    before = {r["dag_run_id"] for r in api.runs(DAG_ID)}
    _execute(cluster, "UPDATE daily_meetings SET status = 'cancelled' WHERE meeting_id = ANY(%s)", (ids,))
    api.post(f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {}})
    return _awaiting(cluster, api, before)


def _answer(api: Any, run_id: str, option: str) -> None:
    api.patch(
        f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/approve_deletions/-1/hitlDetails",
        {"chosen_options": [option]},
    )


def _finished(cluster: NativeCluster, api: Any, run_id: str, timeout: float = STEP) -> dict[str, Any]:
    return _wait(
        f"run {run_id} finished",
        lambda: next(
            (r for r in api.runs(DAG_ID) if r["dag_run_id"] == run_id and r["state"] in ("success", "failed")), None
        ),
        cluster,
        timeout,
    )


def _schedule_again(cluster: NativeCluster, api: Any, ids: list[str]) -> None:
    """Schedule the meetings again, and answer any approval a later run (the watch's) still waits for:
    with nothing left to delete, its Reject deletes nothing and fails nothing."""
    _execute(cluster, "UPDATE daily_meetings SET status = 'scheduled' WHERE meeting_id = ANY(%s)", (ids,))
    time.sleep(5)
    for run in api.runs(DAG_ID):
        if run["state"] not in ("running", "queued"):
            continue
        states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run["dag_run_id"])}
        if states.get("approve_deletions") == "awaiting_input":
            _answer(api, run["dag_run_id"], "Reject")


def test_approved_deletes_rejected_and_timed_out_keep_every_room(gate) -> None:
    cluster, api = gate
    _settings(api, max_deletions_without_approval=2, approval_timeout_minutes=60)

    # approved: deleted
    ids = ["GATE-A1", "GATE-A2", "GATE-A3"]
    _provisioned(cluster, api, ids)
    run_id = _cancel_and_wait(cluster, api, ids)
    assert {f"mtg-{i}" for i in ids} <= _live(cluster), "nothing is deleted while the approval waits"
    _answer(api, run_id, "Approve")
    _finished(cluster, api, run_id)
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}
    assert states["retire_cancelled"] == "success", states
    assert not {f"mtg-{i}" for i in ids} & _live(cluster)
    assert all(read_meetings(cluster)[i]["dialin_pin"] is None for i in ids)

    # rejected: nothing deleted, the run fails
    ids = ["GATE-R1", "GATE-R2", "GATE-R3"]
    _provisioned(cluster, api, ids)
    run_id = _cancel_and_wait(cluster, api, ids)
    _answer(api, run_id, "Reject")
    assert _finished(cluster, api, run_id)["state"] == "failed"
    assert {f"mtg-{i}" for i in ids} <= _live(cluster)
    assert all("rejected by" in read_meetings(cluster)[i]["last_error"] for i in ids)
    _schedule_again(cluster, api, ids)

    # timed out: the default (Reject) applies, nothing deleted, the run fails
    _settings(api, max_deletions_without_approval=2, approval_timeout_minutes=1)
    ids = ["GATE-T1", "GATE-T2", "GATE-T3"]
    _provisioned(cluster, api, ids)
    run_id = _cancel_and_wait(cluster, api, ids)
    assert _finished(cluster, api, run_id, timeout=STEP + 120)["state"] == "failed"
    assert {f"mtg-{i}" for i in ids} <= _live(cluster)
    assert all("timed out" in read_meetings(cluster)[i]["last_error"] for i in ids)
    _schedule_again(cluster, api, ids)
