"""kill -9 at four points of a provisioning run, one clean rerun after each; and two overlapping runs.

Each scenario: a reset emulator (in this process) and a fresh SQLite table, a quarter of the meetings
provisioned first and three of them moved; the run under test in a forked child, SIGKILLed at its kill
point (mid batch, mid chunk, during the commit, mid PIN fallback: set in the child only by wrapping the
provider's methods), then one clean rerun and the checks. Overlapping runs: two children start the engine
together on one table, without and with 10 % faults. What each kill point and check is:
``bench/guarantees/README.md``. Prints one table per part; exits 1 if any check fails.

    .venv/bin/python bench/guarantees/kill9.py [--meetings 200] [--batch-size 20]

May import: ``harness`` (first: it sets up Airflow's environment), the provider, the application, the
emulator, SQLAlchemy, tabulate and the standard library; never ``tests/``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import select
import signal
import stat
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import harness  # sets up Airflow's environment: before anything imports Airflow
import sqlalchemy as sa
from tabulate import tabulate

from airflow_provider_daily.bulk import BulkRoomCreator
from airflow_provider_daily.hooks.daily import DailyHook
from daily_dialin.provisioning import steps
from daily_dialin.provisioning.meetings import parse_utc
from daily_dialin.provisioning.table import MeetingsTable
from daily_emulator import EmulatorServer

KILL_WAIT_SECONDS = 120
RUN_WAIT_SECONDS = 300


@dataclass(frozen=True)
class KillPoint:
    """Where the child stops: the ``nth`` event of ``kind`` within chunk ``chunk``."""

    name: str
    kind: str  # after_batch, commit, after_pin
    chunk: int
    nth: int
    chunks: int = 1  # the killed run's meetings are cut into this many chunks
    per_room_pin: bool = False


def kill_points(meetings: int) -> list[KillPoint]:
    return [
        KillPoint("mid batch", "after_batch", chunk=0, nth=2),
        KillPoint("mid chunk", "after_batch", chunk=1, nth=1, chunks=2),
        KillPoint("during the commit", "commit", chunk=0, nth=1),
        KillPoint("mid PIN fallback", "after_pin", chunk=0, nth=max(1, meetings // 4), per_room_pin=True),
    ]


# -- the child: arm the kill point, run the engine ------------------------------------------------
class _Trap:
    """Counts events per chunk; at the armed one, tells the parent and waits to be killed."""

    def __init__(self, point: KillPoint, signal_fd: int) -> None:
        self.point = point
        self.signal_fd = signal_fd
        self.chunk = -1
        self.counter = itertools.count(1)

    def enter_chunk(self, index: int) -> None:
        self.chunk, self.counter = index, itertools.count(1)

    def event(self, kind: str) -> None:
        if kind == self.point.kind and self.chunk == self.point.chunk and next(self.counter) == self.point.nth:
            os.write(self.signal_fd, b"K")
            time.sleep(3600)


def arm(point: KillPoint, signal_fd: int) -> None:
    """Wrap the provider's methods in this (child) process so the run stops at ``point``."""
    trap = _Trap(point, signal_fd)
    provision_chunk, request = steps.provision_chunk, DailyHook.request
    pin_fallback, write_results = BulkRoomCreator._pin_fallback, MeetingsTable.write_results

    def chunk(*, index: int, **kwargs: Any) -> Any:
        trap.enter_chunk(index)
        return provision_chunk(index=index, **kwargs)

    def send(self: DailyHook, method: str, path: str, **kwargs: Any) -> Any:
        answer = request(self, method, path, **kwargs)
        if method == "POST" and path == "/batch/rooms":
            trap.event("after_batch")
        return answer

    def fallback(self: BulkRoomCreator, *args: Any, **kwargs: Any) -> Any:
        done = pin_fallback(self, *args, **kwargs)
        trap.event("after_pin")
        return done

    def write(self: MeetingsTable, **kwargs: Any) -> Any:
        # SQLAlchemy's "commit" event fires after every UPDATE of the transaction ran, before COMMIT
        def before_commit(_conn: Any) -> None:
            trap.event("commit")

        sa.event.listen(self.engine, "commit", before_commit)
        try:
            return write_results(self, **kwargs)
        finally:
            sa.event.remove(self.engine, "commit", before_commit)

    steps.provision_chunk = chunk
    DailyHook.request = send  # type: ignore[method-assign]
    BulkRoomCreator._pin_fallback = fallback  # type: ignore[method-assign]
    MeetingsTable.write_results = write  # type: ignore[method-assign]


