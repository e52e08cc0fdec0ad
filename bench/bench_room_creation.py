"""Benchmark: how long it takes to create N dial-in rooms, and at what cost in requests and 429s.

Runs the local Daily emulator in this process with Daily's documented rate limits (20 req/s and
100 per 5 s for most endpoints) plus an added per-request latency, and measures four ways of
creating the same N PIN dial-in rooms, each on a freshly reset emulator:

* A - the provider's bulk path: ``BulkRoomCreator(hook=DailyHook()).ensure_rooms(specs)``
  (``POST /batch/rooms``, at most 1000 rooms per call);
* B - one ``DailyHook.ensure_room(spec)`` per room (``POST /rooms``, paced under the limits);
* C - the naive script: a plain ``requests.Session`` loop of ``POST /rooms``, no pacing and no
  retry; every room answered with a 429 is simply not created;
* D - A again, with the first ``POST /batch/rooms`` response lost after the rooms were made
  (a scripted ``lost_create`` fault): the recovery must end with exactly N rooms.

Two passes: a timing pass (A three times, its median reported, as A takes tens of milliseconds
and one garbage collection can triple it), then a memory pass with ``tracemalloc`` on, which
doubles the time of CPU-bound code and so is kept out of the timings. Each run gets its own API
key, hence its own client-side pacer, as a fresh worker process would have. The hook uses the
provider's default retry and pacing settings.

Prints one table row per variant and the speed-up of A over B. Timings are reported, never
asserted: the script exits non-zero only if it crashes.

    cd /work/main && .venv/bin/python bench/bench_room_creation.py [--rooms N] [--latency-ms L] [--quick]
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# Airflow reads its configuration when first imported: give it a throwaway home first.
_HOME = tempfile.mkdtemp(prefix="daily-bench-airflow-home-")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"
os.environ.pop("AIRFLOW_CONN_DAILY_DEFAULT", None)
sys.path.insert(0, str(REPO / "include"))

import requests  # noqa: E402

from airflow_provider_daily.bulk import BulkRoomCreator  # noqa: E402
from airflow_provider_daily.hooks.daily import DailyHook  # noqa: E402
from airflow_provider_daily.models import DialinProperties, RoomCreate, RoomProperties  # noqa: E402
from daily_emulator import EmulatorServer, EmulatorSettings  # noqa: E402
from daily_emulator.settings import default_rate_limits  # noqa: E402

DEFAULT_ROOMS = 300
QUICK_ROOMS = 60
DEFAULT_LATENCY_MS = 20.0
A_REPEATS = 3
MIB = 1024 * 1024
# The client's pacer is shared per (base URL, API key): a key per run gives each run a fresh one.
API_KEYS = [f"bench-key-{i:02d}" for i in range(16)]

VARIANTS = {
    "A": "A bulk ensure_rooms",
    "B": "B per-room ensure_room",
    "C": "C naive requests loop",
    "D": "D bulk, lost response",
}


@dataclass
class Run:
    """What one variant did: from the clock, the emulator's counters and state, and tracemalloc."""

    seconds: float = 0.0
    requests: int = 0
    rate_limited: int = 0
    with_pin: int = 0
    in_emulator: int = 0
    peak_mib: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def dialin_spec(name: str, *, hours: float = 2) -> RoomCreate:
    """A PIN dial-in room expiring in ``hours`` (same shape as ``tests/hooks/helpers.dialin_spec``)."""
    return RoomCreate(
        name=name,
        properties=RoomProperties(
            exp=int(time.time() + hours * 3600),
            eject_at_room_exp=True,
            dialin=DialinProperties(display_name="Board call", wait_for_meeting_start=True),
        ),
    )


def point_connection_at(server: EmulatorServer, key: str) -> None:
    """``daily_default`` -> the emulator, with the provider's default retry and pacing settings."""
    os.environ["AIRFLOW_CONN_DAILY_DEFAULT"] = json.dumps(
        {"conn_type": "daily", "host": server.base_url, "password": key}
    )


# -- the variants: each creates ``specs`` and returns details worth printing ----------------------
def bulk(server: EmulatorServer, key: str, specs: list[RoomCreate]) -> dict[str, Any]:
    outcomes = BulkRoomCreator(hook=DailyHook()).ensure_rooms(specs)
    return {"failed": sum(1 for outcome in outcomes.values() if not outcome.ok)}


def per_room(server: EmulatorServer, key: str, specs: list[RoomCreate]) -> dict[str, Any]:
    hook = DailyHook()
    for spec in specs:
        hook.ensure_room(spec)
    return {}


def naive(server: EmulatorServer, key: str, specs: list[RoomCreate]) -> dict[str, Any]:
    statuses: dict[int, int] = {}
    with requests.Session() as session:
        session.trust_env = False  # local emulator: never through a proxy
        session.headers["Authorization"] = f"Bearer {key}"
        for spec in specs:
            response = session.post(f"{server.base_url}/rooms", json=spec.to_api(), timeout=30)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    return {"statuses": statuses}


WORK: dict[str, Callable[[EmulatorServer, str, list[RoomCreate]], dict[str, Any]]] = {
    "A": bulk,
    "B": per_room,
    "C": naive,
    "D": bulk,
}


