"""Freshness on the native cluster: rows written to the meetings table are provisioned by the watch alone.

The provisioning DAG is scheduled with ``daily_dialin.freshness.provisioning_schedule`` when its services
run with ``DAILY_PROVISIONING_WATCH=1``: its asset ``daily_dialin_meetings_table`` has a
``MeetingsTableTrigger`` watcher, which the triggerer runs while the DAG is unpaused. Nothing here
triggers a run: a meeting inserted to start in an hour gets its dial string, moving it moves the room's
``exp`` by as much, and cancelling it deletes its room - each through ``asset_triggered`` runs the
scheduler starts from the trigger's events. Generous timeouts: a DAG re-parse (to register the watcher
after unpausing), a poll, a run on two Celery workers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.cluster import DAG_ID, NativeCluster, read_meetings

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1200)]

WATCHED_ASSET = "daily_dialin_meetings_table"
STEP_TIMEOUT = 240
MEETING = "FRESH-1"


def _wait(what: str, check: Callable[[], Any], cluster: NativeCluster, *, timeout: float = STEP_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            tails = "\n".join(
                f"--- {name}:\n{cluster.log_tail(name, 4000)}" for name in ("airflow-triggerer", "airflow-scheduler")
            )
            raise AssertionError(f"{what}: not within {timeout:.0f}s\n{tails}")
        time.sleep(2)


def _execute(cluster: NativeCluster, sql: str, params: tuple[Any, ...]) -> None:
    import psycopg2

    with contextlib.closing(psycopg2.connect(cluster.meetings_uri)) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        conn.commit()


def _row_if(cluster: NativeCluster, condition: Callable[[dict[str, Any]], Any]) -> dict[str, Any] | None:
    """The test meeting's row when ``condition`` holds for it, else None."""
    row = read_meetings(cluster).get(MEETING)
    return row if row is not None and condition(row) else None


def _room(cluster: NativeCluster, name: str) -> dict[str, Any] | None:
    return next((room for room in cluster.emulator_state()["rooms"] if room["name"] == name), None)


def _idle(api) -> bool:
    return not [r for r in api.runs(DAG_ID) if r["state"] in ("queued", "running")]


def test_new_moved_and_cancelled_meetings_follow_the_table_without_a_trigger(native_cluster: NativeCluster):
    cluster, api = native_cluster, native_cluster.api()
    details = api.get(f"/dags/{DAG_ID}/details")
    if "asset" not in (details.get("timetable_summary") or "").lower():
        pytest.fail(
            f"{DAG_ID} is not scheduled on the watched table (timetable {details.get('timetable_summary')!r}): "
            "the cluster's Airflow services need DAILY_PROVISIONING_WATCH=1"
        )
    was_paused = details["is_paused"]
    api.patch(f"/dags/{DAG_ID}", {"is_paused": False})
    try:
        _run(cluster, api)
    finally:
        if was_paused:
            api.patch(f"/dags/{DAG_ID}", {"is_paused": True})


def _run(cluster: NativeCluster, api) -> None:
    # the watcher is registered by the next parse of the unpaused DAG; earlier runs settle first
    _wait(
        "the watched asset has a watcher",
        lambda: any(a["watchers"] for a in api.get("/assets", name_pattern=WATCHED_ASSET)["assets"]),
        cluster,
    )
    _wait("earlier runs finished", lambda: _idle(api), cluster, timeout=600)
    before = {r["dag_run_id"] for r in api.runs(DAG_ID)}
    started = datetime.now(UTC)
    timings: dict[str, float] = {}

    # 1. a new meeting, starting in an hour
    start = (started + timedelta(hours=1)).replace(microsecond=0)
    t = time.monotonic()
    _execute(
        cluster,
        "INSERT INTO daily_meetings (meeting_id, title, starts_at, ends_at, timezone, wait_for_meeting_start, status) "
        "VALUES (%s, %s, %s, %s, 'UTC', TRUE, 'scheduled')",
        (MEETING, "Freshness check", start, start + timedelta(minutes=45)),
    )
    row = _wait("the new meeting's dial string", lambda: _row_if(cluster, lambda r: r["dial_string"]), cluster)
    timings["new -> dial string"] = time.monotonic() - t
    room = _room(cluster, f"mtg-{MEETING}")
    assert room is not None and row["dial_string"].endswith(f",,{row['dialin_pin']}"), row
    assert room["config"]["dialin_code"] == row["dialin_pin"]
    old_exp = room["config"]["exp"]
    assert row["room_exp"] == old_exp

    # 2. moved by 30 minutes: the room's exp follows
    t = time.monotonic()
    _execute(
        cluster,
        "UPDATE daily_meetings SET starts_at = starts_at + interval '30 minutes', "
        "ends_at = ends_at + interval '30 minutes' WHERE meeting_id = %s",
        (MEETING,),
    )
    moved = _wait(
        "the room's exp after the move",
        lambda: (r := _room(cluster, f"mtg-{MEETING}")) and r["config"]["exp"] != old_exp and r,
        cluster,
    )
    timings["moved -> exp"] = time.monotonic() - t
    assert moved["config"]["exp"] - old_exp == 30 * 60, (old_exp, moved["config"])
    _wait(
        "the row's room_exp after the move",
        lambda: _row_if(cluster, lambda r: r["room_exp"] == moved["config"]["exp"]),
        cluster,
    )

    # 3. cancelled: the room is deleted and the PIN cleared
    t = time.monotonic()
    _execute(cluster, "UPDATE daily_meetings SET status = 'cancelled' WHERE meeting_id = %s", (MEETING,))
    _wait("the cancelled meeting's room deleted", lambda: _room(cluster, f"mtg-{MEETING}") is None, cluster)
    _wait("the cancelled meeting's PIN cleared", lambda: _row_if(cluster, lambda r: r["dialin_pin"] is None), cluster)
    timings["cancelled -> room deleted"] = time.monotonic() - t

    # nothing was triggered by hand: every run since is the watch's (or, at midnight UTC, the safety cron's)
    _wait("the last run finished", lambda: _idle(api), cluster)
    new_runs = [r for r in api.runs(DAG_ID) if r["dag_run_id"] not in before]
    kinds = {r["run_type"] for r in new_runs}
    assert "asset_triggered" in kinds and kinds <= {"asset_triggered", "scheduled"}, kinds
    assert all(r["state"] == "success" for r in new_runs), [(r["dag_run_id"], r["state"]) for r in new_runs]
    events = api.get("/assets/events", limit=100, order_by="-timestamp", name_pattern=WATCHED_ASSET)["asset_events"]
    fired = [
        e
        for e in events
        if (e.get("extra") or {}).get("from_trigger") and datetime.fromisoformat(e["timestamp"]) >= started
    ]
    assert fired and all(set(e["extra"]["payload"]) >= {"work", "new", "changed", "cancelled"} for e in fired)
    print(
        f"\nfreshness: {len(new_runs)} asset-triggered run(s) for {len(fired)} watcher event(s); "
        + ", ".join(f"{step} {seconds:.0f}s" for step, seconds in timings.items())
    )
