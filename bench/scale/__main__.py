"""Entry point of the scale benchmark: ``python -m bench.scale [--quick] [--n 100,1000] [--variants abcd] ...``.

For each backend (SQLite, PostgreSQL) and each N it seeds a meetings table with N due meetings and
runs, each in its own subprocess against the same emulator settings:

(a) our DAG end to end: ``airflow dags test daily_dialin_provisioning`` (own ``AIRFLOW_HOME``,
    migrated metadata DB, connections and Variable as env vars); per-task durations and XCom sizes
    from the metadata DB; time inside the chunk engine, the plan and the API from timing probes
    (``shim/sitecustomize.py``). At the largest N it runs a second time: the idle re-run.
(b) our engine with batching off: its ``per_room`` mode (``worker per-room``: plan, then the chunks
    one after another), no new chunk after ``--per-room-budget`` seconds, projected to N from the
    rate it kept;
(c) the naive ``POST /rooms`` loop (``worker naive``), same budget and projection; it reads the
    meetings but needs no Airflow, so it runs once per N, not per backend;
(d) the plain-Airflow way: ``bench_plain_mapped_rooms`` (a task mapped per meeting), which cannot
    run above ``max_map_length`` - tried once above it to record how it fails;
(e) the floors: N / rate limit, and the sequential server time of ceil(N/1000) batch calls.

At the largest N, (a) also runs on a table of the same N rows in weekly series
(``--series-size`` occurrences each, 50 by default: 2,000 series at 100,000 rows), then idle
again: issue 15's row, printed side by side with the one-off meetings.

Also: DAG-file parse time cold/warm (fresh interpreters), the idle re-run's planning time, and the
hand-over per chunk (XCom bytes a chunk task reads). Results: ``<out>.json`` after every step,
``<out>.md`` and ``<out>.png`` at the end. Nothing is asserted; timings are reported as measured.

May import: the standard library, rich, ``bench.harness`` and ``bench.scale``; never Airflow (the code
under test runs in subprocesses), never ``tests/``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from bench.harness import ab, cli
from bench.harness import report as harness_report
from bench.harness import run as harness
from bench.scale import emulator as emu_mod
from bench.scale import report
from bench.scale.backends import BACKENDS, REPO, Backend
from bench.scale.emulator import Emulator
from bench.scale.proc import Measured, run_measured

SHIM = Path(__file__).resolve().parent / "shim"
BENCH_DAGS = Path(__file__).resolve().parent / "dags"
PROVISIONING_DAG = "daily_dialin_provisioning"
PLAIN_DAG = "bench_plain_mapped_rooms"
DEFAULT_NS = [100, 1_000, 10_000, 100_000]
QUICK_NS = [100, 1_000]
# (b): the engine's per-room mode; one chunk task at a time has Daily's whole rate (chunks run one
# after another here, as under `airflow dags test`; the default api_concurrency=2 gives each half)
PER_ROOM_SETTINGS = {"per_room": True, "api_concurrency": 1}
MAX_MAP_LENGTH = 1024  # Airflow's [core] max_map_length default (the benchmark does not change it)
VARIANTS = {
    "a": "a: our DAG end to end (airflow dags test)",
    "a-idle": "a: idle re-run (same DAG, nothing due)",
    "a-var": "a': our DAG with --a-variable settings",
    "a-series": "a: our DAG, the N rows in weekly series",
    "a-series-idle": "a: idle re-run of the series table",
    "b": "b: our engine, batching off (per_room mode)",
    "c": "c: naive POST /rooms loop (requests, no pacing)",
    "d": "d: plain Airflow, a task mapped per meeting",
    "e1": "e1: floor N / rate limit",
    "e2": "e2: floor sequential server time",
}


def _parse_ns(text: str) -> list[int]:
    values = sorted({int(part.replace("_", "").replace(",", "")) for part in text.split(",") if part.strip()})
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("N values must be positive integers")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=_parse_ns, help="comma-separated N values (default 100,1000,10000,100000)")
    parser.add_argument("--quick", action="store_true", help="N = 100,1000 unless --n is given")
    parser.add_argument("--variants", default="abcd", help="subset of 'abcd' (the floors are always computed)")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--per-room-budget", type=float, default=60.0, help="seconds (b) and (c) may run per N")
    parser.add_argument(
        "--per-room-settings",
        type=json.loads,
        default=PER_ROOM_SETTINGS,
        help=f"the daily_provisioning Variable for (b) (default {json.dumps(PER_ROOM_SETTINGS)})",
    )
    parser.add_argument(
        "--a-variable",
        type=json.loads,
        help="also run (a) with this daily_provisioning Variable, e.g. '{\"chunk_size\": 10000}' (row a')",
    )
    parser.add_argument(
        "--series-size",
        type=int,
        default=50,
        help="occurrences per weekly series in the series row at the largest N (default 50; 0: no series row)",
    )
    parser.add_argument("--parse-repeats", type=int, default=3, help="fresh interpreters per DAG file (0: skip)")
    parser.add_argument("--timeout-base", type=float, default=300.0, help="seconds any run may take, plus ...")
    parser.add_argument("--timeout-per-meeting", type=float, default=0.01, help="... this many seconds per meeting")
    parser.add_argument(
        "--live", action="store_true", help="test the working tree as it is (default: a snapshot of HEAD)"
    )
    cli.add_common(parser, name="scale")
    args = parser.parse_args(argv)
    args.n = args.n or (QUICK_NS if args.quick else DEFAULT_NS)
    args.variants = "".join(v for v in "abcd" if v in args.variants.lower())
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in args.backends if b not in BACKENDS]
    if unknown:
        parser.error(f"unknown backends {unknown}; known: {sorted(BACKENDS)}")
    if args.ab:  # issue 22's rows: our DAG end to end, its idle re-run, one-off and series; no parse probe
        args.variants, args.parse_repeats = "a", 0
    if args.out is None:  # only the full default run replaces the committed bench/results/scale.*
        full = args.n == DEFAULT_NS and args.variants == "abcd" and args.backends == ["sqlite", "postgres"]
        args.out = cli.default_out("scale", full=full and args.a_variable is None, quick=args.quick, ab=args.ab)
    return args


class Bench:
    """One benchmark run: the emulator, the backends, the progress display, the results so far."""

    def __init__(self, args: argparse.Namespace, workdir: Path, progress: Progress, src: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.src = src
        self.tree = ""  # an A/B run: "A" or "B" (rows, tables and logs are the tree's own)
        self.progress = progress
        self.task = progress.add_task("starting", total=None)
        self.emu: Emulator | None = None
        self.backends: dict[str, Backend] = {}
        self.python = sys.executable
        self.airflow = str(Path(sys.executable).with_name("airflow"))
        limits = emu_mod.documented_rate_limits()
        self.rate = emu_mod.sustained_rate(limits)
        self.results: dict[str, Any] = {
            "meta": self._meta(limits),
            "rows": [],
            "parse": [],
            "handover": [],
            "tasks": [],
            "idle": [],
            "errors": [],
        }

    # -- bookkeeping ------------------------------------------------------------------------
    def _meta(self, limits: dict[str, Any]) -> dict[str, Any]:
        return {
            **harness.meta(self.args, src=self.src),
            "emulator": {**emu_mod.settings(room_quota=0), "room_quota": "10 x max N", "api_keys": ["(one key)"]},
            "rate_limits": limits,
            "sustained_rate_per_s": self.rate,
        }

    def on_tree(self, tree: str, src: Path) -> Bench:
        """The same run (emulator, databases, results) measuring the code of ``src`` as tree ``tree``."""
        other = copy.copy(self)
        other.tree, other.src = tree, src
        return other

    @property
    def suffix(self) -> str:
        return f"_t{self.tree.lower()}" if self.tree else ""

    def save(self) -> None:
        harness_report.save_json(self.results, self.args.out.with_suffix(".json"))

    def say(self, text: str) -> None:
        self.progress.update(self.task, description=text)

    def step(self, label: str, work: Callable[[], None]) -> None:
        self.say(label)
        try:
            work()
        except Exception as exc:  # one broken step must not lose the others
            self.results["errors"].append({"step": label, "error": f"{type(exc).__name__}: {exc}"})
            self.progress.console.print(f"[red]{label}: {type(exc).__name__}: {exc}")
        self.progress.advance(self.task)
        self.save()

    def run(self, label: str, cmd: list[str], env: dict[str, str], *, timeout: float, log: Path) -> Measured:
        def tick(elapsed: float) -> None:
            self.say(f"{label} [{elapsed:,.0f} s / limit {timeout:,.0f} s]")

        return run_measured(cmd, env=env, cwd=REPO, timeout=timeout, log=log, on_tick=tick)

    def timeout(self, n: int) -> float:
        return self.args.timeout_base + self.args.timeout_per_meeting * n

    # -- environments -----------------------------------------------------------------------
    def env(self, backend: Backend, db: str, *, timings: Path | None = None, dags: Path | None = None) -> dict:
        assert self.emu is not None
        daily = {"conn_type": "daily", "host": self.emu.base_url, "password": emu_mod.API_KEY}
        env = harness.clean_env(self.src, SHIM)  # the timing probes (shim/) first
        env |= harness.airflow_env(
            backend.home,
            metadata=backend.metadata_url(),
            daily_default=daily,
            daily_meetings_db=backend.meetings_conn(db),
        )
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags or self.src / "dags")
        env["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(self.src / "plugins")
        env["AIRFLOW_VAR_DAILY_PROVISIONING"] = "{}"  # the provider's defaults, untuned
        if timings is not None:
            env["DAILY_BENCH_TIMINGS"] = str(timings)
        return env

    # -- steps ------------------------------------------------------------------------------
    def start_backend(self, name: str) -> None:
        backend = BACKENDS[name](self.workdir).start()
        self.backends[name] = backend
        env = self.env(backend, "unused")
        log = backend.workdir / "migrate.log"
        measured = self.run(f"{name}: airflow db migrate", [self.airflow, "db", "migrate"], env, timeout=900, log=log)
        if not measured.ok:
            raise RuntimeError(f"airflow db migrate failed on {name} (see {log})")

    def seed(self, backend: Backend, n: int, *, series_size: int = 0) -> None:
        """The table of N one-off meetings (``meetings_<n>``), or with ``series_size`` of N rows in
        weekly series (``meetings_<n>_series``)."""
        db = f"meetings_{n}_series" if series_size else f"meetings_{n}"
        backend.prepare_empty(db)
        out = backend.workdir / f"seed-{db}.json"
        cmd = [self.python, "-m", "bench.scale.worker", "seed", "--n", str(n), "--out", str(out)]
        cmd += ["--series-size", str(series_size)]
        measured = self.run(f"{backend.name} N={n:,}: seeding {db}", cmd, self.env(backend, db), timeout=1800,
                            log=backend.workdir / "seed.log")  # fmt: skip
        if not measured.ok:
            raise RuntimeError(f"seeding {db} failed on {backend.name}")

    def fresh_meetings(self, backend: Backend, n: int, variant: str, *, template: str | None = None) -> str:
        db = f"meetings_{n}_{variant.replace('-', '_')}{self.suffix}"
        backend.drop_meetings(db)
        backend.copy_meetings(template or f"meetings_{n}", db)
        return db

    def timings_file(self, tag: str) -> Path:
        """Run ``tag``'s timing file: its folder made, a stale file of the same run removed."""
        timings = self.workdir / "timings" / f"{tag}.jsonl"
        timings.parent.mkdir(parents=True, exist_ok=True)
        timings.unlink(missing_ok=True)
        return timings

    def result_file(self, tag: str) -> Path:
        """Where a worker of run ``tag`` writes what it measured."""
        out = self.workdir / "results" / f"{tag}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        return out

    def provisioned(self, backend: Backend, db: str) -> int:
        return backend.meetings_query(db, "SELECT COUNT(*) FROM daily_meetings WHERE provisioned_at IS NOT NULL")[0][0]

    def written_back(self, backend: Backend, db: str) -> dict[str, int]:
        """What the table holds after a run: distinct rooms among the provisioned rows, and the
        series not on exactly one room with one PIN on every row (0 is the guarantee)."""
        rooms = backend.meetings_query(
            db, "SELECT COUNT(DISTINCT room_name) FROM daily_meetings WHERE provisioned_at IS NOT NULL"
        )[0][0]
        split = backend.meetings_query(
            db,
            "SELECT COUNT(*) FROM (SELECT series_id FROM daily_meetings WHERE series_id IS NOT NULL "
            "GROUP BY series_id HAVING COUNT(DISTINCT room_name) <> 1 OR COUNT(DISTINCT dialin_pin) <> 1 "
            "OR COUNT(dialin_pin) < COUNT(*)) AS s",
        )[0][0]
        return {"distinct_rooms": int(rooms), "series_not_on_one_room_and_pin": int(split)}

    def row(self, backend: str, variant: str, n: int, **fields: Any) -> dict[str, Any]:
        row = {"backend": backend, "variant": variant, "label": VARIANTS[variant], "n": n, **fields}
        if self.tree:
            row["tree"] = self.tree
        row["load_1m"] = os.getloadavg()[0]  # other work on the machine shows here
        report.judge_row(row)  # fewer rooms than meetings: "missed (incomplete: N of M)", not "ok"
        wall = row.get("wall_s")
        if wall is not None:
            row["x_rate_floor"] = wall / (n / self.rate)
            row["x_server_floor"] = wall / emu_mod.server_floor_seconds(n)
        self.results["rows"].append(row)
        return row

    def _api_delta(self, before: dict[str, Any]) -> dict[str, Any]:
        assert self.emu is not None
        return emu_mod.diff_counters(before, self.emu.counters())

    def _counter_fields(self, delta: dict[str, Any]) -> dict[str, Any]:
        return {
            "calls": delta["requests"],
            "calls_total": sum(delta["requests"].values()),
            "rate_limited": sum(delta["rate_limited"].values()),
            "server_s": emu_mod.server_seconds(delta),
            "rooms_created_api": delta["rooms_created"],
        }

    def airflow_run(
        self,
        backend: Backend,
        n: int,
        *,
        idle: bool = False,
        db: str | None = None,
        variable: dict | None = None,
        series: bool = False,
    ) -> str:
        """Variant (a), its idle re-run on ``db``, (a') with ``variable``, or (a) on the table of
        weekly series (``series``). Returns the meetings DB it used."""
        assert self.emu is not None
        variant = _variant_a(idle=idle, series=series, variable=variable)
        if not idle:
            self.emu.reset()
            db = self.fresh_meetings(backend, n, variant, template=f"meetings_{n}_series" if series else None)
        assert db is not None
        tag = f"{backend.name}-{n}-{variant}{self.suffix}"
        timings = self.timings_file(tag)
        before = self.emu.counters()
        log = self.workdir / "logs" / f"{tag}.log"
        env = self.env(backend, db, timings=timings)
        if variable is not None:
            env["AIRFLOW_VAR_DAILY_PROVISIONING"] = json.dumps(variable)
        measured = self.run(
            f"{backend.name} N={n:,}: {VARIANTS[variant]}",
            [self.airflow, "dags", "test", PROVISIONING_DAG],
            env,
            timeout=self.timeout(n),
            log=log,
        )
        delta = self._api_delta(before)
        probes = report.read_timings(timings)
        tasks = report.task_durations(backend, PROVISIONING_DAG)
        xcoms = report.xcom_sizes(backend, PROVISIONING_DAG)
        succeeded = measured.ok and "state=success" in log.read_text(errors="replace")[-20000:]
        engine = sum(probes.get("provision_chunk", []))
        fields = {
            "status": "ok" if succeeded else ("timeout" if measured.timed_out else "failed"),
            "wall_s": measured.seconds,
            "rooms": self.provisioned(backend, db),
            **self.written_back(backend, db),
            "peak_rss_mib": measured.peak_rss_mib,
            "peak_tree_mib": measured.peak_tree_mib,
            "cpu_s": measured.cpu_s,
            "engine_s": engine,
            "plan_s": sum(probes.get("plan", [])),
            "api_s": sum(probes.get("api", [])),
            "api_busy_s": probes.get("api_busy"),
            "airflow_share_s": measured.seconds - engine,
            "tasks": tasks["summary"],
            "outside_tasks_s": measured.seconds - sum(t["sum_s"] for t in tasks["summary"].values()),
            "log": str(log),
            **self._counter_fields(delta),
        }
        if variable is not None:
            fields["note"] = f"Variable daily_provisioning = {json.dumps(variable)}"
        row = self.row(backend.name, variant, n, **fields)
        self.results["tasks"].append(
            {"backend": backend.name, "variant": variant, "n": n, "outside_tasks_s": fields["outside_tasks_s"], **tasks}
        )
        if variant == "a":
            self.results["handover"].append(
                {"backend": backend.name, "n": n, **report.handover(xcoms, tasks, probes.get("by_index", {}))}
            )
        elif idle:
            self.results["idle"].append(
                {
                    "backend": backend.name,
                    "n": n,
                    "shape": "series" if series else "one-off",
                    "wall_s": row["wall_s"],
                    "plan_s": row["plan_s"],
                    "plan_task_s": tasks["summary"].get("plan", {}).get("sum_s"),
                    "calls_total": row["calls_total"],
                    "status": row["status"],
                }
            )
        return db

    def per_room(self, backend: Backend, n: int) -> None:
        """Variant (b): the engine's per-room mode on a fresh copy of the table."""
        assert self.emu is not None
        self.emu.reset()
        db = self.fresh_meetings(backend, n, "b")
        tag = f"{backend.name}-{n}-b"
        env = self.env(backend, db, timings=self.timings_file(tag))
        env["AIRFLOW_VAR_DAILY_PROVISIONING"] = json.dumps(self.args.per_room_settings)
        self._budgeted(backend.name, "b", n, tag, env, rooms=lambda _: self.provisioned(backend, db))

    def naive(self, n: int) -> None:
        """Variant (c): once per N, reading the meetings from the first backend's table."""
        assert self.emu is not None
        self.emu.reset()
        env = self.env(next(iter(self.backends.values())), f"meetings_{n}")
        self._budgeted("-", "c", n, f"{n}-c", env, rooms=lambda result: result.get("rooms_done"))

    def _budgeted(
        self, backend: str, variant: str, n: int, tag: str, env: dict, *, rooms: Callable[[dict], Any]
    ) -> None:
        """(b) or (c): ``bench.scale.worker per-room|naive``, no new work after ``--per-room-budget`` s."""
        assert self.emu is not None
        out = self.result_file(tag)
        budget = self.args.per_room_budget
        command = "per-room" if variant == "b" else "naive"
        cmd = [self.python, "-m", "bench.scale.worker", command, "--budget", str(budget), "--out", str(out)]
        before = self.emu.counters()
        where = f"{backend} N={n:,}" if backend != "-" else f"N={n:,}"
        log = self.workdir / "logs" / f"{tag}.log"
        measured = self.run(f"{where}: {VARIANTS[variant]}", cmd, env, timeout=budget + self.args.timeout_base, log=log)
        delta = self._api_delta(before)
        result = json.loads(out.read_text()) if out.exists() else {}
        self._budgeted_row(backend, variant, n, measured, result, delta, rooms=rooms(result))

    def _budgeted_row(
        self, backend: str, variant: str, n: int, measured: Measured, result: dict, delta: dict, *, rooms: Any
    ) -> None:
        """A (b) or (c) row: measured if it finished within the budget, else projected to N."""
        fields: dict[str, Any] = {
            "peak_rss_mib": measured.peak_rss_mib,
            "peak_tree_mib": measured.peak_tree_mib,
            "rooms": rooms,
            "worker": result,
            **self._counter_fields(delta),
        }
        if not measured.ok or not result or (result.get("errors") and not result.get("rooms_done")):
            status = "timeout" if measured.timed_out else "failed"
            errors = "; ".join(result.get("errors", {})) if result else "no result (see log)"
            self.row(backend, variant, n, status=status, note=errors[:300], **fields)
            return
        done = result.get("attempted", result.get("rooms_done", 0))
        loop = result.get("creation_seconds") or result.get("seconds", 0.0)
        fields["rooms_per_s"] = (result.get("rooms_done", 0) / loop) if loop else None
        fields["measured_wall_s"] = measured.seconds
        if result.get("stopped_at_budget") and done:
            fixed = measured.seconds - loop
            fields["wall_s"] = fixed + loop * result.get("selected", n) / done
            fields["status"] = "projected"
            fields["note"] = f"stopped after {done:,} of {n:,} meetings in {measured.seconds:,.0f} s; projected"
        else:
            fields["wall_s"] = measured.seconds
            fields["status"] = "ok"
        self.row(backend, variant, n, **fields)

    def plain(self, backend: Backend, n: int, *, expect_refusal: bool) -> None:
        """Variant (d): the mapped-per-meeting DAG."""
        assert self.emu is not None
        self.emu.reset()
        db = self.fresh_meetings(backend, n, "d")
        tag = f"{backend.name}-{n}-d"
        timings = self.timings_file(tag)
        log = self.workdir / "logs" / f"{tag}.log"
        before = self.emu.counters()
        measured = self.run(
            f"{backend.name} N={n:,}: {VARIANTS['d']}",
            [self.airflow, "dags", "test", PLAIN_DAG],
            self.env(backend, db, timings=timings, dags=BENCH_DAGS),
            timeout=self.args.timeout_base + 1.0 * n,
            log=log,
        )
        delta = self._api_delta(before)
        probes = report.read_timings(timings)
        tasks = report.task_durations(backend, PLAIN_DAG)
        text = log.read_text(errors="replace")
        succeeded = measured.ok and "state=success" in text[-20000:]
        fields: dict[str, Any] = {
            "peak_rss_mib": measured.peak_rss_mib,
            "peak_tree_mib": measured.peak_tree_mib,
            "rooms": delta["rooms_created"],
            "api_s": sum(probes.get("api", [])),
            "tasks": tasks["summary"],
            "log": str(log),
            **self._counter_fields(delta),
        }
        if succeeded:
            fields.update(status="ok", wall_s=measured.seconds, airflow_share_s=measured.seconds - fields["api_s"])
        else:
            refused = any(
                mark in text for mark in ("max_map_length", "UnmappableXComLengthPushed", "unmappable_return_value")
            )
            status = "cannot run" if refused else ("timeout" if measured.timed_out else "failed")
            note = (
                f"Airflow refused to map {n:,} task instances (max_map_length {MAX_MAP_LENGTH:,}) "
                f"after {measured.seconds:,.0f} s"
                if refused
                else f"{status} after {measured.seconds:,.0f} s (see log)"
            )
            fields.update(status=status, note=note, failed_after_s=measured.seconds)
        if expect_refusal and succeeded:
            fields["note"] = "ran above max_map_length: the limit was raised somewhere"
        self.row(backend.name, "d", n, **fields)

    def plain_skipped(self, backend: Backend, n: int, tried_at: int) -> None:
        self.row(
            backend.name,
            "d",
            n,
            status="cannot run",
            note=f"N > max_map_length ({MAX_MAP_LENGTH:,}); not started (refused as at N={tried_at:,})",
        )

    def floors(self, n: int) -> None:
        self.row("-", "e1", n, status="floor", wall_s=n / self.rate, calls_total=n, rate_limited=0)
        server = emu_mod.server_floor_seconds(n)
        batches = math.ceil(n / emu_mod.BATCH_LIMIT)
        self.row("-", "e2", n, status="floor", wall_s=server, server_s=server, calls_total=batches, rate_limited=0)

    def parse_times(self) -> None:
        backend = next(iter(self.backends.values()))
        files = [*sorted((self.src / "dags").glob("*.py")), BENCH_DAGS / "bench_trivial.py"]
        for path in files:
            self.say(f"parse time: {path.name}")
            runs = []
            for attempt in range(self.args.parse_repeats + 1):  # the first one writes bytecode, unmeasured
                out = self.workdir / "results" / f"parse-{path.stem}-{attempt}.json"
                out.parent.mkdir(parents=True, exist_ok=True)
                cmd = [self.python, "-m", "bench.scale.worker", "parse", "--file", str(path), "--out", str(out)]
                measured = self.run(
                    f"parse time: {path.name} ({attempt}/{self.args.parse_repeats})",
                    cmd,
                    self.env(backend, "unused"),
                    timeout=300,
                    log=self.workdir / "logs" / "parse.log",
                )
                if attempt and measured.ok and out.exists():
                    runs.append(json.loads(out.read_text()))
            if not runs:
                self.results["parse"].append({"file": path.name, "error": "no successful parse run"})
                continue
            self.results["parse"].append(
                {
                    "file": path.name,
                    "baseline": path.parent == BENCH_DAGS,
                    "runs": len(runs),
                    "cold_s": statistics.median(r["cold_seconds"] for r in runs),
                    "cold_max_s": max(r["cold_seconds"] for r in runs),
                    "warm_s": statistics.median(r["warm_seconds"] for r in runs),
                    "heavy_imports": runs[-1]["heavy_imports"],
                    "modules_imported": runs[-1]["modules_imported"],
                    "dags": runs[-1]["dags"],
                    "import_errors": runs[-1]["import_errors"],
                }
            )
            self.save()


