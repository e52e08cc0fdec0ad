"""The scale benchmark's entry point: ``python -m bench.scale [--quick] [--n 100,1000] [--variants abcd] ...``.

Per backend and N: (a) our DAG end to end (and, at the largest N, idle again and on weekly series),
(b) its engine with batching off, (c) the naive ``POST /rooms`` loop, (d) a task mapped per meeting,
(e) the floors; each in its own subprocess against one emulator. What each measures:
``bench/README.md``. May import: the standard library, rich, ``bench.harness`` and ``bench.scale``;
never Airflow (the code under test runs in subprocesses), never ``tests/``.
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
WORKER = [sys.executable, "-m", "bench.scale.worker"]
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
    values = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("N values must be positive integers")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--n", type=_parse_ns, help="comma-separated N values (default 100,1000,10000,100000)")
    add("--quick", action="store_true", help="N = 100,1000 unless --n is given")
    add("--variants", default="abcd", help="subset of 'abcd' (the floors are always computed)")
    add("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    add("--per-room-budget", type=float, default=60.0, help="seconds (b) and (c) may run per N")
    add("--per-room-settings", type=json.loads, default=PER_ROOM_SETTINGS, help="(b)'s Variable (default %(default)s)")
    add("--a-variable", type=json.loads, help="also run (a) with this Variable, e.g. '{\"chunk_size\": 10000}' (a')")
    add("--series-size", type=int, default=50, help="weekly series' length at the largest N (default 50; 0: none)")
    add("--parse-repeats", type=int, default=3, help="fresh interpreters per DAG file (0: skip)")
    add("--timeout-base", type=float, default=300.0, help="seconds any run may take, plus ...")
    add("--timeout-per-meeting", type=float, default=0.01, help="... this many seconds per meeting")
    add("--live", action="store_true", help="test the working tree as it is (default: a snapshot of HEAD)")
    cli.add_common(parser, name="scale")
    args = parser.parse_args(argv)
    args.n = args.n or (QUICK_NS if args.quick else DEFAULT_NS)
    args.variants = "".join(v for v in "abcd" if v in args.variants.lower())
    args.backends = cli.listed(parser, args.backends, sorted(BACKENDS), what="backends")
    if args.ab:  # issue 22's rows: our DAG end to end, its idle re-run, one-off and series; no parse probe
        args.variants, args.parse_repeats = "a", 0
    if args.out is None:  # only the full default run replaces the committed bench/results/scale.*
        full = args.n == DEFAULT_NS and args.variants == "abcd" and args.backends == ["sqlite", "postgres"]
        args.out = cli.default_out("scale", full=full and args.a_variable is None, quick=args.quick, ab=args.ab)
    return args


class Bench:
    """One benchmark run: the emulator, the backends, the progress display, the results so far."""

    def __init__(self, args: argparse.Namespace, workdir: Path, progress: Progress, src: Path) -> None:
        self.args, self.workdir, self.src, self.progress = args, workdir, src, progress
        self.tree = ""  # an A/B run: "A" or "B" (rows, tables and logs are the tree's own)
        self.task = progress.add_task("starting", total=None)
        self.emu: Emulator | None = None
        self.backends: dict[str, Backend] = {}
        self.airflow = str(Path(sys.executable).with_name("airflow"))
        limits = emu_mod.documented_rate_limits()
        self.rate = emu_mod.sustained_rate(limits)
        emulator = {**emu_mod.settings(room_quota=0), "room_quota": "10 x max N", "api_keys": ["(one key)"]}
        meta = {**harness.meta(args, src=src), "emulator": emulator, "rate_limits": limits}
        self.results: dict[str, Any] = {"meta": {**meta, "sustained_rate_per_s": self.rate}}
        self.results |= {key: [] for key in ("rows", "parse", "handover", "tasks", "idle", "errors")}

    # -- bookkeeping ------------------------------------------------------------------------
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

    def file(self, folder: str, name: str) -> Path:
        """``<workdir>/<folder>/<name>``: its folder made, a stale file of an earlier run removed."""
        path = self.workdir / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        return path

    # -- environments -----------------------------------------------------------------------
    def env(
        self, backend: Backend, db: str, *, timings: Path | None = None, dags: Path | None = None, variable: Any = None
    ) -> dict:
        """A run's environment: the timing probes (shim/) first; the Variable ``{}`` (the provider's defaults)."""
        assert self.emu is not None
        daily = {"conn_type": "daily", "host": self.emu.base_url, "password": emu_mod.API_KEY}
        conns = {"daily_default": daily, "daily_meetings_db": backend.meetings_conn(db)}
        env = harness.clean_env(self.src, SHIM) | harness.airflow_env(
            backend.home, metadata=backend.metadata_url(), **conns
        )
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags or self.src / "dags")
        env["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(self.src / "plugins")
        env["AIRFLOW_VAR_DAILY_PROVISIONING"] = json.dumps(variable or {})
        if timings is not None:
            env["DAILY_BENCH_TIMINGS"] = str(timings)
        return env

    # -- steps ------------------------------------------------------------------------------
    def start_backend(self, name: str) -> None:
        backend = self.backends[name] = BACKENDS[name](self.workdir).start()
        log = backend.workdir / "migrate.log"
        env = self.env(backend, "unused")
        if not self.run(f"{name}: airflow db migrate", [self.airflow, "db", "migrate"], env, timeout=900, log=log).ok:
            raise RuntimeError(f"airflow db migrate failed on {name} (see {log})")

    def seed(self, backend: Backend, n: int, *, series_size: int = 0) -> None:
        """The table of N one-off meetings (``meetings_<n>``), or of N rows in weekly series (``..._series``)."""
        db = f"meetings_{n}_series" if series_size else f"meetings_{n}"
        backend.prepare_empty(db)
        cmd = [*WORKER, "seed", "--n", str(n), "--series-size", str(series_size)]
        cmd += ["--out", str(backend.workdir / f"seed-{db}.json")]
        label, log = f"{backend.name} N={n:,}: seeding {db}", backend.workdir / "seed.log"
        if not self.run(label, cmd, self.env(backend, db), timeout=1800, log=log).ok:
            raise RuntimeError(f"seeding {db} failed on {backend.name}")

    def fresh_meetings(self, backend: Backend, n: int, variant: str, *, template: str | None = None) -> str:
        db = f"meetings_{n}_{variant.replace('-', '_')}{self.suffix}"
        backend.drop_meetings(db)
        backend.copy_meetings(template or f"meetings_{n}", db)
        return db

    def written_back(self, backend: Backend, db: str) -> dict[str, int]:
        """Rows provisioned, distinct rooms among them, and the series not on exactly one room with one PIN on
        every row (0 is the guarantee)."""
        done = "SELECT COUNT(*), COUNT(DISTINCT room_name) FROM daily_meetings WHERE provisioned_at IS NOT NULL"
        split = (
            "SELECT COUNT(*) FROM (SELECT series_id FROM daily_meetings WHERE series_id IS NOT NULL GROUP BY "
            "series_id HAVING COUNT(DISTINCT room_name) <> 1 OR COUNT(DISTINCT dialin_pin) <> 1 "
            "OR COUNT(dialin_pin) < COUNT(*)) AS s"
        )
        [(rows, rooms)], [(series,)] = backend.meetings_query(db, done), backend.meetings_query(db, split)
        return {"rooms": int(rows), "distinct_rooms": int(rooms), "series_not_on_one_room_and_pin": int(series)}

    def row(self, backend: str, variant: str, n: int, **fields: Any) -> dict[str, Any]:
        row = {"backend": backend, "variant": variant, "label": VARIANTS[variant], "n": n, **fields}
        if self.tree:
            row["tree"] = self.tree
        row["load_1m"] = os.getloadavg()[0]  # other work on the machine shows here
        report.judge_row(row)  # fewer rooms than meetings: "missed (incomplete: N of M)", not "ok"
        if row.get("wall_s") is not None:
            row["x_rate_floor"] = row["wall_s"] / (n / self.rate)
            row["x_server_floor"] = row["wall_s"] / emu_mod.server_floor_seconds(n)
        self.results["rows"].append(row)
        return row

    def api_fields(self, before: dict[str, Any], measured: Measured) -> dict[str, Any]:
        """The emulator's counters since ``before``, and the run's memory."""
        assert self.emu is not None
        delta = emu_mod.diff_counters(before, self.emu.counters())
        memory = {"peak_rss_mib": measured.peak_rss_mib, "peak_tree_mib": measured.peak_tree_mib}
        calls = {"calls": delta["requests"], "calls_total": sum(delta["requests"].values())}
        server = {"server_s": emu_mod.server_seconds(delta), "rooms_created_api": delta["rooms_created"]}
        return {**memory, **calls, "rate_limited": sum(delta["rate_limited"].values()), **server}

    def airflow_run(
        self, backend: Backend, n: int, *, idle: bool = False, series: bool = False, variable: Any = None
    ) -> None:
        """Variant (a), its idle re-run, (a') with ``variable``, or (a) on weekly series."""
        assert self.emu is not None
        variant = _variant_a(idle=idle, series=series, variable=variable)
        db = f"meetings_{n}_{'a_series' if series else 'a'}{self.suffix}"  # an idle re-run's: its run's table
        if not idle:
            self.emu.reset()
            db = self.fresh_meetings(backend, n, variant, template=f"meetings_{n}_series" if series else None)
        tag = f"{backend.name}-{n}-{variant}{self.suffix}"
        timings, log = self.file("timings", f"{tag}.jsonl"), self.workdir / "logs" / f"{tag}.log"
        before, env = self.emu.counters(), self.env(backend, db, timings=timings, variable=variable)
        cmd, label = [self.airflow, "dags", "test", PROVISIONING_DAG], f"{backend.name} N={n:,}: {VARIANTS[variant]}"
        timeout = self.args.timeout_base + self.args.timeout_per_meeting * n
        measured = self.run(label, cmd, env, timeout=timeout, log=log)
        api = self.api_fields(before, measured)
        probes = report.read_timings(timings)
        tasks = report.task_durations(backend, PROVISIONING_DAG)
        engine = sum(probes.get("provision_chunk", []))
        fields = {
            "status": "ok" if _succeeded(measured, log) else ("timeout" if measured.timed_out else "failed"),
            "wall_s": measured.seconds,
            **self.written_back(backend, db),
            "cpu_s": measured.cpu_s,
            "engine_s": engine,
            "plan_s": sum(probes.get("plan", [])),
            "api_s": sum(probes.get("api", [])),
            "api_busy_s": probes.get("api_busy"),
            "airflow_share_s": measured.seconds - engine,
            "tasks": tasks["summary"],
            "outside_tasks_s": measured.seconds - sum(t["sum_s"] for t in tasks["summary"].values()),
            "log": str(log),
            **api,
            **({"note": f"Variable daily_provisioning = {json.dumps(variable)}"} if variable is not None else {}),
        }
        row = self.row(backend.name, variant, n, **fields)
        where = {"backend": backend.name, "n": n}
        self.results["tasks"].append(
            {**where, "variant": variant, "outside_tasks_s": fields["outside_tasks_s"], **tasks}
        )
        if variant == "a":
            xcoms = report.xcom_sizes(backend, PROVISIONING_DAG)
            self.results["handover"].append({**where, **report.handover(xcoms, tasks, probes.get("by_index", {}))})
        elif idle:
            plan_task = tasks["summary"].get("plan", {}).get("sum_s")
            figures = {k: row[k] for k in ("wall_s", "plan_s")} | {"plan_task_s": plan_task}
            shape = "series" if series else "one-off"
            self.results["idle"].append(
                {**where, "shape": shape, **figures, "calls_total": row["calls_total"], "status": row["status"]}
            )

    def per_room(self, backend: Backend, n: int) -> None:
        """Variant (b): the engine's per-room mode on a fresh copy of the table."""
        assert self.emu is not None
        self.emu.reset()
        db, tag = self.fresh_meetings(backend, n, "b"), f"{backend.name}-{n}-b"
        env = self.env(backend, db, timings=self.file("timings", f"{tag}.jsonl"), variable=self.args.per_room_settings)
        self._budgeted(backend.name, "b", n, tag, env, rooms=lambda _: self.written_back(backend, db)["rooms"])

    def naive(self, n: int) -> None:
        """Variant (c): once per N, reading the meetings from the first backend's table."""
        assert self.emu is not None
        self.emu.reset()
        env = self.env(next(iter(self.backends.values())), f"meetings_{n}")
        self._budgeted("-", "c", n, f"{n}-c", env, rooms=lambda result: result.get("rooms_done"))

    def _budgeted(
        self, backend: str, variant: str, n: int, tag: str, env: dict, *, rooms: Callable[[dict], Any]
    ) -> None:
        """(b) or (c): ``bench.scale.worker per-room|naive``, no new work after ``--per-room-budget`` s;
        measured if it finished within the budget, else projected to N."""
        assert self.emu is not None
        out, budget = self.file("results", f"{tag}.json"), self.args.per_room_budget
        cmd = [*WORKER, "per-room" if variant == "b" else "naive", "--budget", str(budget), "--out", str(out)]
        before = self.emu.counters()
        label = f"{backend} N={n:,}: {VARIANTS[variant]}" if backend != "-" else f"N={n:,}: {VARIANTS[variant]}"
        log = self.workdir / "logs" / f"{tag}.log"
        measured = self.run(label, cmd, env, timeout=budget + self.args.timeout_base, log=log)
        result = json.loads(out.read_text()) if out.exists() else {}
        fields: dict[str, Any] = {**self.api_fields(before, measured), "rooms": rooms(result), "worker": result}
        if not measured.ok or not result or (result.get("errors") and not result.get("rooms_done")):
            errors = "; ".join(result.get("errors", {})) if result else "no result (see log)"
            status = "timeout" if measured.timed_out else "failed"
            self.row(backend, variant, n, status=status, note=errors[:300], **fields)
            return
        done = result.get("attempted", result.get("rooms_done", 0))
        loop = result.get("creation_seconds") or result.get("seconds", 0.0)
        fields.update(
            rooms_per_s=(result.get("rooms_done", 0) / loop) if loop else None, measured_wall_s=measured.seconds
        )
        fields.update(wall_s=measured.seconds, status="ok")
        if result.get("stopped_at_budget") and done:
            fields["wall_s"] = measured.seconds - loop + loop * result.get("selected", n) / done
            fields["status"] = "projected"
            fields["note"] = f"stopped after {done:,} of {n:,} meetings in {measured.seconds:,.0f} s; projected"
        self.row(backend, variant, n, **fields)

    def plain(self, backend: Backend, n: int, *, expect_refusal: bool) -> None:
        """Variant (d): the mapped-per-meeting DAG."""
        assert self.emu is not None
        self.emu.reset()
        db, tag = self.fresh_meetings(backend, n, "d"), f"{backend.name}-{n}-d"
        timings, log = self.file("timings", f"{tag}.jsonl"), self.workdir / "logs" / f"{tag}.log"
        before, env = self.emu.counters(), self.env(backend, db, timings=timings, dags=BENCH_DAGS)
        cmd, label = [self.airflow, "dags", "test", PLAIN_DAG], f"{backend.name} N={n:,}: {VARIANTS['d']}"
        measured = self.run(label, cmd, env, timeout=self.args.timeout_base + 1.0 * n, log=log)
        api = self.api_fields(before, measured)
        api_s = sum(report.read_timings(timings).get("api", []))
        tasks = report.task_durations(backend, PLAIN_DAG)
        fields: dict[str, Any] = {"rooms": api["rooms_created_api"], "api_s": api_s, "tasks": tasks["summary"]}
        fields |= {"log": str(log), **api}
        if _succeeded(measured, log):
            fields.update(status="ok", wall_s=measured.seconds, airflow_share_s=measured.seconds - api_s)
            if expect_refusal:
                fields["note"] = "ran above max_map_length: the limit was raised somewhere"
        else:
            fields.update(_plain_failure(measured, log.read_text(errors="replace"), n))
        self.row(backend.name, "d", n, **fields)

    def plain_skipped(self, backend: Backend, n: int, tried_at: int) -> None:
        note = f"N > max_map_length ({MAX_MAP_LENGTH:,}); not started (refused as at N={tried_at:,})"
        self.row(backend.name, "d", n, status="cannot run", note=note)

    def floors(self, n: int) -> None:
        self.row("-", "e1", n, status="floor", wall_s=n / self.rate, calls_total=n, rate_limited=0)
        server = emu_mod.server_floor_seconds(n)
        batches = math.ceil(n / emu_mod.BATCH_LIMIT)
        self.row("-", "e2", n, status="floor", wall_s=server, server_s=server, calls_total=batches, rate_limited=0)

    def parse_times(self) -> None:
        """Each DAG file (and the one-task baseline) parsed in fresh interpreters; the first run of each
        writes the bytecode and is not counted."""
        env, log = self.env(next(iter(self.backends.values())), "unused"), self.workdir / "logs" / "parse.log"
        for path in [*sorted((self.src / "dags").glob("*.py")), BENCH_DAGS / "bench_trivial.py"]:
            runs = []
            for attempt in range(self.args.parse_repeats + 1):
                out = self.file("results", f"parse-{path.stem}-{attempt}.json")
                cmd = [*WORKER, "parse", "--file", str(path), "--out", str(out)]
                label = f"parse time: {path.name} ({attempt}/{self.args.parse_repeats})"
                if self.run(label, cmd, env, timeout=300, log=log).ok and attempt and out.exists():
                    runs.append(json.loads(out.read_text()))
            self.results["parse"].append(_parse_entry(path, runs))
            self.save()


def _succeeded(measured: Measured, log: Path) -> bool:
    return measured.ok and "state=success" in log.read_text(errors="replace")[-20000:]


def _plain_failure(measured: Measured, text: str, n: int) -> dict[str, Any]:
    """How (d) failed: refused above max_map_length, timed out or failed."""
    marks = ("max_map_length", "UnmappableXComLengthPushed", "unmappable_return_value")
    after = f"after {measured.seconds:,.0f} s"
    if any(mark in text for mark in marks):
        note = f"Airflow refused to map {n:,} task instances (max_map_length {MAX_MAP_LENGTH:,}) {after}"
        return {"status": "cannot run", "note": note, "failed_after_s": measured.seconds}
    status = "timeout" if measured.timed_out else "failed"
    return {"status": status, "note": f"{status} {after} (see log)", "failed_after_s": measured.seconds}


def _parse_entry(path: Path, runs: list[dict[str, Any]]) -> dict[str, Any]:
    if not runs:
        return {"file": path.name, "error": "no successful parse run"}
    cold = [r["cold_seconds"] for r in runs]
    last = {k: runs[-1][k] for k in ("heavy_imports", "modules_imported", "dags", "import_errors")}
    warm = statistics.median(r["warm_seconds"] for r in runs)
    figures = {"cold_s": statistics.median(cold), "cold_max_s": max(cold), "warm_s": warm}
    return {"file": path.name, "baseline": path.parent == BENCH_DAGS, "runs": len(runs), **figures, **last}


def _variant_a(*, idle: bool, series: bool, variable: dict | None) -> str:
    kinds = {(False, False): "a", (True, False): "a-idle", (False, True): "a-series", (True, True): "a-series-idle"}
    return "a-var" if variable is not None else kinds[idle, series]


Step = tuple[str, Callable[[], None]]
On = Callable[..., Callable[[], None]]  # (Bench method, *args) -> the call on the backend, once it is up


def _plan_steps(bench: Bench) -> list[Step]:
    """Backends up, parse times; per backend and N: seed, a, b, d (c once per N, on the first backend); floors."""
    args = bench.args
    steps: list[Step] = [
        (f"{name}: start, migrate", lambda name=name: bench.start_backend(name)) for name in args.backends
    ]
    if args.parse_repeats > 0:
        steps.append(("parse time", bench.parse_times))
    for name in args.backends:
        steps += _backend_steps(bench, name)
        if name == args.backends[0] and "c" in args.variants:
            steps += [(f"N={n:,}: c", lambda n=n: bench.naive(n)) for n in args.n]
    return steps + [(f"N={n:,}: floors", lambda n=n: bench.floors(n)) for n in args.n]


def _backend_steps(bench: Bench, name: str) -> list[Step]:
    def on(method: Callable[..., None], *args: Any, **kwargs: Any) -> Callable[[], None]:
        return lambda: method(bench.backends[name], *args, **kwargs)

    steps: list[Step] = []
    refused_at: list[int] = []
    for n in bench.args.n:
        runs = [("seed", on(bench.seed, n))]
        runs += _variant_a_steps(bench, n, on) if "a" in bench.args.variants else []
        runs += [("b", on(bench.per_room, n))] if "b" in bench.args.variants else []
        runs += [("d", _variant_d(bench, n, on, refused_at))] if "d" in bench.args.variants else []
        steps += [(f"{name} N={n:,}: {label}", work) for label, work in runs]
    return steps


def _variant_a_steps(bench: Bench, n: int, on: On) -> list[Step]:
    """(a); at the largest N its idle re-run and (issue 15) the same N rows in weekly series; (a')."""
    largest, size = n == bench.args.n[-1], bench.args.series_size
    runs: list[tuple[str, Callable[..., None], dict[str, Any]]] = [("a", bench.airflow_run, {})]
    if largest:
        runs.append(("a idle re-run", bench.airflow_run, {"idle": True}))
    if largest and size > 0:
        runs += [
            ("seed series", bench.seed, {"series_size": size}),
            ("a on series", bench.airflow_run, {"series": True}),
        ]
        runs.append(("a series idle re-run", bench.airflow_run, {"idle": True, "series": True}))
    if bench.args.a_variable is not None:
        runs.append(("a'", bench.airflow_run, {"variable": bench.args.a_variable}))
    return [(label, on(method, n, **kwargs)) for label, method, kwargs in runs]


def _variant_d(bench: Bench, n: int, on: On, refused_at: list[int]) -> Callable[[], None]:
    """Plain mapping: runs up to max_map_length, is refused once above it, then skipped."""
    if n <= MAX_MAP_LENGTH:
        return on(bench.plain, n, expect_refusal=False)
    if not refused_at:
        refused_at.append(n)
        return on(bench.plain, n, expect_refusal=True)
    return on(bench.plain_skipped, n, refused_at[0])


def _ab_steps(bench: Bench, srcs: dict[str, Any]) -> list[Step]:
    """An A/B run's steps: the shared ones (backends, seeding, floors) once; every DAG run once per
    tree and round, interleaved (:func:`bench.harness.ab.order`), on the same seeded tables."""
    sides = {tree: _plan_steps(bench.on_tree(tree, srcs[tree])) for tree in ab.SIDES}
    steps: list[Step] = []
    for index, (label, shared) in enumerate(sides["A"]):
        if ": a" not in label or "seed" in label:
            steps.append((label, shared))
        else:
            steps += [(f"{label} [{tree}]", sides[tree][index][1]) for tree in ab.order(bench.args.ab_rounds)]
    return steps


def _run_steps(bench: Bench, srcs: dict[str, Any] | None) -> None:
    """Every step, with the emulator up (its room quota far above N); the backends stopped at the end."""
    quota, env = 10 * max(bench.args.n) + 10_000, harness.clean_env(bench.src, SHIM)
    try:
        with Emulator(bench.workdir / "emulator", room_quota=quota, env=env) as emu:
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
    return cli.done_with(args, workdir, paths, report.markdown(bench.results))


if __name__ == "__main__":
    sys.exit(main())
