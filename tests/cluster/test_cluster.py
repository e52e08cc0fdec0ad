"""The compose topology run natively: provisioning through Airflow's REST API and a backfill, on two Celery workers.

Unpausing the DAG (REST) makes its scheduled run (rolling horizon: 2 days here); a manual run with a
window of two days is triggered through ``POST /api/v2/dags/{id}/dagRuns`` with Params; then ``airflow
backfill create`` queues two past days, whose runs provision the meetings 30 days (lead) later. With
``chunk_size`` 2 (the Variable, from the bootstrap) the runs have several chunks; the pool lets two run
at once and each worker runs one task at a time, so both workers get chunks. Checked: every run
succeeded, both workers ran chunk tasks (task instance ``hostname``), every meeting in scope has a PIN
in PostgreSQL equal to the emulator's, and no meeting outside scope (or its room) was touched.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
import requests

from tests.support.cluster import (
    BACKFILL_DAYS_BACK,
    DAG_ID,
    WORKERS,
    NativeCluster,
    load_compose,
    pins_by_room,
    read_meetings,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

SCOPE = ("horizon", "window", "backfill")


def _untouched(row: dict) -> bool:
    return (
        row["room_name"] is None
        and row["dialin_pin"] is None
        and row["provisioned_at"] is None
        and not row["attempts"]
        and row["last_error"] is None
    )


def _wait_for_runs_of_type(api, run_type: str, count: int) -> set[str]:
    deadline = time.monotonic() + 120
    while True:  # the scheduler and the backfill create runs asynchronously
        ids = {r["dag_run_id"] for r in api.runs(DAG_ID) if r["run_type"] == run_type}
        if len(ids) >= count:
            return ids
        assert time.monotonic() < deadline, f"{count} {run_type} run(s) never appeared: {ids}"
        time.sleep(2)


def test_manual_run_and_backfill_on_two_celery_workers(native_cluster: NativeCluster, cluster_meetings):
    cluster, started = native_cluster, time.monotonic()
    api = cluster.api()
    today = cluster_meetings["horizon"][0]["starts_at"].date() - timedelta(days=1)  # the day the data was seeded for
    # Each Daily call takes a moment, so a chunk task holds its worker (one task at a time) while the pool's
    # second chunk task is handed out: that one goes to the other worker.
    emulator_settings = f"{cluster.emulator_url}/_emulator/settings"
    requests.patch(emulator_settings, json={"latency_ms": 1500}, timeout=10).raise_for_status()

    # unpausing makes the scheduled run (rolling horizon); the manual run follows it (max_active_runs=1)
    assert api.patch(f"/dags/{DAG_ID}", {"is_paused": False})["is_paused"] is False
    window = {"window_start": str(today + timedelta(days=5)), "window_end": str(today + timedelta(days=6))}
    manual = api.post(f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": window})
    assert manual["logical_date"] is None and manual["conf"] == window
    scheduled = _wait_for_runs_of_type(api, "scheduled", 1)
    finished = api.wait_for_runs(DAG_ID, {manual["dag_run_id"], *scheduled}, timeout=300)

    # then the backfill of two past days, for the meetings 30 days (lead) after each
    days = [today - timedelta(days=n) for n in BACKFILL_DAYS_BACK]
    created = cluster.airflow_cli(
        "backfill", "create", "--dag-id", DAG_ID, "--from-date", str(days[0]), "--to-date", str(days[-1])
    )
    assert created.returncode == 0, created.stdout + created.stderr
    finished |= api.wait_for_runs(DAG_ID, _wait_for_runs_of_type(api, "backfill", len(days)), timeout=300)
    requests.patch(emulator_settings, json={"latency_ms": 0}, timeout=10).raise_for_status()

    run_ids = set(finished)
    states = {run_id: r["state"] for run_id, r in finished.items()}
    assert set(states.values()) == {"success"}, states
    backfill_dates = sorted(r["logical_date"][:10] for r in finished.values() if r["run_type"] == "backfill")
    assert backfill_dates == [str(d) for d in days]

    chunk_tis = {
        run_id: [ti for ti in api.task_instances(DAG_ID, run_id) if ti["task_id"] == "provision_chunk"]
        for run_id in run_ids
    }
    assert len(chunk_tis[manual["dag_run_id"]]) == 4  # 8 meetings, chunk_size 2
    all_chunks = [ti for tis in chunk_tis.values() for ti in tis]
    assert {ti["state"] for ti in all_chunks} == {"success"}
    by_host = Counter(ti["hostname"] for ti in all_chunks)
    assert set(WORKERS) <= set(by_host), f"chunk tasks ran on {dict(by_host)}; expected both workers"

    meetings = read_meetings(cluster)
    pins = pins_by_room(cluster.emulator_state())
    in_scope = [m["meeting_id"] for group in SCOPE for m in cluster_meetings[group]]
    for meeting_id in in_scope:
        row = meetings[meeting_id]
        assert row["room_name"] == f"mtg-{meeting_id}", row
        assert row["dialin_pin"] and len(row["dialin_pin"]) == 11, row
        assert row["dialin_pin"] == pins[row["room_name"]], (meeting_id, row["dialin_pin"], pins.get(row["room_name"]))
        assert row["dial_string"].endswith(f",,{row['dialin_pin']}"), row
        assert row["last_error"] is None, row
    outside = [m["meeting_id"] for group in ("untouched", "pool_trap") for m in cluster_meetings[group]]
    for meeting_id in outside:
        assert _untouched(meetings[meeting_id]), meetings[meeting_id]
        assert f"mtg-{meeting_id}" not in pins
    browser = {f"mtg-{m['meeting_id']}" for m in cluster_meetings["browser"]}
    meeting_rooms = {name for name in pins if name.startswith("mtg-")}
    assert meeting_rooms - browser == {f"mtg-{m}" for m in in_scope}

    # every compose service ran natively, with its compose command (tests/deploy/test_compose.py: only loopback
    # additions); postgres ran the compose file's init script on the throwaway server
    ran = Counter(service for service, _, _ in cluster.ran)
    # (demo-seed, of the "emulator" profile, seeds sample meetings for a demo: the check seeds its own)
    assert set(ran) == set(load_compose()["services"]) - {"postgres", "demo-seed"}, ran
    assert ran["airflow-worker"] == 2

    lines = [f"cluster check: {len(finished)} runs, all success, in {time.monotonic() - started:.0f}s"]
    for run_id, run in sorted(finished.items(), key=lambda item: item[1]["run_after"]):
        hosts = Counter(ti["hostname"] for ti in chunk_tis[run_id])
        took = (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()
        lines.append(f"  {run['run_type']:<9} {run_id:<48} {took:5.1f}s  chunks by worker: {dict(hosts)}")
    lines.append(
        f"  meetings with PIN = emulator's: {len(in_scope)} in scope; untouched outside scope: {len(outside)}; "
        f"chunk tasks per worker: {dict(by_host)}"
    )
    print("\n" + "\n".join(lines))