def _variant_a(*, idle: bool, series: bool, variable: dict | None) -> str:
    if series:
        return "a-series-idle" if idle else "a-series"
    if idle:
        return "a-idle"
    return "a-var" if variable is not None else "a"


def _plan_steps(bench: Bench) -> list[tuple[str, Callable[[], None]]]:
    args = bench.args
    steps: list[tuple[str, Callable[[], None]]] = [
        (f"{name}: start, migrate", lambda name=name: bench.start_backend(name)) for name in args.backends
    ]
    if args.parse_repeats > 0:
        steps.append(("parse time", bench.parse_times))
    for name in args.backends:
        steps.extend(_backend_steps(bench, name))
        if name == args.backends[0] and "c" in args.variants:
            steps.extend((f"N={n:,}: c", lambda n=n: bench.naive(n)) for n in args.n)
    steps.extend((f"N={n:,}: floors", lambda n=n: bench.floors(n)) for n in args.n)
    return steps


def _backend_steps(bench: Bench, name: str) -> list[tuple[str, Callable[[], None]]]:
    """One backend's steps at every N: seed, then variants a (and its idle re-run at the largest N), b, d."""
    args = bench.args

    def backend() -> Backend:
        return bench.backends[name]

    steps: list[tuple[str, Callable[[], None]]] = []
    refused_at: list[int] = []
    for n in args.n:
        steps.append((f"{name} N={n:,}: seed", lambda n=n: bench.seed(backend(), n)))
        if "a" in args.variants:
            steps.extend(_variant_a_steps(bench, name, n, backend))
        if "b" in args.variants:
            steps.append((f"{name} N={n:,}: b", lambda n=n: bench.per_room(backend(), n)))
        if "d" in args.variants:
            steps.append(_variant_d_step(bench, name, n, backend, refused_at))
    return steps


