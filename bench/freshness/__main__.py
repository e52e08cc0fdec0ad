"""How long a change of the meetings table takes to reach the dial strings and the rooms, with the
meetings-table watcher and with the schedules it replaces: ``python -m bench.freshness [--quick]
[--scenarios cron,trickle,burst,idle,query]``, on the native cluster of the cluster check (scenarios,
figures, goals and results: ``bench/freshness/README.md``; the figures: :mod:`bench.freshness.report`).

May import: the standard library, requests, psycopg2, ``bench.harness``, ``bench.freshness`` and
``daily_devtools``; never Airflow (it runs in the cluster and in :mod:`bench.freshness.worker`), never ``tests/``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.freshness import report
from bench.freshness.cluster import DAG_PROCESSOR, TRIGGERER, FreshCluster
from bench.harness import ab, cli
from bench.harness import report as harness_report
from bench.harness import run as harness

log = logging.getLogger("bench.freshness")

REPO = harness.REPO
DAG_ID = "daily_dialin_provisioning"
TRIGGER_CLASSPATH = "daily_dialin.freshness.trigger.MeetingsTableTrigger"
WATCHED_ASSET = "daily_dialin_meetings_table"
WATCH_ENV = "DAILY_PROVISIONING_WATCH"
SCHEDULE_ENV = "DAILY_PROVISIONING_SCHEDULE"
CRON = "*/5 * * * *"
SAFETY = "@daily"
POLL_S = 0.5
CLUSTER_VALUES = (
    "DAILY_API_CONCURRENCY",
    "DAILY_CHUNK_SIZE",
    "DAILY_HORIZON_DAYS",
    "DAILY_PROVISIONING_TIMEOUT_MINUTES",
)
SCENARIOS = ("cron", "trickle", "burst", "idle")
ALL_SCENARIOS = (*SCENARIOS, "query")
# the source columns a new meeting sets (the others keep the shipped schema's defaults)
SOURCE_COLUMNS = "meeting_id, title, starts_at, ends_at, timezone, status"

# the windows of a full run and of --quick
WINDOWS = {
    "trickle_seconds": (300.0, 60.0),
    "trickle_every": (10.0, 10.0),
    "moves": (4, 1),
    "cancels": (4, 1),
    "drain_seconds": (240.0, 180.0),
    "cron_seconds": (150.0, 30.0),
    "cron_every": (15.0, 15.0),
    "burst": (5000, 500),
    "burst_timeout": (900.0, 600.0),
    "idle_rows": (100_000, 10_000),
    "idle_seconds": (600.0, 90.0),
    "polls": (30, 10),
}
FULL = {key: full for key, (full, _) in WINDOWS.items()}
QUICK = {key: quick for key, (_, quick) in WINDOWS.items()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.freshness", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: short windows, small burst and table")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {', '.join(ALL_SCENARIOS)} (default: all but query)",
    )
    for key, value in FULL.items():
        kind = int if isinstance(value, int) else float
        parser.add_argument(
            f"--{key.replace('_', '-')}", type=kind, help=f"default {value:g} (--quick: {QUICK[key]:g})"
        )
    cli.add_common(parser, name="freshness")
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.scenarios = cli.listed(parser, args.scenarios, ALL_SCENARIOS, what="scenarios")
    if args.ab and args.scenarios != ["query"]:
        parser.error("--ab runs the watcher's poll only: --scenarios query")
    if args.out is None:
        full = set(args.scenarios) == set(SCENARIOS) and all(getattr(args, k) == v for k, v in FULL.items())
        args.out = cli.default_out("freshness", full=full, quick=args.quick, ab=args.ab)
    return args


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _iso(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


@dataclass
class Event:
    """One change the benchmark made and when its effect was seen."""

    kind: str  # insert | move | cancel
    meeting_id: str
    at: float  # wall clock of the commit
    done: float | None = None
    room: str | None = None
    old_exp: float | None = None

    def row(self, t0: float) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "meeting_id": self.meeting_id,
            "at_s": self.at - t0,
            "latency_s": None if self.done is None else self.done - self.at,
        }


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    results: dict[str, Any] = field(default_factory=dict)
    cluster: FreshCluster | None = None
    api: Any = None
    emulator: requests.Session = field(default_factory=requests.Session)
    trees: dict[str, Any] = field(default_factory=dict)  # --ab: "A", "B" -> the code's folder, "names"

    # -- bookkeeping ---------------------------------------------------------------------------
    def save(self) -> None:
        harness_report.save_json(self.results, self.args.out.with_suffix(".json"))

    def say(self, text: str, *args: Any) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] " + (text % args if args else text), file=sys.stderr, flush=True)

    def step(self, name: str, work: Callable[[], dict[str, Any]]) -> None:
        started = time.monotonic()
        self.say("== %s", name)
        try:
            self.results["scenarios"][name] = work()
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one broken scenario must not lose the others
            log.exception("scenario %s failed", name)
            self.results["errors"].append({"step": name, "error": f"{type(exc).__name__}: {exc}"})
        self.results["meta"]["step_seconds"][name] = round(time.monotonic() - started, 1)
        self.results["meta"]["load_1m"][name] = os.getloadavg()[0]
        self.save()

    def meta(self) -> dict[str, Any]:
        shortened = {
            k: {"ran": getattr(self.args, k), "full": v} for k, v in FULL.items() if getattr(self.args, k) != v
        }
        return {**harness.meta(self.args), "shortened": shortened, "step_seconds": {}, "load_1m": {}}

    # -- subprocesses (Airflow imported there, never here) -----------------------------------------
    def worker(
        self, command: str, conn: dict[str, Any], *extra: str, timeout: float = 1800, tree: str = "A"
    ) -> dict[str, Any]:
        """``bench.freshness.worker <command>`` in a subprocess, on ``tree``'s code (the working tree;
        ``--ab``: "B" is the other commit's snapshot)."""
        home = self.workdir / "worker-home"
        home.mkdir(parents=True, exist_ok=True)
        env = harness.clean_env(self.trees.get(tree, REPO)) | harness.airflow_env(home, daily_meetings_db=conn)
        out = self.workdir / f"worker-{command}-{time.monotonic_ns()}.json"
        cmd = [sys.executable, "-m", "bench.freshness.worker", command, "--out", str(out), *extra]
        done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
        (self.workdir / f"{out.stem}.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"worker {command} failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
        return json.loads(out.read_text())

    # -- the meetings table --------------------------------------------------------------------------
    def connect(self) -> Any:
        assert self.cluster is not None
        conn = self.cluster.meetings_connect()
        conn.autocommit = True
        return conn

    @staticmethod
    def meeting(meeting_id: str, start: datetime, *, minutes: int = 45) -> tuple[Any, ...]:
        return meeting_id, f"Freshness {meeting_id}", start, start + timedelta(minutes=minutes), "UTC", "scheduled"

    def insert(self, conn: Any, rows: list[tuple[Any, ...]]) -> float:
        import psycopg2.extras

        sql = f"INSERT INTO daily_meetings ({SOURCE_COLUMNS}) VALUES %s"
        with conn.cursor() as cur:  # one statement (autocommit): every row becomes visible at once
            psycopg2.extras.execute_values(cur, sql, rows, page_size=max(1000, len(rows)))
        return time.time()

    # -- Airflow --------------------------------------------------------------------------------------
    def runs(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for offset in range(0, 100_000, 100):  # bounded: at most 1,000 pages
            page = self.api.get(f"/dags/{DAG_ID}/dagRuns", limit=100, offset=offset, order_by="run_after")
            out += page["dag_runs"]
            if len(page["dag_runs"]) < 100:
                break
        return out

    def task_instance_count(self, run_id: str) -> int:
        return int(self.api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", limit=1)["total_entries"])

    def wait_quiet(self, timeout: float = 600) -> bool:
        """Until no run of the DAG is queued or running (bounded)."""
        return harness.until(lambda: not [r for r in self.runs() if r["state"] in ("queued", "running")], timeout)

    def runs_between(self, start: float, end: float) -> list[dict[str, Any]]:
        """Runs queued in [start, end] (wall clock), with durations and task-instance counts."""
        rows = []
        for r in self.runs():
            queued = _iso(r.get("queued_at")) or _iso(r.get("run_after"))
            if queued is None or not start <= queued <= end:
                continue
            began, ended = _iso(r.get("start_date")), _iso(r.get("end_date"))
            rows.append(
                {
                    "run_id": r["dag_run_id"],
                    "run_type": r["run_type"],
                    "state": r["state"],
                    "queued_s": queued - start,
                    "run_after": r.get("run_after"),
                    "queue_delay_s": None if began is None else began - queued,
                    "duration_s": None if began is None or ended is None else ended - began,
                    "task_instances": self.task_instance_count(r["dag_run_id"]),
                }
            )
        return rows

    def asset_events(self, start: float, end: float) -> int:
        assert self.cluster is not None
        rows = self.cluster.metadata_query(
            "SELECT COUNT(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id "
            "WHERE a.name = %s AND e.timestamp >= to_timestamp(%s) AND e.timestamp <= to_timestamp(%s)",
            (WATCHED_ASSET, start, end),
        )
        return int(rows[0][0])

    def watcher_triggers(self) -> list[tuple[Any, ...]]:
        assert self.cluster is not None
        return self.cluster.metadata_query(
            "SELECT id, triggerer_id, kwargs FROM trigger WHERE classpath = %s", (TRIGGER_CLASSPATH,)
        )

    # -- the emulator -----------------------------------------------------------------------------------
    def room(self, name: str) -> dict[str, Any] | None:
        assert self.cluster is not None
        response = self.emulator.get(f"{self.cluster.emulator_url}/_emulator/rooms/{name}", timeout=10)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    @staticmethod
    def exp_of(room: dict[str, Any] | None) -> float | None:
        if room is None:
            return None
        return (room.get("config") or {}).get("exp") or (room.get("properties") or {}).get("exp")

    # -- the cluster ------------------------------------------------------------------------------------
    def start_cluster(self, *, watch: bool) -> None:
        root = self.workdir / "cluster"
        root.mkdir(parents=True, exist_ok=True)
        env = {WATCH_ENV: "1" if watch else "0", SCHEDULE_ENV: SAFETY if watch else CRON}
        self.cluster = FreshCluster(root=root, extra_env=env)
        self.say("starting the native cluster under %s (watch=%s)", root, watch)
        self.cluster.start()
        self.results["meta"]["cluster_timings"] = dict(self.cluster.timings)
        self.results["meta"]["emulator"] = self.cluster.set_emulator_latency()
        self.results["meta"]["cluster_env"] = {
            "extra_env": dict(self.cluster.extra_env),
            "watch_poll_seconds": self.cluster.values.get("DAILY_PROVISIONING_WATCH_SECONDS") or "10 (default)",
            "values": {k: self.cluster.values.get(k) for k in CLUSTER_VALUES},
        }
        self.api = self.cluster.api()
        self.api.wait_for_dag(DAG_ID, timeout=300)
        self.api.patch(f"/dags/{DAG_ID}", {"is_paused": False})
        self.say("cluster up: %s", self.cluster.timings)

    def switch_to_watch(self) -> dict[str, Any]:
        """Restart the DAG processor with the watcher on (safety schedule @daily); wait for the trigger."""
        assert self.cluster is not None
        started = time.monotonic()
        self.wait_quiet()
        self.cluster.restart(DAG_PROCESSOR, env={WATCH_ENV: "1", SCHEDULE_ENV: SAFETY})
        if not harness.until(lambda: (t := self.watcher_triggers()) and all(row[1] is not None for row in t), 300):
            raise RuntimeError(f"the watcher's trigger never ran in the triggerer: {self.watcher_triggers()}")
        dag = self.api.get(f"/dags/{DAG_ID}")
        self.wait_quiet()
        return {"seconds": time.monotonic() - started, "timetable": dag.get("timetable_summary")}

    def ensure_watch(self) -> None:
        if not harness.until(self.watcher_triggers, 300):
            raise RuntimeError(
                f"no {TRIGGER_CLASSPATH} trigger: is the DAG wired to {WATCH_ENV} "
                f"(grep -n {WATCH_ENV} dags/*.py include/daily_dialin/dags/*.py)?"
            )

    # -- scenarios ---------------------------------------------------------------------------------------
    def trickle(
        self, *, tag: str, seconds: float, every: float, moves: int, cancels: int, drain: float
    ) -> dict[str, Any]:
        """Insert one meeting every ``every`` s for ``seconds``; move and cancel provisioned ones in between;
        poll until every change is seen or ``drain`` s after the last insert."""
        assert self.cluster is not None
        conn = self.connect()
        cpu0 = self.cluster.group_cpu_seconds(TRIGGERER)
        t0 = time.time()
        base = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=26)  # within the 48 h look-ahead
        count = max(1, int(seconds // every))
        plan: list[tuple[float, str]] = [(k * every, "insert") for k in range(count)]
        for i in range(moves):
            plan.append((seconds * (0.3 + 0.6 * i / max(moves, 1)), "move"))
        for i in range(cancels):
            plan.append((seconds * (0.3 + 0.6 * i / max(cancels, 1)) + every / 2, "cancel"))
        plan.sort()
        events: list[Event] = []
        skipped: list[dict[str, Any]] = []
        inserted = 0
        touched: set[str] = set()
        last_plan = plan[-1][0]
        end_by = t0 + last_plan + drain
        while time.time() < end_by:
            now = time.time()
            for item in [p for p in plan if p[0] <= now - t0]:
                due, kind = item
                if kind == "insert":
                    plan.remove(item)
                    meeting_id = f"{tag}{inserted:03d}"
                    start = base + timedelta(minutes=5 * inserted)
                    events.append(Event("insert", meeting_id, self.insert(conn, [self.meeting(meeting_id, start)])))
                    inserted += 1
                    continue
                target = self._provisioned_target(conn, tag, touched)
                if target is None:  # nothing provisioned yet: try again next round (bounded)
                    if now - t0 - due > max(60.0, drain / 2):
                        skipped.append({"kind": kind, "due_s": due, "why": "no provisioned meeting to change"})
                        plan.remove(item)
                    continue
                plan.remove(item)
                touched.add(target[0])
                events.append(self._change(conn, kind, *target))
            self._observe(conn, events)
            if not plan and all(e.done is not None for e in events):
                break
            time.sleep(POLL_S)
        t1 = time.time()
        cpu1 = self.cluster.group_cpu_seconds(TRIGGERER)
        conn.close()
        by_kind = {kind: [e for e in events if e.kind == kind] for kind in ("insert", "move", "cancel")}
        self.wait_quiet(timeout=300)
        runs = self.runs_between(t0, t1)
        return {
            "tag": tag,
            "seconds": seconds,
            "every": every,
            "window_s": t1 - t0,
            "events": [e.row(t0) for e in events],
            "skipped": skipped,
            "latency": {
                kind: {
                    **harness.percentiles([e.done - e.at for e in items if e.done is not None]),
                    "changes": len(items),
                    "unseen": sum(e.done is None for e in items),
                }
                for kind, items in by_kind.items()
            },
            "runs": runs,
            "triggerer_cpu_s": cpu1["cpu_s"] - cpu0["cpu_s"],
            "asset_events": self.asset_events(t0, t1),
        }

    def _provisioned_target(self, conn: Any, tag: str, touched: set[str]) -> tuple[str, str] | None:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT meeting_id, room_name FROM daily_meetings WHERE meeting_id LIKE %s AND dial_string IS NOT NULL "
                "AND status = 'scheduled' ORDER BY meeting_id",
                (f"{tag}%",),
            )
            for meeting_id, room_name in cur.fetchall():
                if meeting_id not in touched:
                    return meeting_id, room_name
        return None

    def _change(self, conn: Any, kind: str, meeting_id: str, room_name: str) -> Event:
        old_exp = self.exp_of(self.room(room_name))
        with conn.cursor() as cur:
            if kind == "move":
                cur.execute(
                    "UPDATE daily_meetings SET starts_at = starts_at + interval '1 hour', "
                    "ends_at = ends_at + interval '1 hour' WHERE meeting_id = %s",
                    (meeting_id,),
                )
            else:
                cur.execute("UPDATE daily_meetings SET status = 'cancelled' WHERE meeting_id = %s", (meeting_id,))
        return Event(kind, meeting_id, time.time(), room=room_name, old_exp=old_exp)

    def _observe(self, conn: Any, events: list[Event]) -> None:
        waiting = [e for e in events if e.done is None and e.kind == "insert"]
        if waiting:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT meeting_id FROM daily_meetings WHERE meeting_id = ANY(%s) AND dial_string IS NOT NULL",
                    ([e.meeting_id for e in waiting],),
                )
                seen = {row[0] for row in cur.fetchall()}
            now = time.time()
            for e in waiting:
                if e.meeting_id in seen:
                    e.done = now
        for e in events:
            if e.done is not None or e.kind == "insert" or e.room is None:
                continue
            room = self.room(e.room)
            gone = e.kind == "cancel" and room is None
            moved = e.kind == "move" and room is not None and self.exp_of(room) != e.old_exp
            if gone or moved:
                e.done = time.time()

    def scenario_cron(self) -> dict[str, Any]:
        assert self.cluster is not None
        a = self.args
        self.wait_quiet()
        # inserts only: a move or a cancellation needs a provisioned meeting, which only a tick makes here,
        # and then waits for the next tick the same way (one more 5-minute wait)
        result = self.trickle(
            tag="CR", seconds=a.cron_seconds, every=a.cron_every, moves=0, cancels=0, drain=300 + a.drain_seconds
        )
        runs = [r for r in result["runs"] if r["run_type"] == "scheduled"]
        result["schedule"] = CRON
        result["runs_per_day_by_schedule"] = 288
        ticks = sorted(t for t in (_iso(r.get("run_after")) for r in runs) if t is not None)
        gaps = [b - a for a, b in itertools.pairwise(ticks) if b > a]
        result["tick_gaps_s"] = gaps
        result["runs_per_day_observed"] = 86400 / statistics.median(gaps) if gaps else None
        tis = [r["task_instances"] for r in runs]
        result["task_instances_per_run_mean"] = statistics.fmean(tis) if tis else None
        result["task_instances_per_day"] = 288 * statistics.fmean(tis) if tis else None
        result["run_duration"] = harness.percentiles([r["duration_s"] for r in runs if r["duration_s"] is not None])
        result["triggerer_cpu_pct_of_core"] = 100 * result["triggerer_cpu_s"] / result["window_s"]
        return result

    def scenario_trickle(self) -> dict[str, Any]:
        a = self.args
        self.ensure_watch()
        self.wait_quiet()
        result = self.trickle(
            tag="TW",
            seconds=a.trickle_seconds,
            every=a.trickle_every,
            moves=a.moves,
            cancels=a.cancels,
            drain=a.drain_seconds,
        )
        runs = result["runs"]
        result["run_duration"] = harness.percentiles([r["duration_s"] for r in runs if r["duration_s"] is not None])
        result["queue_delay"] = harness.percentiles(
            [r["queue_delay_s"] for r in runs if r["queue_delay_s"] is not None]
        )
        result["runs_per_day_at_this_rate"] = len(runs) * 86400 / result["window_s"] if result["window_s"] else None
        return result

    def scenario_burst(self) -> dict[str, Any]:
        assert self.cluster is not None
        self.ensure_watch()
        self.wait_quiet()
        n = self.args.burst
        conn = self.connect()
        base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        # every meeting inside the rolling horizon (30 days): 2 to at most 27 days ahead
        step = min(timedelta(minutes=5), timedelta(days=25) / max(n, 1))
        rows = [self.meeting(f"BURST{i:05d}", base + step * i) for i in range(n)]
        t_start = time.time()
        t0 = self.insert(conn, rows)
        insert_s = t0 - t_start
        series: list[tuple[float, int]] = [(0.0, 0)]
        done_at = first_at = None
        deadline = t0 + self.args.burst_timeout
        while time.time() < deadline:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(dial_string) FROM daily_meetings WHERE meeting_id LIKE 'BURST%%'")
                written = int(cur.fetchone()[0])
            now = time.time() - t0
            if written != series[-1][1]:
                series.append((now, written))
            if written and first_at is None:
                first_at = now
            if written >= n:
                done_at = now
                break
            time.sleep(POLL_S)
        t1 = time.time()
        conn.close()
        self.wait_quiet(timeout=300)
        return {
            "meetings": n,
            "insert_s": insert_s,
            "first_dial_string_s": first_at,
            "last_dial_string_s": done_at,
            "written": series[-1][1],
            "timeout_s": self.args.burst_timeout,
            "series": series,
            "runs": self.runs_between(t_start, t1),
            "asset_events": self.asset_events(t_start, t1),
        }

    def scenario_idle(self) -> dict[str, Any]:
        assert self.cluster is not None
        a = self.args
        self.ensure_watch()
        self.wait_quiet()
        conn_json = self.cluster.meetings_conn_json()
        self.say("topping the meetings table up to %s provisioned rows", f"{a.idle_rows:,}")
        seed_start = time.time()
        seeded = self.worker("seed", conn_json, "--rows", str(a.idle_rows), "--prefix", "IDLE")
        # let the watcher see the table once more (seeding must not start runs either) and any run end
        time.sleep(30)
        self.wait_quiet()
        settle_runs = self.runs_between(seed_start, time.time())
        before = {r["dag_run_id"] for r in self.runs()}
        cpu0 = {name: self.cluster.group_cpu_seconds(name) for name in (TRIGGERER, "airflow-scheduler")}
        t0 = time.time()
        self.say("idle window: %s s", f"{a.idle_seconds:g}")
        while time.time() < t0 + a.idle_seconds:
            time.sleep(min(15.0, max(0.1, t0 + a.idle_seconds - time.time())))
        t1 = time.time()
        cpu1 = {name: self.cluster.group_cpu_seconds(name) for name in cpu0}
        new_runs = [r for r in self.runs() if r["dag_run_id"] not in before]
        cpu = {name: cpu1[name]["cpu_s"] - cpu0[name]["cpu_s"] for name in cpu0}
        result: dict[str, Any] = {
            "rows": seeded["rows_after"],
            "seed": seeded,
            "runs_during_seeding": settle_runs,
            "window_s": t1 - t0,
            "runs_started": len(new_runs),
            "new_runs": [{"run_id": r["dag_run_id"], "run_type": r["run_type"], "state": r["state"]} for r in new_runs],
            "asset_events": self.asset_events(t0, t1),
            "cpu_s": cpu,
            "cpu_pct_of_core": {name: 100 * s / (t1 - t0) for name, s in cpu.items()},
            "triggerer_pids": cpu1[TRIGGERER]["pids"],
            "watch_triggers": len(self.watcher_triggers()),
        }
        self.save()
        result["query"] = self.query_times(conn_json)
        return result

    def query_times(self, pg_conn: dict[str, Any]) -> dict[str, Any]:
        """``pending_work`` timed on the PostgreSQL table and on an SQLite copy of it; ``--ab``: each tree's
        polls interleaved on the same tables, this tree's as the result, the other's under ``ab``."""
        sqlite_file = self.workdir / "meetings-copy.db"
        sqlite_file.unlink(missing_ok=True)
        sqlite_conn = {"conn_type": "sqlite", "host": str(sqlite_file)}
        copy = self.worker("seed", sqlite_conn, "--create", "--copy-from", json.dumps(pg_conn))
        polls: dict[str, list[dict[str, Any]]] = {}
        for tree in ab.order(self.args.ab_rounds) if self.trees else ["A"]:
            for db, conn in (("postgres", pg_conn), ("sqlite", sqlite_conn)):
                done = self.worker("poll", conn, "--polls", str(self.args.polls), tree=tree)
                polls.setdefault(f"{tree}-{db}", []).append(done)
        out = {"postgres": polls["A-postgres"][0], "sqlite_copy": copy, "sqlite": polls["A-sqlite"][0]}
        if self.trees:
            out["ab"] = {"names": self.trees["names"], "polls": polls}
        return out

    def scenario_query(self) -> dict[str, Any]:
        """``pending_work`` timings without the cluster: a throwaway PostgreSQL, seeded like ``idle``."""
        with contextlib.ExitStack() as stack:
            conn_json = harness.postgres_database(stack, "meetings")
            seeded = self.worker("seed", conn_json, "--create", "--rows", str(self.args.idle_rows))
            return {"rows": seeded["rows_after"], "seed": seeded, "query": self.query_times(conn_json)}


def daily_computed(results: dict[str, Any]) -> dict[str, Any]:
    """``@daily``: a change waits for the next midnight (UTC) - uniform over the day - then one run."""
    runs = (results["scenarios"].get("cron") or {}).get("runs") or []
    durations = [r["duration_s"] for r in runs if r.get("duration_s")]
    run_s = statistics.median(durations) if durations else None
    tis = [r["task_instances"] for r in runs if r.get("run_type") == "scheduled"]
    return {
        "schedule": SAFETY,
        **report.tick_wait(report.DAY_S, run_s),
        "run_s": run_s,
        "runs_per_day": 1,
        "task_instances_per_day": statistics.fmean(tis) if tis else None,
    }


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    if args.report_from is not None:
        return cli.rewrite(args, report.write, report.markdown)
    workdir = cli.scratch(args, "daily-bench-freshness-")
    bench = Bench(args=args, workdir=workdir)
    if args.ab:
        bench.trees = {**ab.trees(workdir, args.ab, live=True), "A": REPO}
    bench.results = {"meta": bench.meta(), "scenarios": {}, "errors": []}
    started = time.monotonic()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    on_cluster = [s for s in SCENARIOS if s in args.scenarios]
    bench.say("Freshness benchmark: %s; scratch %s", ", ".join(args.scenarios), workdir)
    try:
        if on_cluster:
            bench.start_cluster(watch="cron" not in on_cluster)
            for name in on_cluster:
                if name != "cron" and "cron" in on_cluster and "switch" not in bench.results["meta"]:
                    bench.results["meta"]["switch"] = bench.switch_to_watch()
                bench.step(name, getattr(bench, f"scenario_{name}"))
        if "query" in args.scenarios:
            bench.step("query", bench.scenario_query)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if bench.cluster is not None:
            bench.say("stopping the cluster")
            bench.cluster.stop()
        bench.results["scenarios"]["daily"] = daily_computed(bench.results)
        bench.results["meta"]["seconds"] = time.monotonic() - started
        bench.save()
        paths = report.write(bench.results, args.out)
    return cli.done_with(args, workdir, paths, report.markdown(bench.results))


if __name__ == "__main__":
    sys.exit(main())
