"""The scale benchmark's subprocess side: ``python -m bench.scale.worker seed|per-room|naive|parse --out
result.json``, in the environment the orchestrator gives it (``AIRFLOW_HOME``, connections and the Variable
as env vars): seed the meetings table (one-off or weekly series), variant (b) (the provisioning steps with
``per_room`` on, no new chunk after ``--budget`` s), variant (c) (one ``POST /rooms`` per meeting with
``requests``), or one DAG file's parse time (cold, warm, modules pulled in). May import: the standard
library, ``bench.harness.report``, requests, psycopg2, Airflow, the provider, the application, ``daily_demo``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness.report import save_json

# modules whose import at parse time the DAG structure never needs (issue 8: "no provider or HTTP
# import at DAG top level that the DAG structure does not need")
HEAVY_AT_PARSE = (
    "airflow.providers.http",
    "aiohttp",
    "requests",
    "airflow_provider_daily.hooks.daily",
    "airflow_provider_daily.bulk",
    "daily_dialin.provisioning.table",
    "airflow.providers.common.sql",
)


# -- seed ------------------------------------------------------------------------------------
def seed(args: argparse.Namespace) -> dict[str, Any]:
    from daily_demo.sample import insert_meetings, sample_meetings, sample_series_set
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    started = time.perf_counter()
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    series = args.n // args.series_size if args.series_size else 0
    if args.series_size:
        meetings = sample_series_set(series=series, occurrences=args.series_size)
    else:  # every meeting gets a room: N rooms per run
        meetings = [{**m, "status": "scheduled"} for m in sample_meetings(count=args.n, pin_number=None)]
    inserted = insert_meetings(table, meetings)
    return {"inserted": inserted, "series": series, "seconds": time.perf_counter() - started}


# -- (b) our engine, batching off ------------------------------------------------------------
def per_room(args: argparse.Namespace) -> dict[str, Any]:
    """``plan``, then ``provision_chunk`` chunk after chunk (as ``airflow dags test`` runs them), with
    the settings of the ``daily_provisioning`` Variable the orchestrator sets (``per_room``). After
    ``--budget`` seconds no new chunk starts (the first always runs)."""
    from daily_dialin.provisioning import steps

    started = time.monotonic()
    planned = steps.plan(params={}, run_type="manual", logical_date=None)
    plan_seconds = time.monotonic() - started
    chunk_seconds: list[float] = []
    counts: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    stopped = False
    for index, bounds in enumerate(planned["bounds"]):
        if index and time.monotonic() - started > args.budget:
            stopped = True
            break
        chunk_started = time.monotonic()
        try:
            result = steps.provision_chunk(index=index, bounds=bounds, run=planned["run"])
        except steps.Interrupted as exc:  # a chunk error is a result too
            errors[f"{type(exc.cause).__name__}: {str(exc.cause)[:200]}"] += 1
            result = exc.result.to_xcom()
        except Exception as exc:
            errors[f"{type(exc).__name__}: {str(exc)[:200]}"] += 1
            result = {"counts": {}}
        chunk_seconds.append(time.monotonic() - chunk_started)
        counts.update(result["counts"])
    done = sum(counts.values())
    return {
        "config": planned["run"]["config"],
        "selected": planned["run"]["selected"],
        "attempted": done,
        "rooms_done": done - counts.get("failed", 0),
        "counts": dict(counts),
        "stopped_at_budget": stopped,
        "chunks_run": len(chunk_seconds),
        "chunk_count": planned["run"]["chunk_count"],
        "plan_seconds": plan_seconds,
        "creation_seconds": sum(chunk_seconds),
        "errors": dict(errors),
        "seconds": time.monotonic() - started,
    }


# -- (c) the naive loop ----------------------------------------------------------------------
def _meetings_rows() -> list[tuple[str, str, Any]]:
    conn_info = json.loads(os.environ["AIRFLOW_CONN_DAILY_MEETINGS_DB"])
    sql = "SELECT meeting_id, title, ends_at FROM daily_meetings WHERE status = 'scheduled' ORDER BY meeting_id"
    if conn_info["conn_type"] == "sqlite":
        import sqlite3

        conn = sqlite3.connect(conn_info["host"])
    else:
        import psycopg2

        info = {"host": conn_info["host"], "port": conn_info["port"], "user": conn_info["login"]}
        conn = psycopg2.connect(**info, dbname=conn_info["schema"])
    with contextlib.closing(conn):
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetchall()


def _unix(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def naive(args: argparse.Namespace) -> dict[str, Any]:
    import requests

    conn = json.loads(os.environ["AIRFLOW_CONN_DAILY_DEFAULT"])
    started = time.monotonic()
    deadline = started + args.budget
    rows = _meetings_rows()
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    stopped = False
    with requests.Session() as session:
        session.trust_env = False  # loopback only
        session.headers["Authorization"] = f"Bearer {conn['password']}"
        for meeting_id, title, ends_at in rows:
            if time.monotonic() > deadline:
                stopped = True
                break
            exp = int(_unix(ends_at) + timedelta(hours=1).total_seconds())
            body = {
                "name": f"naive-{meeting_id}".lower(),
                "properties": {"exp": exp, "dialin": {"display_name": title, "wait_for_meeting_start": True}},
            }
            try:
                response = session.post(f"{conn['host']}/rooms", json=body, timeout=30)
            except requests.RequestException as exc:
                errors[type(exc).__name__] += 1
                continue
            statuses[response.status_code] += 1
    return {
        "selected": len(rows),
        "attempted": sum(statuses.values()) + sum(errors.values()),
        "rooms_done": statuses.get(200, 0),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": dict(errors),
        "stopped_at_budget": stopped,
        "seconds": time.monotonic() - started,
    }


# -- DAG-file parse time ---------------------------------------------------------------------
def parse(args: argparse.Namespace) -> dict[str, Any]:
    path = Path(args.file).resolve()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(path.parent / "__no_such_folder__"), collect_dags=False)
    before = set(sys.modules)
    started = time.perf_counter()
    found = bag.process_file(str(path), only_if_updated=False, safe_mode=False)
    cold = time.perf_counter() - started
    pulled = sorted(m for m in set(sys.modules) - before if m.startswith(HEAVY_AT_PARSE))
    warm = []
    for _ in range(args.warm_repeats):
        started = time.perf_counter()
        bag.process_file(str(path), only_if_updated=False, safe_mode=False)
        warm.append(time.perf_counter() - started)
    return {
        "file": path.name,
        "dags": [dag.dag_id for dag in found],
        "import_errors": {k: str(v)[:500] for k, v in bag.import_errors.items()},
        "cold_seconds": cold,
        "warm_seconds": statistics.median(warm) if warm else None,
        "heavy_imports": [m for m in pulled if m in HEAVY_AT_PARSE],
        "modules_imported": len(set(sys.modules) - before),
    }


COMMANDS = {"seed": seed, "per-room": per_room, "naive": naive, "parse": parse}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale.worker")
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=0)
    parser.add_argument("--series-size", type=int, default=0)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--file")
    parser.add_argument("--warm-repeats", type=int, default=5)
    args = parser.parse_args(argv)
    save_json(COMMANDS[args.command](args), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