def _variant_a_steps(
    bench: Bench, name: str, n: int, backend: Callable[[], Backend]
) -> list[tuple[str, Callable[[], None]]]:
    steps: list[tuple[str, Callable[[], None]]] = [(f"{name} N={n:,}: a", lambda: bench.airflow_run(backend(), n))]
    if n == bench.args.n[-1]:
        steps.append(
            (
                f"{name} N={n:,}: a idle re-run",
                lambda: bench.airflow_run(backend(), n, idle=True, db=f"meetings_{n}_a{bench.suffix}"),
            )
        )
    size = bench.args.series_size
    if n == bench.args.n[-1] and size > 0:  # issue 15: the same N rows in weekly series, side by side
        steps += [
            (f"{name} N={n:,}: seed series", lambda: bench.seed(backend(), n, series_size=size)),
            (f"{name} N={n:,}: a on series", lambda: bench.airflow_run(backend(), n, series=True)),
            (
                f"{name} N={n:,}: a series idle re-run",
                lambda: bench.airflow_run(
                    backend(), n, idle=True, series=True, db=f"meetings_{n}_a_series{bench.suffix}"
                ),
            ),
        ]
    if bench.args.a_variable is not None:
        variable = bench.args.a_variable
        steps.append((f"{name} N={n:,}: a'", lambda: bench.airflow_run(backend(), n, variable=variable)))
    return steps


