"""The gate on mass deletion on the native cluster: a provisioning run that would delete more rooms
than ``max_deletions_without_approval`` hands them to the approval DAG
(``daily_dialin_provisioning_deletions``, through the asset ``request_approval`` emits) and completes;
the approval waits in its ``approve_deletions`` (Human-in-the-loop, a real scheduler) until a person
answers through the REST API (``PATCH .../hitlDetails``):

* while it waits, provisioning goes on: a meeting inserted to start within the hour gets its dial
  string within a minute (the watcher's runs are not held by the approval);
* Approve -> the rooms are deleted and the PINs cleared;
* Reject -> nothing is deleted, the approval's run fails, and the Reject is remembered: the next
  provisioning runs ask nobody about the same rooms;
* no answer within ``approval_timeout_minutes`` -> the scheduler applies the default (Reject):
  nothing is deleted, the approval's run fails.

The settings go into the Variable ``daily_provisioning`` for the test and are restored after; each
case's meetings are scheduled again afterwards, so no later run hands anything over.
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
APPROVALS = f"{DAG_ID}_deletions"


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
    api.wait_for_dag(APPROVALS)
    assert api.get(f"/dags/{APPROVALS}")["is_paused"] is False, "the approval DAG is created unpaused"
    try:
        yield cluster, api
    finally:
        api.patch(f"/variables/{VARIABLE}", {"key": VARIABLE, "value": saved})
        if was_paused:
            api.patch(f"/dags/{DAG_ID}", {"is_paused": True})


def _settings(api: Any, **values: Any) -> None:
    current = json.loads(api.get(f"/variables/{VARIABLE}")["value"])
    api.patch(f"/variables/{VARIABLE}", {"key": VARIABLE, "value": json.dumps({**current, **values})})


def _insert(cluster: NativeCluster, ids: list[str], start: datetime) -> None:
    for meeting_id in ids:
        _execute(
            cluster,
            "INSERT INTO daily_meetings (meeting_id, title, starts_at, ends_at, timezone, wait_for_meeting_start, "
            "status) VALUES (%s, %s, %s, %s, 'UTC', TRUE, 'scheduled')",
            (meeting_id, "Gate check", start, start + timedelta(minutes=30)),
        )


def _provisioned(cluster: NativeCluster, api: Any, ids: list[str]) -> None:
    _insert(cluster, ids, (datetime.now(UTC) + timedelta(hours=20)).replace(microsecond=0))
    api.post(f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {}})
    _wait("the meetings provisioned", lambda: all(read_meetings(cluster)[i]["dialin_pin"] for i in ids), cluster)


def _states(api: Any, dag_id: str, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["state"] for ti in api.task_instances(dag_id, run_id)}


def _awaiting(cluster: NativeCluster, api: Any, before: set[str]) -> str:
    """Cancelling starts provisioning runs (the watch, or ours) that hand the deletion over; the id of
    the approval DAG's run whose approval waits."""

    def find() -> str | None:
        for run in api.runs(APPROVALS):
            if run["dag_run_id"] in before or run["state"] != "running":
                continue
            if _states(api, APPROVALS, run["dag_run_id"]).get("approve_deletions") == "awaiting_input":
                return run["dag_run_id"]
        return None

    return _wait("an approval waiting in the approval DAG", find, cluster)


def _cancel_and_wait(cluster: NativeCluster, api: Any, ids: list[str]) -> str:
    before = {r["dag_run_id"] for r in api.runs(APPROVALS)}
    _execute(cluster, "UPDATE daily_meetings SET status = 'cancelled' WHERE meeting_id = ANY(%s)", (ids,))
    api.post(f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {}})
    return _awaiting(cluster, api, before)


def _answer(api: Any, run_id: str, option: str) -> None:
    api.patch(
        f"/dags/{APPROVALS}/dagRuns/{run_id}/taskInstances/approve_deletions/-1/hitlDetails",
        {"chosen_options": [option]},
    )


def _finished(
    cluster: NativeCluster, api: Any, run_id: str, timeout: float = STEP, dag_id: str = APPROVALS
) -> dict[str, Any]:
    return _wait(
        f"run {run_id} finished",
        lambda: next(
            (r for r in api.runs(dag_id) if r["dag_run_id"] == run_id and r["state"] in ("success", "failed")), None
        ),
        cluster,
        timeout,
    )