def _drop_inherited_sockets() -> None:
    """Point the parent's sockets (the emulator's listener and connections) at /dev/null in the
    child: a forked copy would keep connections half-open that the parent closes. The fd numbers
    stay taken, so a late close by a garbage-collected object cannot hit one of the child's own."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            try:
                if fd != null and stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.dup2(null, fd)
            except OSError:
                continue
    finally:
        os.close(null)


def fork(body: Callable[[], int]) -> int:
    """Run ``body`` in a child process; its return value is the exit code (1 on an exception)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _drop_inherited_sockets()
        code = body()
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def wait_exit(pid: int, timeout: float) -> int:
    """The child's exit code; SIGKILL and -9 if it outlives ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -9


# -- one kill scenario ----------------------------------------------------------------------------
@dataclass
class Outcome:
    """One scenario's figures and the checks it failed."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, args: argparse.Namespace, server: EmulatorServer, folder: Path) -> None:
        self.args = args
        self.server = server
        self.folder = folder

    def fresh(self, *, per_room_pin: bool = False, latency_ms: float = 0, fault_rate: float = 0) -> MeetingsTable:
        """A reset emulator and a new table with the meetings in it."""
        admin = self.server.admin
        admin.reset()
        admin.configure(
            faults=harness.fault_settings(fault_rate, seed=self.args.seed, hang_seconds=1.0),
            batch_returns_pin=not per_room_pin,
            latency_ms=latency_ms,
        )
        table = harness.sqlite_table(self.folder)
        harness.seed_table(table, harness.meetings(self.args.meetings))
        return table

    def preprovision(self, table: MeetingsTable) -> dict[str, str]:
        """Provision a quarter of the meetings, then move three of them; returns their PINs."""
        harness.configure_engine(chunk_size=self.args.meetings, batch_size=self.args.batch_size)
        ids = sorted(r["meeting_id"] for r in harness.read_rows(table))
        first = ids[: max(4, len(ids) // 4)]
        run = harness.run_engine({"meeting_ids": first})
        if not run.ok:
            raise RuntimeError(f"pre-provisioning failed: {run.verdict} {run.chunk_errors}")
        rows = {r["meeting_id"]: r for r in harness.read_rows(table)}
        for meeting_id in first[:3]:
            ends = parse_utc(rows[meeting_id]["ends_at"]) + timedelta(minutes=30)
            harness.execute(
                table, "UPDATE daily_meetings SET ends_at = ? WHERE meeting_id = ?", (table.ts(ends), meeting_id)
            )
        return harness.pins_by_id(harness.read_rows(table))

    def kill_scenario(self, point: KillPoint) -> Outcome:
        outcome = Outcome(point.name)
        table = self.fresh(per_room_pin=point.per_room_pin)
        pins_before = self.preprovision(table)
        chunk_size = -(-self.args.meetings // point.chunks)
        harness.configure_engine(chunk_size=chunk_size, batch_size=self.args.batch_size)
        killed = self.run_and_kill(point)
        if not killed:
            outcome.failures.append("the kill point was not reached")
        at_kill_rows = harness.read_rows(table)
        at_kill_daily = harness.daily_pins(self.server)
        rerun = harness.run_engine()
        self.check(table, rerun, outcome)
        after_rows = harness.read_rows(table)
        after_daily = harness.daily_pins(self.server)
        after_pins = harness.pins_by_id(after_rows)
        changed_rows = [m for m, pin in pins_before.items() if after_pins.get(m) != pin]
        changed_daily = [n for n, pin in at_kill_daily.items() if after_daily.get(n) != pin]
        if changed_rows or changed_daily:
            outcome.failures.append(f"PINs changed: rows {changed_rows[:5]}, rooms {changed_daily[:5]}")
        counts = rerun.summary.get("counts", {})
        outcome.figures = {
            "killed": "yes" if killed else "NO",
            "rooms at kill": len(at_kill_daily),
            "rows with PIN at kill": len(harness.pins_by_id(at_kill_rows)),
            "rerun c/r/u": f"{counts.get('created', 0)}/{counts.get('reused', 0)}/{counts.get('updated', 0)}",
            **outcome.figures,
            "PINs changed": len(changed_rows) + len(changed_daily),
        }
        return outcome

    def run_and_kill(self, point: KillPoint) -> bool:
        """The run under test in a child, SIGKILLed at ``point``; False if it never got there."""
        read_fd, write_fd = os.pipe()

        def child() -> int:
            os.close(read_fd)
            arm(point, write_fd)
            harness.run_engine()
            return 0

        pid = fork(child)
        os.close(write_fd)
        try:
            ready, _, _ = select.select([read_fd], [], [], KILL_WAIT_SECONDS)
            reached = bool(ready) and os.read(read_fd, 1) == b"K"
        finally:
            os.close(read_fd)
        if reached:
            os.kill(pid, signal.SIGKILL)
        code = wait_exit(pid, KILL_WAIT_SECONDS)
        harness.progress("%s: child %d %s (exit %s)", point.name, pid, "killed" if reached else "NOT killed", code)
        return reached and code == -signal.SIGKILL

    def check(self, table: MeetingsTable, run: harness.RunResult, outcome: Outcome) -> None:
        """The final state: a green run, every meeting provisioned, nothing broken."""
        result = harness.audit_table(table, self.server)
        if not run.ok:
            outcome.failures.append(f"the rerun was not green: {run.verdict[:200]} {run.chunk_errors[:2]}")
        outcome.failures.extend(result.problems(complete=True))
        if result.due != result.meetings:  # harness.meetings() seeds due meetings only
            outcome.failures.append(f"{result.meetings - result.due} meeting(s) not due by the audit's rule")
        if result.provisioned != result.due:
            outcome.failures.append(f"{result.due - result.provisioned} due meeting(s) not provisioned")
        outcome.figures.update(
            {
                "provisioned": f"{result.provisioned}/{result.due}",
                "rooms": result.rooms,
                "duplicates": result.duplicates,
                "orphans": len(result.orphans),
                "mismatches": len(result.mismatches) + len(result.dead),
            }
        )

    # -- overlapping runs ------------------------------------------------------------------------
    def overlap_scenario(self, fault_rate: float) -> Outcome:
        name = "two runs at once" + (f", {100 * fault_rate:.0f}% faults" if fault_rate else "")
        outcome = Outcome(name)
        table = self.fresh(latency_ms=20, fault_rate=fault_rate)
        harness.configure_engine(
            chunk_size=max(1, self.args.meetings // 2), batch_size=max(1, self.args.batch_size // 4)
        )
        results = [self.folder / f"overlap-{i}.json" for i in (1, 2)]
        codes = self.run_two(results)
        overlap = harness.audit_table(table, self.server)
        if overlap.duplicates:
            outcome.failures.append(f"{overlap.duplicates} duplicate(s) right after the overlapping runs")
        if overlap.mismatches or overlap.dead:
            outcome.failures.append(
                f"table differs from Daily right after: {overlap.mismatches[:3]} {overlap.dead[:3]}"
            )
        counts = [json.loads(p.read_text()) if p.exists() else {} for p in results]
        self.server.admin.configure(faults=harness.fault_settings(0, seed=0, hang_seconds=1.0), latency_ms=0)
        rerun = harness.run_engine()
        self.check(table, rerun, outcome)
        outcome.figures = {
            "exit codes": "/".join(str(c) for c in codes),
            "created A/B": "/".join(str(c.get("created", "-")) for c in counts),
            "reused A/B": "/".join(str(c.get("reused", 0) + c.get("updated", 0)) for c in counts),
            "dups after overlap": overlap.duplicates,
            "rerun created": rerun.summary.get("counts", {}).get("created", 0),
            **outcome.figures,
        }
        if any(code not in (0, 2) for code in codes):
            outcome.failures.append(f"a run crashed (exit codes {codes})")
        return outcome

    def run_two(self, results: list[Path]) -> list[int]:
        """Two children that start the engine together; exit 0 (green), 2 (not green), 1 (crash)."""
        go_read, go_write = os.pipe()
        pids = []
        for path in results:

            def child(path: Path = path) -> int:
                os.close(go_write)
                select.select([go_read], [], [], KILL_WAIT_SECONDS)
                run = harness.run_engine()
                path.write_text(json.dumps(run.summary.get("counts", {})))
                return 0 if run.ok else 2

            pids.append(fork(child))
        os.close(go_read)
        time.sleep(0.2)
        os.close(go_write)  # EOF wakes both at once
        return [wait_exit(pid, RUN_WAIT_SECONDS) for pid in pids]


# -- the report -----------------------------------------------------------------------------------
def table_of(outcomes: list[Outcome]) -> str:
    headers = ["scenario", *outcomes[0].figures, "result"]
    rows = [
        [o.name, *(o.figures.get(h, "") for h in headers[1:-1]), "ok" if not o.failures else "FAIL"] for o in outcomes
    ]
    return tabulate(rows, headers=headers, tablefmt="psql")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=20, help="rooms per POST /batch/rooms")
    parser.add_argument("--seed", type=int, default=3, help="seed of the fault generator (overlap with faults)")
    parser.add_argument("--only", choices=["kill", "overlap"], help="run one part only")
    parser.add_argument("--unlimited", action="store_true", help="no rate limits (emulator and client pacing)")
    args = parser.parse_args(argv)
    if args.meetings < 16 or args.meetings < 4 * args.batch_size:
        parser.error("use at least 16 meetings and at least 4 batches of them (--meetings >= 4 * --batch-size)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    server = harness.start_emulator(unlimited=args.unlimited)
    harness.connect_daily(server, timeout=2.0, unlimited=args.unlimited)
    failures: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="daily-kill9-") as folder:
            bench = Bench(args, server, Path(folder))
            for title, part in (("kill -9, then one clean rerun", "kill"), ("overlapping runs", "overlap")):
                if args.only not in (None, part):
                    continue
                if part == "kill":
                    outcomes = [bench.kill_scenario(p) for p in kill_points(args.meetings)]
                else:
                    outcomes = [bench.overlap_scenario(rate) for rate in (0.0, 0.1)]
                print(f"\n{title} ({args.meetings} meetings, batch {args.batch_size}, {datetime.now():%Y-%m-%d %H:%M})")
                print(table_of(outcomes))
                failures += [f"{o.name}: {f}" for o in outcomes for f in o.failures]
    finally:
        server.stop()
    for failure in failures:
        print(f"FAILED: {failure}")
    print(f"RESULT: {'FAIL' if failures else 'OK'} ({time.monotonic() - started:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