def _variant_d_step(
    bench: Bench, name: str, n: int, backend: Callable[[], Backend], refused_at: list[int]
) -> tuple[str, Callable[[], None]]:
    """Plain mapping: runs up to max_map_length, is refused once above it, then skipped."""
    if n <= MAX_MAP_LENGTH:
        return (f"{name} N={n:,}: d", lambda: bench.plain(backend(), n, expect_refusal=False))
    if not refused_at:
        refused_at.append(n)
        return (f"{name} N={n:,}: d", lambda: bench.plain(backend(), n, expect_refusal=True))
    refused = refused_at[0]
    return (f"{name} N={n:,}: d", lambda: bench.plain_skipped(backend(), n, refused))


def _ab_steps(bench: Bench, srcs: dict[str, Any]) -> list[tuple[str, Callable[[], None]]]:
    """An A/B run's steps: the shared ones (backends, seeding, floors) once; every DAG run once per
    tree and round, interleaved (:func:`bench.harness.ab.order`), on the same seeded tables."""
    sides = {tree: _plan_steps(bench.on_tree(tree, srcs[tree])) for tree in ab.SIDES}
    steps: list[tuple[str, Callable[[], None]]] = []
    for index, (label, shared) in enumerate(sides["A"]):
        if ": a" not in label or "seed" in label:
            steps.append((label, shared))
            continue
        steps += [(f"{label} [{tree}]", sides[tree][index][1]) for tree in ab.order(bench.args.ab_rounds)]
    return steps


