"""MeetingsTable before and after (a git revision vs the working tree), side by side, at 100,000 rows.

Times the plan's ``select_due_ids`` (rolling window) on a table of N meetings spread over 25
days, *fresh* (nothing provisioned: every meeting due) and *idle* (every meeting provisioned and
unchanged: the moved-meeting check fingerprints every row, nothing is due), with the old module
(``git show REV:include/daily_dialin/provisioning/table.py``, imported under another name) and
the new one in the same process, alternately; then ``pending_work`` (what the freshness trigger
polls every few seconds) on the idle and the fresh table. SQLite (a file) and PostgreSQL (the
tests' throwaway server, ``daily_devtools.postgres``).

Both versions must select the same ids, and the idle table - provisioned from fingerprints of the
rows as the *old* code read them - must be idle for the new code too (no mass update after an
upgrade); the script stops if not.

Run: ``.venv/bin/python -m bench.scale.table_compare [--n 100000] [--repeats 3] [--backends sqlite,postgres]
[--rev REV]``; prints a Markdown table and writes ``bench/results/table-sqlalchemy.md``. ``--rev`` must hold the
table as one module (``table.py``): the default is the last commit that does (a package since ``0366eb9``).

May import: the application (``daily_dialin``), ``daily_devtools``, SQLAlchemy, ``bench.harness``, the
standard library.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import run as harness

REPO = harness.REPO
RESULTS = REPO / "bench" / "results" / "table-sqlalchemy.md"
TABLE_PATH = "include/daily_dialin/provisioning/table.py"
LAST_TABLE_MODULE = "0366eb9~1"  # the last commit with the table as one module (a package since 0366eb9)
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]


def _old_module(rev: str, scratch: Path) -> Any:
    source = subprocess.run(["git", "show", f"{rev}:{TABLE_PATH}"], cwd=REPO, check=True, capture_output=True).stdout
    path = scratch / "old_table.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("old_meetings_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _backend(name: str, scratch: Path) -> Iterator[dict[str, Any]]:
    with contextlib.ExitStack() as stack:
        sqlite = {"conn_type": "sqlite", "host": str(scratch / "meetings.db")}
        yield sqlite if name == "sqlite" else harness.postgres_database(stack, "meetings")


def _seed(table: Any, n: int) -> None:
    import sqlalchemy as sa

    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    spread = timedelta(days=25) / n
    rows = []
    for i in range(n):
        begins = start + i * spread
        rows.append(
            {
                "meeting_id": f"M{i:07d}",
                "title": f"Meeting {i}",
                "starts_at": table.ts(begins),
                "ends_at": table.ts(begins + timedelta(hours=1)),
                "timezone": ZONES[i % len(ZONES)],
                "status": "scheduled",
                "wait_for_meeting_start": 1 if table.is_sqlite else True,
                "attempts": 0,
            }
        )
    with table.engine.begin() as conn:
        conn.execute(sa.delete(table.meetings))
        for part in range(0, n, 10_000):
            conn.execute(sa.insert(table.meetings), rows[part : part + 10_000])
    _analyze(table)


def _provision_all(old: Any, table: Any) -> None:
    """Every row provisioned, with the fingerprint of the row as the old code reads it."""
    import sqlalchemy as sa

    from daily_dialin.provisioning.meetings import room_fingerprint

    rows = old.fetch([f"M{i:07d}" for i in range(_count(table))])
    stamp = table.ts(datetime.now(UTC))
    updates = [
        {"k_id": mid, "k_fp": room_fingerprint(row, table.config), "k_room": f"mtg-{mid}"} for mid, row in rows.items()
    ]
    statement = (
        sa.update(table.meetings)
        .where(table.c.meeting_id == sa.bindparam("k_id"))
        .values(
            room_fingerprint=sa.bindparam("k_fp"),
            room_name=sa.bindparam("k_room"),
            dialin_pin="12345678901",
            provisioned_at=stamp,
        )
    )
    with table.engine.begin() as conn:
        conn.execute(statement, updates)
    _analyze(table)


def _analyze(table: Any) -> None:
    """Table statistics, as autovacuum keeps them on a real PostgreSQL table (SQLite needs none)."""
    if not table.is_sqlite:
        with table.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE daily_meetings")


def _count(table: Any) -> int:
    import sqlalchemy as sa

    with table.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table.meetings)).scalar_one())


def _time(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def _compare(label: str, old: Any, new: Any, selection: Any, repeats: int) -> dict[str, Any]:
    old_times: list[float] = []
    new_times: list[float] = []
    old_ids = new_ids = None
    for _ in range(repeats):  # alternate, so drift on a shared machine hits both alike
        t, old_ids = _time(lambda: old.select_due_ids(selection), 1)
        old_times += t
        t, new_ids = _time(lambda: new.select_due_ids(selection), 1)
        new_times += t
    if old_ids != new_ids:
        sys.exit(f"{label}: old and new select different ids ({len(old_ids or [])} vs {len(new_ids or [])})")
    return {"case": label, "due": len(new_ids or []), "old": old_times, "new": new_times}


def _polls(new: Any, repeats: int) -> list[float]:
    now = datetime.now(UTC)
    from daily_dialin.freshness.pending import pending_work

    times, _ = _time(lambda: pending_work(new, now=now, horizon_days=30, look_ahead=timedelta(hours=24)), repeats)
    return times


def _run_backend(name: str, n: int, repeats: int, rev: str, scratch: Path) -> list[dict[str, Any]]:
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable
    from daily_dialin.provisioning.window import Selection

    with _backend(name, scratch) as conn:
        os.environ["AIRFLOW_CONN_DAILY_MEETINGS_DB"] = json.dumps(conn)
        config = ProvisioningConfig()
        new = MeetingsTable.from_config(config)
        old = _old_module(rev, scratch).MeetingsTable.from_config(config)
        new.create_schema()
        _seed(new, n)
        now = datetime.now(UTC)
        selection = Selection(starts_before=now + timedelta(days=30), ends_after=now)
        new.select_due_ids(selection)  # warm-up: first connections, statement caches
        old.select_due_ids(selection)
        results = [_compare("fresh", old, new, selection, repeats)]
        busy = _polls(new, max(3, repeats))
        _provision_all(old, new)
        idle = _compare("idle", old, new, selection, repeats)
        if idle["due"]:
            sys.exit(f"{name}: {idle['due']} meetings look changed to the new code on a table the old code provisioned")
        results.append(idle)
        results.append({"case": "pending_work, idle", "new": _polls(new, 20), "due": 0})
        results.append({"case": "pending_work, fresh", "new": busy, "due": n})
        for result in results:
            result["backend"] = name
            print(json.dumps({k: v for k, v in result.items()}), flush=True)
        new.engine.dispose()
        return results


def _ms(values: list[float] | None) -> str:
    if not values:
        return "-"
    return f"{1000 * statistics.median(values):.0f} (min {1000 * min(values):.0f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale.table_compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--rev", default=LAST_TABLE_MODULE, help=f"the old version's git revision (default {LAST_TABLE_MODULE})"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="table-compare-") as scratch:
        for backend in args.backends.split(","):
            results += _run_backend(backend, args.n, args.repeats, args.rev, Path(scratch))
    lines = [
        f"| {r['backend']} | {r['case']} | {r['due']:,} | {_ms(r.get('old'))} | {_ms(r['new'])} | "
        + (f"{statistics.median(r['new']) / statistics.median(r['old']):.2f}x |" if r.get("old") else "- |")
        for r in results
    ]
    revision = harness.git("rev-parse", "--short", args.rev)
    text = (
        f"# MeetingsTable on SQLAlchemy Core vs {args.rev} ({revision})\n\n"
        f"Run {datetime.now(UTC).isoformat(timespec='seconds')} with `python -m bench.scale.table_compare "
        f"--n {args.n} --repeats {args.repeats}`: {args.n:,} meetings over 25 days. *fresh*: nothing provisioned "
        "(every meeting due); *idle*: every meeting provisioned and unchanged (the plan fingerprints every row, "
        "nothing is due). `select_due_ids` is the plan's selection (rolling window), old and new alternately in one "
        "process; `pending_work` is the freshness trigger's poll (new only; goal <= 50 ms idle). Milliseconds: "
        "median (min). Shared machine (2 cores, other jobs running): compare within a row.\n\n"
        "| database | case | due | old ms | new ms | new / old |\n|---|---|---:|---:|---:|---:|\n"
        + "\n".join(lines)
        + "\n"
    )
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