def _schedule_again(cluster: NativeCluster, api: Any, ids: list[str]) -> None:
    """Schedule the meetings again, and answer any approval still waiting: with nothing left to delete,
    its Reject deletes nothing."""
    _execute(cluster, "UPDATE daily_meetings SET status = 'scheduled' WHERE meeting_id = ANY(%s)", (ids,))
    time.sleep(5)
    for run in api.runs(APPROVALS):
        waiting = run["state"] in ("running", "queued")
        if waiting and _states(api, APPROVALS, run["dag_run_id"]).get("approve_deletions") == "awaiting_input":
            _answer(api, run["dag_run_id"], "Reject")


def _provisioning_run_done(cluster: NativeCluster, api: Any) -> dict[str, Any]:
    """Trigger a provisioning run and wait for it: it must not wait for anyone."""
    run_id = api.post(f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {}})["dag_run_id"]
    return _finished(cluster, api, run_id, dag_id=DAG_ID)


def test_approved_deletes_rejected_and_timed_out_keep_every_room(gate) -> None:
    cluster, api = gate
    _settings(api, max_deletions_without_approval=2, approval_timeout_minutes=60)

    # approved: deleted - and while the approval waits, a meeting starting soon gets its dial string
    ids = ["GATE-A1", "GATE-A2", "GATE-A3"]
    _provisioned(cluster, api, ids)
    run_id = _cancel_and_wait(cluster, api, ids)
    assert {f"mtg-{i}" for i in ids} <= _live(cluster), "nothing is deleted while the approval waits"
    inserted = time.monotonic()
    _insert(cluster, ["GATE-SOON"], (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0))
    _wait(
        "the meeting inserted to start within the hour has its dial string",
        lambda: (read_meetings(cluster).get("GATE-SOON") or {}).get("dial_string"),
        cluster,
        timeout=60,
    )
    print(f"dial string {time.monotonic() - inserted:.1f} s after insert, while an approval waits")
    assert _states(api, APPROVALS, run_id)["approve_deletions"] == "awaiting_input"
    assert "waiting for a person's approval" in read_meetings(cluster)["GATE-A1"]["last_error"]
    _answer(api, run_id, "Approve")
    assert _finished(cluster, api, run_id)["state"] == "success"
    assert _states(api, APPROVALS, run_id)["delete_approved"] == "success"
    assert not {f"mtg-{i}" for i in ids} & _live(cluster)
    assert all(read_meetings(cluster)[i]["dialin_pin"] is None for i in ids)

    # rejected: nothing deleted, the approval's run fails; the Reject is remembered
    ids = ["GATE-R1", "GATE-R2", "GATE-R3"]
    _provisioned(cluster, api, ids)
    run_id = _cancel_and_wait(cluster, api, ids)
    _answer(api, run_id, "Reject")
    assert _finished(cluster, api, run_id)["state"] == "failed"
    assert {f"mtg-{i}" for i in ids} <= _live(cluster)
    after_reject = {r["dag_run_id"] for r in api.runs(APPROVALS)}
    # (a provisioning run judged while the approval still waited may write "waiting ..." once more:
    # the next run's verdict is the remembered Reject)
    done = _provisioning_run_done(cluster, api)
    assert done["state"] == "success", "a remembered Reject fails no provisioning run"
    assert _states(api, DAG_ID, done["dag_run_id"]).get("request_approval") == "skipped"
    time.sleep(10)
    assert {r["dag_run_id"] for r in api.runs(APPROVALS)} == after_reject, "no new approval for the same rooms"
    rows = read_meetings(cluster)
    assert all("deletion rejected by" in rows[i]["last_error"] for i in ids), [rows[i]["last_error"] for i in ids]
    assert all("run with redecide_deletions" in rows[i]["last_error"] for i in ids)
    _schedule_again(cluster, api, ids)

    # timed out: the default (Reject) applies, nothing deleted, the approval's run fails
    _settings(api, max_deletions_without_approval=2, approval_timeout_minutes=1)
    ids = ["GATE-T1", "GATE-T2", "GATE-T3"]
    _provisioned(cluster, api, ids)
    run_id = _cancel_and_wait(cluster, api, ids)
    assert _finished(cluster, api, run_id, timeout=STEP + 120)["state"] == "failed"
    assert {f"mtg-{i}" for i in ids} <= _live(cluster)
    # a timeout is not remembered: a later run may already have asked again
    said = [read_meetings(cluster)[i]["last_error"] for i in ids]
    assert all("timed out" in text or "waiting for a person's approval" in text for text in said), said
    _settings(api, max_deletions_without_approval=25, approval_timeout_minutes=60)
    _schedule_again(cluster, api, ids)