def run_variant(server: EmulatorServer, variant: str, specs: list[RoomCreate], key: str, *, trace: bool = False) -> Run:
    """Reset the emulator, run one variant, and read back what it did."""
    server.admin.reset()
    if variant == "D":
        server.admin.script_faults([{"kind": "lost_create", "method": "POST", "path": "/batch/rooms"}])
    point_connection_at(server, key)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    detail = WORK[variant](server, key, specs)
    seconds = time.perf_counter() - started
    peak_mib = None
    if trace:
        peak_mib = tracemalloc.get_traced_memory()[1] / MIB
        tracemalloc.stop()
    counters = server.admin.counters()
    live = [room for room in server.admin.snapshot()["rooms"] if not room["expired"]]
    names = {spec.name for spec in specs}
    detail["lost_responses"] = counters["faults"].get("lost_create", 0)
    return Run(
        seconds=seconds,
        requests=sum(counters["requests"].values()),
        rate_limited=sum(counters["rate_limited"].values()),
        with_pin=sum(1 for room in live if room["name"] in names and room["config"].get("dialin_code")),
        in_emulator=len(live),
        peak_mib=peak_mib,
        detail=detail,
    )


def warm_up(server: EmulatorServer, key: str) -> None:
    """Exercise both create paths once, unmeasured, so lazy imports and first-call setup on either
    side (Airflow's connection lookup, the emulator's routes) count against no variant."""
    point_connection_at(server, key)
    hook = DailyHook()
    hook.ensure_room(dialin_spec("bench-warm-up-1"))
    BulkRoomCreator(hook=hook).ensure_rooms([dialin_spec("bench-warm-up-2")])
    server.admin.reset()


# -- output ---------------------------------------------------------------------------------------
def print_table(n: int, runs: dict[str, Run]) -> None:
    headers = ["variant", "requested", "with PIN", "in emulator", "wall s", "API requests", "429s", "peak MiB"]
    table = [
        [
            VARIANTS[variant],
            str(n),
            str(run.with_pin),
            str(run.in_emulator),
            f"{run.seconds:.3f}",
            str(run.requests),
            str(run.rate_limited),
            "-" if run.peak_mib is None else f"{run.peak_mib:.1f}",
        ]
        for variant, run in runs.items()
    ]
    widths = [max(len(h), *(len(line[i]) for line in table)) for i, h in enumerate(headers)]

    def fmt(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)

    print(fmt(headers))
    print("  ".join("-" * w for w in widths))
    for line in table:
        print(fmt(line))


def print_notes(n: int, runs: dict[str, Run], a_seconds: list[float]) -> None:
    a, b, c, d = runs["A"], runs["B"], runs["C"], runs["D"]
    print(f"A: wall s is the median of {len(a_seconds)} runs ({', '.join(f'{s:.3f}' for s in a_seconds)})")
    for variant, run in runs.items():
        if run.detail.get("failed"):
            print(f"{variant}: ensure_rooms reported {run.detail['failed']} rooms as failed")
    statuses = c.detail["statuses"]
    others = {code: count for code, count in statuses.items() if code not in (200, 429)}
    print(
        f"C: {statuses.get(429, 0)} of {n} POST /rooms got 429 and were NOT created "
        f"({statuses.get(200, 0)} created{f'; other statuses {others}' if others else ''})"
    )
    verdict = "OK, no duplicates" if d.in_emulator == n and d.with_pin == n else "MISMATCH"
    print(
        f"D: {d.detail['lost_responses']} batch response lost; {d.in_emulator} rooms in the emulator "
        f"afterwards for {n} requested ({verdict})"
    )
    if a.seconds > 0:
        print(f"Speed-up of A over B: {b.seconds / a.seconds:.3g}x ({b.seconds:.3f} s / {a.seconds:.3f} s)")
    print("peak MiB: tracemalloc peak during the variant (client and in-process emulator together), taken in")
    print("a second pass so that tracemalloc's overhead stays out of the wall times")


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


# -- main -----------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=None, help=f"rooms per variant (default {DEFAULT_ROOMS})")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=DEFAULT_LATENCY_MS,
        help=f"latency the emulator adds to every API request (default {DEFAULT_LATENCY_MS:g})",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROOMS} rooms unless --rooms is given")
    args = parser.parse_args(argv)
    if args.rooms is None:
        args.rooms = QUICK_ROOMS if args.quick else DEFAULT_ROOMS
    if args.rooms < 1:
        parser.error("--rooms must be at least 1")
    if args.latency_ms < 0:
        parser.error("--latency-ms must not be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n = args.rooms
    settings = EmulatorSettings(
        api_keys=API_KEYS,
        domain="bench",
        rate_limits=default_rate_limits(),  # Daily's documented limits
        latency_ms=args.latency_ms,
        seed=0,
    )
    specs = [dialin_spec(f"bench-room-{i:05d}") for i in range(n)]
    keys: Iterator[str] = iter(API_KEYS)
    print(
        f"{n} PIN dial-in rooms per variant; emulator in-process with Daily's documented rate limits "
        f"(20/s and 100/5 s), +{args.latency_ms:g} ms per API request",
        flush=True,
    )
    logging.getLogger("daily_emulator").setLevel(logging.WARNING)
    with EmulatorServer(settings=settings) as server:
        warm_up(server, next(keys))
        progress("timing pass: A")
        a_runs = [run_variant(server, "A", specs, next(keys)) for _ in range(A_REPEATS)]
        a_seconds = [run.seconds for run in a_runs]
        runs = {"A": a_runs[0]}
        runs["A"].seconds = statistics.median(a_seconds)
        for variant in "BCD":
            progress(f"timing pass: {variant}")
            runs[variant] = run_variant(server, variant, specs, next(keys))
        for variant in "ABCD":
            progress(f"memory pass (tracemalloc on): {variant}")
            runs[variant].peak_mib = run_variant(server, variant, specs, next(keys), trace=True).peak_mib
    print()
    print_table(n, runs)
    print()
    print_notes(n, runs, a_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
