"""The freshness benchmark's subprocess side: ``python -m bench.freshness.worker {seed,poll} --out result.json``,
with the environment the driver gives it (its own ``AIRFLOW_HOME``, the meetings table as
``AIRFLOW_CONN_DAILY_MEETINGS_DB``). ``seed`` tops the table up to ``--rows`` rows, already provisioned
with their fingerprints set (``--create``: the shipped schema first; ``--copy-from CONN_JSON``: the rows
of another table); ``poll`` times ``MeetingsTable.pending_work`` ``--polls`` times as the watcher calls
it, with and without ``MeetingsTable.from_config`` first.

May import: the standard library, psycopg2, ``bench.harness.run``, the provider and the application.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness.run import percentiles

LOOK_AHEAD = timedelta(hours=48)
PIN_NUMBER = "+12095550100"
SEED_BATCH = 5000
# generated rows are inserted with an ignored status, so a watcher polling meanwhile never sees a
# provisioned row without its fingerprint ("changed" work); one UPDATE makes them all scheduled at once
STAGING_STATUS = "draft"


def _table(*, create: bool = False) -> Any:
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    table = MeetingsTable.from_config(ProvisioningConfig())
    if create:
        table.create_schema()
    return table


def _count(table: Any) -> int:
    with contextlib.closing(table.hook.get_conn()) as conn:
        cur = conn.cursor()
        cur.execute(f"SELECT COUNT(*) FROM {table.table}")
        return int(cur.fetchone()[0])


def _generated_rows(count: int, *, prefix: str, config: Any, now: datetime) -> list[dict[str, Any]]:
    from airflow_provider_daily.rooms import room_name_for
    from daily_dialin.provisioning.meetings import room_exp_for

    rng = random.Random(11)  # the columns left out are NULL (``_insert``)
    base = now.replace(minute=0, second=0, microsecond=0)
    rows = []
    for index in range(count):
        meeting_id = f"{prefix}{index:06d}"
        day = base + timedelta(days=1 + (index * 28) // max(count, 1))
        start = day.replace(hour=rng.choice((9, 11, 13, 14, 15, 16, 17)), minute=rng.choice((0, 30)))
        end = start + timedelta(minutes=rng.choice((30, 45, 60, 90)))
        name = room_name_for(config.room_name_prefix, meeting_id)
        pin = f"{index + 10_000_000_000:011d}"[-11:]
        rows.append(
            {
                "meeting_id": meeting_id,
                "title": f"Idle meeting {index}",
                "starts_at": start,
                "ends_at": end,
                "timezone": "UTC",
                "wait_for_meeting_start": True,
                "status": STAGING_STATUS,  # made "scheduled" once the fingerprints are set (see seed)
                "room_name": name,
                "room_url": f"https://bench.daily.co/{name}",
                "dialin_pin": pin,
                "dialin_number": PIN_NUMBER,
                "dial_string": f"tel:{PIN_NUMBER},,{pin}",
                "provisioned_at": now,
                "room_exp": room_exp_for(end, config),
                "attempts": 0,
            }
        )
    return rows


def _copied_rows(conn_json: str) -> list[dict[str, Any]]:
    """Every row of another meetings table (a PostgreSQL connection as JSON), as logical dicts."""
    import psycopg2
    import psycopg2.extras

    info = json.loads(conn_json)
    conn = psycopg2.connect(
        host=info["host"],
        port=info["port"],
        user=info["login"],
        password=info.get("password"),
        dbname=info["schema"],
    )
    with contextlib.closing(conn):
        cur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
        cur.execute("SELECT * FROM daily_meetings")
        return [dict(row) for row in cur.fetchall()]


def _insert(table: Any, rows: list[dict[str, Any]]) -> None:
    from daily_dialin.provisioning.config import SOURCE_COLUMNS, WRITTEN_COLUMNS

    columns = [*SOURCE_COLUMNS, *WRITTEN_COLUMNS]
    names = ", ".join(table.cols[c] for c in columns)
    sql = f"INSERT INTO {table.table} ({names}) VALUES ({', '.join([table.ph] * len(columns))})"

    def value(v: Any) -> Any:
        if isinstance(v, datetime):
            return table.ts(v)
        if isinstance(v, bool) and table.is_sqlite:
            return int(v)
        return v

    with contextlib.closing(table.hook.get_conn()) as conn:
        cur = conn.cursor()
        for start in range(0, len(rows), SEED_BATCH):
            batch = [tuple(value(row.get(c)) for c in columns) for row in rows[start : start + SEED_BATCH]]
            cur.executemany(sql, batch)  # psycopg 3 (the hook's driver) pipelines executemany
        conn.commit()


def _fix_fingerprints(table: Any) -> int:
    """Set ``room_fingerprint`` of every provisioned row from the row as the table reads it (``read_all``:
    the read path the DAG and the watcher use); returns the rows changed."""
    updates = [
        (row.fingerprint(table.config), row.meeting_id)
        for row in table.read_all()
        if row.is_provisioned and row.get("room_fingerprint") != row.fingerprint(table.config)
    ]
    sql = (
        f"UPDATE {table.table} SET {table.cols['room_fingerprint']} = {table.ph} "
        f"WHERE {table.cols['meeting_id']} = {table.ph}"
    )
    with contextlib.closing(table.hook.get_conn()) as conn:
        cur = conn.cursor()
        cur.executemany(sql, updates)
        conn.commit()
    return len(updates)


def _release(table: Any, prefix: str) -> None:
    status, meeting_id = table.cols["status"], table.cols["meeting_id"]
    with contextlib.closing(table.hook.get_conn()) as conn:
        conn.cursor().execute(
            f"UPDATE {table.table} SET {status} = 'scheduled' WHERE {status} = '{STAGING_STATUS}' "
            f"AND {meeting_id} LIKE {table.ph}",
            (f"{prefix}%",),
        )
        conn.commit()


def _pending(table: Any) -> Any:
    kwargs = {"now": datetime.now(UTC), "horizon_days": table.config.horizon_days, "look_ahead": LOOK_AHEAD}
    try:
        from daily_dialin.freshness.pending import pending_work
    except ImportError:  # a tree from before the poll moved beside the watcher (an A/B run)
        return table.pending_work(**kwargs)
    return pending_work(table, **kwargs)


def _work_dict(work: Any) -> dict[str, Any]:
    return {"new": work.new, "changed": work.changed, "cancelled": work.cancelled, "any": bool(work.any)}


def seed(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    table = _table(create=args.create)
    before = _count(table)
    if args.copy_from:
        rows = _copied_rows(args.copy_from)
    else:
        rows = _generated_rows(
            max(0, args.rows - before), prefix=args.prefix, config=table.config, now=datetime.now(UTC)
        )
    _insert(table, rows)
    inserted_s = time.perf_counter() - started
    fixed = _fix_fingerprints(table)
    if not args.copy_from:
        _release(table, args.prefix)
    if not table.is_sqlite:
        with contextlib.closing(table.hook.get_conn()) as conn:
            conn.autocommit = True
            conn.cursor().execute(f"ANALYZE {table.table}")
    result: dict[str, Any] = {
        "rows_before": before,
        "inserted": len(rows),
        "rows_after": _count(table),
        "fingerprints_set": fixed,
        "insert_s": inserted_s,
        "seconds": time.perf_counter() - started,
    }
    try:
        result["pending_after"] = _work_dict(_pending(table))
    except Exception as exc:  # pending_work missing or failing: the poll step reports it too
        result["pending_after"] = {"error": f"{type(exc).__name__}: {exc}"}
    return result


def _summary(values: list[float]) -> dict[str, Any]:
    """Milliseconds per poll: n, p50, p95, max, mean (:func:`bench.harness.run.percentiles`), min and the first."""
    return {**percentiles(values, unit="ms", scale=1000), "min_ms": 1000 * min(values), "first_ms": 1000 * values[0]}


def poll(args: argparse.Namespace) -> dict[str, Any]:
    table = _table()
    rows = _count(table)
    work = _pending(table)  # warm-up: imports, first connection
    only: list[float] = []
    for _ in range(args.polls):
        started = time.perf_counter()
        work = _pending(table)
        only.append(time.perf_counter() - started)
    built: list[float] = []
    for _ in range(args.polls):
        started = time.perf_counter()
        work = _pending(_table())
        built.append(time.perf_counter() - started)
    return {
        "rows": rows,
        "dialect": "sqlite" if table.is_sqlite else "postgres",
        "pending_work": _summary(only),
        "with_from_config": _summary(built),
        "work": _work_dict(work),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.freshness.worker")
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed")
    p_seed.add_argument("--rows", type=int, default=100_000)
    p_seed.add_argument("--prefix", default="IDLE")
    p_seed.add_argument("--create", action="store_true")
    p_seed.add_argument("--copy-from")
    p_poll = sub.add_parser("poll")
    p_poll.add_argument("--polls", type=int, default=20)
    for p in (p_seed, p_poll):
        p.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = {"seed": seed, "poll": poll}[args.command](args)
    args.out.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
