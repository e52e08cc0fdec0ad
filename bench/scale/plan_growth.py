"""The plan at 10,000, 100,000 and 1,000,000 meetings, without a 20-minute run: does anything in it grow
faster than N? ``python -m bench.scale.plan_growth [--n 10000,100000,1000000]`` times ``steps.plan`` and
``publish_plan`` on a SQLite table (fresh, then idle), the allocation peak (tracemalloc, a second plan) and
every hand-over a chunk task receives; prints the table and writes ``bench/results/plan-growth.md``.
May import: the standard library and the application.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results" / "plan-growth.md"
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]


def _fill(path: Path, n: int, *, provisioned: bool) -> None:
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.meetings import room_fingerprint, room_name_for

    config = ProvisioningConfig()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM daily_meetings")
        rows = []
        for i in range(n):
            begins = start + timedelta(minutes=i % 10_000)
            row = {
                "meeting_id": f"M{i:07d}",
                "title": f"Meeting {i}",
                "starts_at": f"{begins:%Y-%m-%d %H:%M:%S}",
                "ends_at": f"{begins + timedelta(hours=1):%Y-%m-%d %H:%M:%S}",
                "timezone": ZONES[i % len(ZONES)],
                "status": "scheduled",
                "wait_for_meeting_start": 1,
            }
            if provisioned:
                row.update(
                    room_name=room_name_for(row["meeting_id"], config.room_name_prefix),
                    provisioned_at=f"{start:%Y-%m-%d %H:%M:%S}",
                    room_fingerprint=room_fingerprint(row, config),
                )
            rows.append(row)
        columns = list(rows[0])
        db.executemany(
            f"INSERT INTO daily_meetings ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [[row[c] for c in columns] for row in rows],
        )


def _plan(label: str, n: int) -> dict[str, object]:
    from daily_dialin.provisioning import steps

    def once() -> tuple[dict[str, Any], dict[str, Any], list[int]]:
        pushed: dict[str, Any] = {}
        params = {"mode": "auto", "dry_run": False, "force": False}
        result = steps.plan(params=params, run_type="manual", logical_date=None)
        run = steps.publish_plan(result, pushed.__setitem__)
        return run, pushed, steps.chunk_numbers(run)

    began = time.perf_counter()  # timed without tracemalloc (it slows allocation 2-3x) ...
    once()
    seconds = time.perf_counter() - began
    tracemalloc.start()  # ... then again for the allocation peak
    run, pushed, numbers = once()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    one_chunk = json.dumps(pushed[steps.chunk_key(0)]) if pushed else "null"
    return {
        "table": label,
        "n": n,
        "selected": run["selected"],
        "chunks": run["chunk_count"],
        "plan_s": seconds,
        "us_per_meeting": seconds / n * 1e6,
        "peak_mib": peak / 2**20,
        "bytes_per_meeting": peak / n,
        "run_xcom_b": len(json.dumps(run)),
        "mapped_list_b": len(json.dumps(numbers)),
        "one_chunk_b": len(one_chunk),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale.plan_growth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="10000,100000,1000000", help="comma-separated meeting counts")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.n.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="plan-growth-") as scratch:
        path = Path(scratch) / "meetings.db"
        os.environ["AIRFLOW_CONN_DAILY_MEETINGS_DB"] = json.dumps({"conn_type": "sqlite", "host": str(path)})
        os.environ["AIRFLOW_VAR_DAILY_PROVISIONING"] = "{}"
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
        from daily_dialin.provisioning.config import ProvisioningConfig
        from daily_dialin.provisioning.table import MeetingsTable

        MeetingsTable.from_config(ProvisioningConfig()).create_schema()
        _fill(path, 100, provisioned=False)
        _plan("warm-up", 100)  # imports and first connections, not counted
        for n in sizes:
            for provisioned, label in ((False, "fresh"), (True, "idle")):
                _fill(path, n, provisioned=provisioned)
                results.append(_plan(label, n))
                print(json.dumps(results[-1]), flush=True)
    header = (
        "| table | N | due | chunks | plan s | µs / meeting | peak MiB (tracemalloc) | bytes / meeting "
        "| run XCom B | mapped list B | one chunk's bounds B |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r['table']} | {r['n']:,} | {r['selected']:,} | {r['chunks']:,} | {r['plan_s']:.2f} | "
        f"{r['us_per_meeting']:.1f} | {r['peak_mib']:.1f} | {r['bytes_per_meeting']:.0f} | {r['run_xcom_b']:,} | "
        f"{r['mapped_list_b']:,} | {r['one_chunk_b']} |"
        for r in results
    ]
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = (
        f"# The plan as N grows (issue 8: linear to a million)\n\nRun {stamp} with `python -m bench.scale.plan_growth` "
        "(SQLite table, provider defaults: chunks of 5,000). *fresh*: every meeting due; *idle*: every meeting "
        "provisioned and unchanged (the moved-meeting check reads them all, nothing is due). *plan s* is timed "
        "without tracemalloc; the peak comes from a second, traced plan of the same table.\n\n"
        + header
        + "\n".join(lines)
        + "\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
