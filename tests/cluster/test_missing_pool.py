"""The missing-pool trap, on the native cluster: a run whose pool is gone fails instead of hanging.

Without the ``daily_api`` pool the scheduler never queues ``provision_chunk`` (it stays "scheduled"
and the task's dependencies say why: that is what the UI shows under the task instance). The DAG's
``dagrun_timeout`` (``DAILY_PROVISIONING_TIMEOUT_MINUTES``; 2 minutes in the check, 4 hours by default)
fails the run, so it neither hangs nor holds up the runs queued behind it (``max_active_runs=1``).
Running the same bootstrap again restores the pool with ``api_concurrency`` slots, and the next run
provisions the meetings.
"""

from __future__ import annotations

import time

import pytest

from tests.support.cluster import DAG_ID, NativeCluster, pins_by_room, read_meetings

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


def test_missing_pool_fails_the_run_and_the_bootstrap_restores_it(native_cluster: NativeCluster, cluster_meetings):
    cluster, api = native_cluster, native_cluster.api()
    pool = "daily_api"
    assert api.request("DELETE", f"/pools/{pool}").status_code == 204
    api.patch(f"/dags/{DAG_ID}", {"is_paused": False})
    day = str(cluster_meetings["pool_trap"][0]["starts_at"].date())  # the seeded day, not today's clock
    body = {"logical_date": None, "conf": {"window_start": day, "window_end": day}}
    run = api.post(f"/dags/{DAG_ID}/dagRuns", body)
    run_id = run["dag_run_id"]

    deadline, reasons = time.monotonic() + 120, []
    while not any("non-existent pool 'daily_api'" in reason for reason in reasons):
        assert time.monotonic() < deadline, f"the chunk task never waited on the missing pool: {reasons}"
        time.sleep(2)
        chunks = [ti for ti in api.task_instances(DAG_ID, run_id) if ti["task_id"] == "provision_chunk"]
        if chunks and chunks[0]["state"] == "scheduled":
            deps = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/provision_chunk/0/dependencies")
            reasons = [dep["reason"] for dep in deps["dependencies"]]

    started = time.monotonic()
    finished = api.wait_for_runs(DAG_ID, {run_id}, timeout=240)[run_id]
    assert finished["state"] == "failed", finished
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}
    assert states["provision_chunk"] == "skipped", states
    meetings = read_meetings(cluster)
    trapped = [m["meeting_id"] for m in cluster_meetings["pool_trap"]]
    assert all(meetings[m]["room_name"] is None and meetings[m]["dialin_pin"] is None for m in trapped)
    failed_after = time.monotonic() - started

    cluster.run_once("airflow-init")  # the same bootstrap as at start: the pool is back, sized from the Variable
    restored = api.get(f"/pools/{pool}")
    assert restored["slots"] == int(cluster.values["DAILY_API_CONCURRENCY"]) == 2

    again = api.post(f"/dags/{DAG_ID}/dagRuns", body)
    assert api.wait_for_runs(DAG_ID, {again["dag_run_id"]}, timeout=240)[again["dag_run_id"]]["state"] == "success"
    meetings, pins = read_meetings(cluster), pins_by_room(cluster.emulator_state())
    for meeting_id in trapped:
        assert meetings[meeting_id]["dialin_pin"] == pins[f"mtg-{meeting_id}"]
    print(
        f"\nmissing pool: chunk task waited ({reasons[0]!r}); run failed by dagrun_timeout "
        f"{failed_after:.0f}s after that; bootstrap restored the pool ({restored['slots']} slots); rerun succeeded"
    )
