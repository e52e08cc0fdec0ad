"""The benchmark's subprocess side: ``python -m bench.scale.worker COMMAND --out result.json``.

Runs with the environment the orchestrator gives it (``AIRFLOW_HOME``, the ``daily_default`` and
``daily_meetings_db`` connections, the ``daily_provisioning`` Variable as env vars) and writes one
JSON result. Commands:

``seed``      create the shipped meetings table and insert N sample meetings (all ``scheduled``,
              starting over the next 28 days, nine time zones: ``daily_demo.sample``); with
              ``--series-size S``, N // S weekly series of S occurrences each instead
              (``sample_series_set``: every row has a ``series_id``).
``per-room``  variant (b), our engine with batching off: the provisioning steps as the DAG runs
              them (``plan``, then ``provision_chunk`` for every chunk: read rows, validate, create,
              write back) with the engine's ``per_room`` setting on (one ``POST /rooms`` per
              meeting, paced by the hook). No new chunk after ``--budget`` seconds; the
              orchestrator projects the rest from the rate kept.
``naive``     variant (c), the loop a user writes today: read the meetings, one ``POST /rooms``
              each with ``requests``, no pacing, no retry; counts the answers by status.
``parse``     parse one DAG file with ``DagBag`` in this fresh interpreter: cold (first time,
              bytecode on disk) and warm (again, imports cached), and the modules the parse pulled in.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


def _write(out: Path, result: dict[str, Any]) -> None:
    out.write_text(json.dumps(result, indent=1, default=str))


# -- seed ------------------------------------------------------------------------------------
def seed(args: argparse.Namespace) -> dict[str, Any]:
    from daily_demo.sample import insert_meetings, sample_meetings, sample_series_set
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    started = time.perf_counter()
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    if args.series_size:
        series = args.n // args.series_size
        meetings = sample_series_set(series=series, occurrences=args.series_size)
    else:
        series = 0
        meetings = sample_meetings(count=args.n, pin_number=None)
        for meeting in meetings:
            meeting["status"] = "scheduled"  # every meeting gets a room: N rooms per run
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
        except steps.ChunkInterrupted as exc:  # a chunk error is a result too
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

        with sqlite3.connect(conn_info["host"]) as conn:
            return conn.execute(sql).fetchall()
    import psycopg2

    conn = psycopg2.connect(
        host=conn_info["host"], port=conn_info["port"], user=conn_info["login"], dbname=conn_info["schema"]
    )
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetchall()
    finally:
        conn.close()


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
    attempted = sum(statuses.values()) + sum(errors.values())
    return {
        "selected": len(rows),
        "attempted": attempted,
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
    _write(args.out, COMMANDS[args.command](args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