def _run_steps(bench: Bench, srcs: dict[str, Any] | None) -> None:
    """Every step, with the emulator up (its room quota far above N); the backends stopped at the end."""
    args = bench.args
    try:
        emulator = Emulator(
            bench.workdir / "emulator", room_quota=10 * max(args.n) + 10_000, env=harness.clean_env(bench.src, SHIM)
        )
        with emulator as emu:
            bench.emu = emu  # before the steps are made: an A/B run's trees share it
            steps = _ab_steps(bench, srcs) if srcs else _plan_steps(bench)
            bench.progress.update(bench.task, total=len(steps) + 1)
            for label, work in steps:
                bench.step(label, work)
    finally:
        for backend in bench.backends.values():
            backend.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_from is not None:
        return cli.rewrite(args, report.write, report.markdown)
    workdir = cli.scratch(args, "daily-bench-scale-")
    console = Console(stderr=True)
    console.print(
        f"Scale benchmark: N = {', '.join(f'{n:,}' for n in args.n)}; variants {args.variants} + floors; "
        f"backends {', '.join(args.backends)}; scratch {workdir}" + (f"; A/B against {args.ab}" if args.ab else "")
    )
    srcs = ab.trees(workdir, args.ab, live=args.live) if args.ab else None
    src = srcs["A"] if srcs else (REPO if args.live else harness.snapshot(workdir / "src"))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    started = time.monotonic()
    with Progress(SpinnerColumn(), *columns, console=console) as progress:
        bench = Bench(args, workdir, progress, src)
        if srcs:
            bench.results["meta"]["ab"] = srcs["names"]
        try:
            _run_steps(bench, srcs)
        finally:
            bench.results["meta"]["seconds"] = time.monotonic() - started
            bench.save()
            bench.say("writing the report")
            paths = report.write(bench.results, args.out)
            progress.advance(bench.task)
    cli.published(paths, report.markdown(bench.results))
    cli.done_with(args, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
