"""Seconds for every check of the doctor (:func:`daily_dialin.doctor.diagnose`, what ``python -m daily_dialin
doctor`` runs): ``python -m bench.doctor [--rows N] [--repeat K] [--backends sqlite,postgres]``, on a meetings
table of N rows seeded (not timed) over 300 days with something for each check to find, beside the emulator;
``diagnose()`` K times, the table part alone and a fresh command. Writes ``bench/results/doctor.md`` (``--out``).

May import: the application, the emulator, ``daily_devtools``, ``bench.harness`` and the standard library.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import cli
from bench.harness import run as harness
from bench.harness.report import table as md_table
from bench.harness.report import verdict

REPO = harness.REPO
KEY = "bench-doctor-key-0123456789"
NUMBER = "+12095550100"
GOAL_S = 5.0


def _airflow_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="bench-doctor-airflow-"))
    from cryptography.fernet import Fernet

    os.environ.update(harness.airflow_env(home), AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"))
    os.environ.update(
        AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(), AIRFLOW__CORE__TEST_CONNECTION="Enabled"
    )
    return home


def _prepare_airflow() -> None:
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.resetdb()
    Pool.create_or_update_pool("daily_api", slots=2, description="Daily API", include_deferred=False)


def _rows(table: Any, n: int, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        starts = now + timedelta(hours=2 + (i * 7200) % (300 * 24 * 3600) / 3600)
        if i % 1000 == 500:
            starts = now + timedelta(days=400)
        status = "confirmed" if i % 200 == 199 else "scheduled"
        rows.append(
            {
                "meeting_id": f"B{i:06d}",
                "title": f"Meeting {i}",
                "starts_at": table.ts(starts),
                "ends_at": table.ts(starts + timedelta(hours=1)),
                "timezone": "UTC",
                "wait_for_meeting_start": True,
                "requested_phone_number": NUMBER,
                "status": status,
                "series_id": f"S{i // 50:05d}" if i % 50 < 4 else None,
                "attempts": 0,
            }
        )
    return rows


def _seed(table: Any, n: int, now: datetime) -> float:
    started = time.perf_counter()
    table.create_schema()
    rows = _rows(table, n, now)
    with table.engine.begin() as conn:
        for first in range(0, len(rows), 5000):
            conn.execute(table.meetings.insert(), rows[first : first + 5000])
    with table.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def _table(conn: dict[str, Any]) -> Any:
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    os.environ["AIRFLOW_CONN_DAILY_MEETINGS_DB"] = json.dumps(conn)
    return MeetingsTable.from_config(ProvisioningConfig())


def _time(repeat: int, now: datetime) -> dict[str, Any]:
    from daily_dialin.doctor import DoctorOptions, checks_table, diagnose
    from daily_dialin.doctor.report import exit_code
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    totals, tables, checks = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        checks = diagnose(DoctorOptions(), now=now)
        totals.append(time.perf_counter() - started)
        started = time.perf_counter()
        table = MeetingsTable.from_config(ProvisioningConfig())
        checks_table.run(table, now=now)
        checks_table.demand(table, now)
        tables.append(time.perf_counter() - started)
    found = {f"{c.area}/{c.name}": c.status for c in checks if c.status != "ok"}
    return {
        "total_s": totals,
        "table_s": tables,
        "exit_code": exit_code(checks),
        "not_ok": found,
        "statuses": [f"{c.area}/{c.name}: {c.status} - {c.why}" for c in checks],
    }


def _cli_seconds() -> float:
    """The command itself, a fresh process (imports included)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "daily_dialin", "doctor", "--json"], capture_output=True, check=False)
    return time.perf_counter() - started


def _backend(name: str, stack: ExitStack, tmp: Path) -> dict[str, Any]:
    if name == "sqlite":
        return {"conn_type": "sqlite", "host": str(tmp / "meetings.db")}
    return harness.postgres_database(stack, "bench_doctor")


def run(args: argparse.Namespace) -> dict[str, Any]:
    _airflow_home()
    _prepare_airflow()
    from daily_emulator import EmulatorServer, EmulatorSettings

    results: dict[str, Any] = {}
    settings = EmulatorSettings(api_keys=[KEY], domain="bench", purchased_numbers=[NUMBER, "+12095550101"])
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-doctor-") as tmp:
        server = stack.enter_context(EmulatorServer(settings=settings))
        os.environ["AIRFLOW_CONN_DAILY_DEFAULT"] = json.dumps(
            {"conn_type": "daily", "host": server.base_url, "password": KEY}
        )
        for backend in args.backends:
            now = datetime.now(UTC).replace(microsecond=0)
            table = _table(_backend(backend, stack, Path(tmp)))
            seeded = _seed(table, args.rows, now)
            results[backend] = {"rows": args.rows, "seed_s": seeded, **_time(args.repeat, now)}
            results[backend]["cli_s"] = _cli_seconds()
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    commit = harness.git("rev-parse", "--short", "HEAD") or "unknown"
    lines = [
        "# Doctor: seconds for every check at 100,000 rows",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%dT%H:%M:%S+00:00} on commit `{commit}` (working tree); "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; `python -m bench.doctor --rows {args.rows} "
        f"--repeat {args.repeat}`.",
        "",
        "`diagnose()` is every check of `python -m daily_dialin doctor` (settings, Airflow's metadata DB, the "
        "table, Daily through the emulator over HTTP); *table part* is the table checks and the table's demand "
        "alone; *command* is a fresh `python -m daily_dialin doctor --json` process, imports included. The "
        "Daily part lists the domain's live rooms (`GET /rooms`, 100 per page): here the emulator holds none, "
        "so a domain with 10,000 live rooms adds 100 paced requests (about 5 s at Daily's rate limit).",
        "",
    ]
    rows = []
    for backend, r in results.items():
        total, runs = statistics.median(r["total_s"]), f"{min(r['total_s']):.2f}-{max(r['total_s']):.2f}"
        found = ", ".join(f"{k}: {v}" for k, v in r["not_ok"].items()) or "all ok"
        cells = [f"{r['rows']:,}", f"{total:.2f} s ({runs})", f"{statistics.median(r['table_s']):.2f} s"]
        rows.append([backend, *cells, f"{r['cli_s']:.2f} s", verdict(max(total, r["cli_s"]) <= GOAL_S), found])
    headers = ["backend", "rows", "diagnose() median (min-max)", "table part median", "command"]
    lines.append(md_table([*headers, f"goal <= {GOAL_S:g} s", "findings"], rows, align="lrrrrll"))
    lines += ["", "The checks of the last run:", ""]
    for backend, r in results.items():
        lines += [f"**{backend}**", "", *(f"- {line}" for line in r["statuses"]), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "doctor.md")
    args = parser.parse_args(argv)
    args.backends = cli.listed(parser, args.backends, ("sqlite", "postgres"), what="backends")
    results = run(args)
    args.out.write_text(report(results, args) + "\n", encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
