"""Fault soak: N meetings provisioned under injected faults of every kind, then audited.

The emulator in this process and a fresh meetings table (SQLite, or ``--pg``: a throwaway PostgreSQL);
``--fault-rate`` faults spread evenly over the emulator's fault kinds; the chunk engine run until the run
is green and the audit clean, at most ``--max-runs`` times. Prints the audit's figures, the API calls by
endpoint and the faults injected; exits 1 if any guarantee fails (``bench/guarantees/README.md``).

    .venv/bin/python bench/guarantees/soak.py --meetings 10000 --fault-rate 0.1 --batch-size 1000

May import: ``harness`` (first: it sets up Airflow's environment), the application, the emulator,
tabulate and the standard library; never ``tests/``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import harness  # sets up Airflow's environment: before anything imports Airflow
from tabulate import tabulate

from daily_devtools.audit import Audit
from daily_dialin.provisioning.table import MeetingsTable
from daily_emulator import EmulatorServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--fault-rate", type=float, default=0.1, help="share of API requests faulted (0-1)")
    parser.add_argument("--batch-size", type=int, default=1000, help="rooms per POST /batch/rooms (1-1000)")
    parser.add_argument("--chunk-size", type=int, default=1000, help="meetings per chunk task")
    parser.add_argument(
        "--concurrency", type=int, help="calls one chunk keeps in flight (batch_concurrency; default: the engine's)"
    )
    parser.add_argument(
        "--per-room-pin",
        action="store_true",
        help="batch-created rooms come without a PIN (emulator batch_returns_pin=False): one PIN call per room",
    )
    parser.add_argument(
        "--per-room-create", action="store_true", help="the engine's per_room mode: one POST /rooms per room"
    )
    parser.add_argument("--max-runs", type=int, default=4, help="runs allowed until done (task retries)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault generator")
    parser.add_argument("--hang-seconds", type=float, default=4.0, help="how long a hang fault holds a request")
    parser.add_argument("--timeout", type=float, default=3.0, help="the client's timeout per request")
    parser.add_argument("--unlimited", action="store_true", help="no rate limits (emulator and client pacing)")
    parser.add_argument("--pg", action="store_true", help="a throwaway PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate must be within 0..1")
    return args


@contextmanager
def meetings_table(use_pg: bool) -> Iterator[MeetingsTable]:
    if use_pg:
        with harness.postgres_table() as table:
            yield table
        return
    with tempfile.TemporaryDirectory(prefix="daily-soak-") as folder:
        yield harness.sqlite_table(Path(folder))


def soak(args: argparse.Namespace, server: EmulatorServer, table: MeetingsTable) -> tuple[Audit, list, float]:
    """Seed, fault, run until done; returns the last audit, the runs and the wall time."""
    harness.connect_daily(server, timeout=args.timeout, unlimited=args.unlimited)
    settings = {"chunk_size": args.chunk_size, "batch_size": args.batch_size}
    if args.concurrency is not None:
        settings["batch_concurrency"] = args.concurrency
    if args.per_room_create:
        settings["per_room"] = True
    harness.configure_engine(**settings)
    harness.seed_table(table, harness.meetings(args.meetings))
    server.admin.configure(
        faults=harness.fault_settings(args.fault_rate, seed=args.seed, hang_seconds=args.hang_seconds),
        batch_returns_pin=not args.per_room_pin,
    )
    harness.progress(
        "%d meetings, %.0f%% faults, batch %d, chunk %d",
        args.meetings,
        100 * args.fault_rate,
        args.batch_size,
        args.chunk_size,
    )
    started = time.monotonic()
    runs = []
    for number in range(1, args.max_runs + 1):
        run = harness.run_engine()
        runs.append(run)
        result = harness.audit_table(table, server)
        harness.progress(
            "run %d: %d chunk(s), %d failed, verdict %s, %d/%d provisioned, %.1f s",
            number,
            run.chunks,
            len(run.chunk_errors),
            run.verdict[:80],
            result.provisioned,
            result.due,
            run.seconds,
        )
        for error in run.chunk_errors[:5]:
            harness.progress("  %s", error[:200])
        if run.ok and not result.problems(complete=True):
            break
    return result, runs, time.monotonic() - started


def report(args: argparse.Namespace, result: Audit, runs: list, wall: float, server: EmulatorServer) -> list[str]:
    """Print the figures; return the broken guarantees."""
    mismatches = result.mismatch_counts()
    shown = ("PIN", "URL", "dial string")
    other = sum(mismatches.values()) - sum(mismatches[k] for k in shown)
    done = runs[-1].ok and not result.problems(complete=True)
    rows: list[tuple[str, Any]] = [
        ("meetings", result.meetings),
        ("due (scheduled)", result.due),
        ("provisioned", result.provisioned),
        ("rooms in Daily", result.rooms),
        ("duplicates (room or PIN on 2+ rows)", result.duplicates),
        ("orphans (rooms no row names)", len(result.orphans)),
        ("rows naming a room Daily lacks", len(result.dead)),
        ("PIN mismatches", mismatches["PIN"]),
        ("URL mismatches", mismatches["URL"]),
        ("dial-string mismatches", mismatches["dial string"]),
        ("other mismatches (number, exp, name)", other),
        ("due meetings without a room", len(result.unprovisioned)),
        ("runs needed", len(runs) if done else f"not done after {len(runs)}"),
        ("chunk tasks failed (all runs)", sum(len(r.chunk_errors) for r in runs)),
        ("wall time (s)", f"{wall:.1f}"),
    ]
    mode = "per-room create" if args.per_room_create else f"batch {args.batch_size}"
    mode += ", per-room PIN" if args.per_room_pin else ""
    store = "PostgreSQL" if args.pg else "SQLite"
    print(f"\nSoak: {args.meetings} meetings, {100 * args.fault_rate:.0f}% faults, {mode}, {store}")
    print(tabulate(rows, headers=["check", "value"], tablefmt="psql"))
    counters = server.admin.counters()
    calls = sorted(counters["requests"].items(), key=lambda kv: -kv[1])
    limited = counters["rate_limited"]
    print(
        tabulate(
            [(key, count, limited.get(key, 0)) for key, count in calls],
            headers=["API endpoint", "requests", "429 (rate limit)"],
            tablefmt="psql",
        )
    )
    print(tabulate(sorted(counters["faults"].items()), headers=["fault injected", "count"], tablefmt="psql"))
    problems = result.problems(complete=True)
    if not runs[-1].ok:
        problems.append(f"the last run was not green: {runs[-1].verdict[:200]} {runs[-1].chunk_errors[:3]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = harness.start_emulator(unlimited=args.unlimited)
    try:
        with meetings_table(args.pg) as table:
            result, runs, wall = soak(args, server, table)
            problems = report(args, result, runs, wall, server)
    finally:
        server.stop()
    for problem in problems:
        print(f"FAILED: {problem}")
    print("RESULT:", "FAIL" if problems else "OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
