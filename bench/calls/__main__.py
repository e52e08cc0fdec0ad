"""The calls loop's ingest and fold (issue 24): ``python -m bench.calls [--n N] [--connections C]
[--backends sqlite,postgres] [--fallback-meetings K]``. Per meetings database: N signed events into the
webhook receiver served standalone by uvicorn (:mod:`bench.calls.serve`), a replay of all of them, the
fold in-process, a plain ``INSERT`` floor and the ``/meetings`` fallback (:mod:`bench.calls.fallback`);
writes ``bench/results/calls-ingest.{md,json}``. What each figure is: the report's notes.

May import: the standard library, requests, SQLAlchemy, ``daily_devtools.postgres``, ``bench.harness``,
``bench.calls`` and ``daily_dialin`` (the calls loop, provisioning's table and config).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.calls.fallback import insert_meetings, run_fallback
from bench.harness import cli
from bench.harness import report as harness_report
from bench.harness import run as harness
from bench.harness.report import ok, run_line

REPO = harness.REPO
SECRET = base64.b64encode(b"bench-calls-secret-0123456789abc").decode()
PREFIX = "mtg"
EVENTS_PER_ROOM = 10
# the figure columns docs/calls.md adds (TIMESTAMPTZ is TEXT on SQLite)
FIGURE_COLUMNS = {"phone_callers": "INTEGER", "phone_minutes": "REAL", "first_dialin_at": "TIMESTAMPTZ"}
FIGURE_COLUMNS |= {"last_dialin_error": "TEXT", "actual_end_at": "TIMESTAMPTZ"}
FIGURE_COLUMNS |= {"participants": "INTEGER", "participant_minutes": "REAL"}


# -- events ---------------------------------------------------------------------------------------
def _room_events(k: int, t0: float) -> list[dict[str, Any]]:
    room, at = f"{PREFIX}-bench{k:05d}", t0 + k
    caller = lambda n: f"+1209555{(k * 2 + n) % 10000:04d}"  # noqa: E731
    phone = lambda kind, s, t: (  # noqa: E731
        kind,
        {"timestamp": at + t, "session_id": f"s{k}-{s}", "room": room, "sip_from": caller(s), "domain_id": "d"},
    )
    person = lambda kind, s, t, d=None: (  # noqa: E731
        kind,
        {"joined_at": at, "session_id": f"p{k}-{s}", "room": room, **({"duration": d} if d else {})},
    )
    steps = [
        ("meeting.started", {"start_ts": at, "meeting_id": f"dm{k}", "room": room}),
        person("participant.joined", 0, 0),
        phone("dialin.connected", 1, 5),
        phone("dialin.connected", 2, 9),
        person("participant.joined", 1, 5),
        phone("dialin.stopped", 1, 65),
        person("participant.left", 1, 65, 60),
        phone("dialin.stopped", 2, 129),
        person("participant.left", 0, 140, 140),
        ("meeting.ended", {"start_ts": at, "end_ts": at + 140, "meeting_id": f"dm{k}", "room": room}),
    ]
    return [
        {"version": "1.0.0", "type": kind, "id": f"bench-{k}-{n}", "payload": payload, "event_ts": at + n}
        for n, (kind, payload) in enumerate(steps)
    ]


def make_bodies(n: int, t0: float) -> list[bytes]:
    rooms = -(-n // EVENTS_PER_ROOM)
    events = [event for k in range(rooms) for event in _room_events(k, t0)][:n]
    return [json.dumps(event, separators=(",", ":")).encode() for event in events]


def signed_headers(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(base64.b64decode(SECRET), f"{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": base64.b64encode(digest).decode(),
    }


# -- the client -----------------------------------------------------------------------------------
def send_all(url: str, bodies: list[bytes], connections: int) -> dict[str, Any]:
    """POST every body with ``connections`` threads (one keep-alive session each); latencies in ms."""
    order = itertools.count()
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def worker() -> None:
        mine, seen = [], Counter()
        with requests.Session() as session:
            while (i := next(order)) < len(bodies):
                headers = signed_headers(bodies[i])
                start = time.perf_counter()
                response = session.post(url, data=bodies[i], headers=headers, timeout=30)
                mine.append((time.perf_counter() - start) * 1000.0)
                seen[f"{response.status_code} {response.json().get('status', response.json().get('error'))}"] += 1
        with lock:
            latencies.extend(mine)
            outcomes.update(seen)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return {"wall_s": wall, "events_per_s": len(bodies) / wall, **percentiles(latencies), "answers": dict(outcomes)}


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": statistics.median(values), "p95_ms": cuts[94], "p99_ms": cuts[98], "max_ms": max(values)}


# -- the receiver in a subprocess -------------------------------------------------------------------
def start_receiver(env: dict[str, str], *, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """The receiver under uvicorn in its own process (on ``port``, default a free one), once it answers."""
    if port is None:
        from daily_devtools.postgres import _free_port

        port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.calls.serve", str(port)], env=env, cwd=REPO, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/daily/webhooks"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.post(url, data=b'{"test":"test"}', timeout=2).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(f"the receiver exited: {proc.stderr.read().decode()[-2000:]}")
    proc.kill()
    raise RuntimeError("the receiver did not start within 60 s")


def warm_up(url: str, count: int = 20) -> None:
    """A few events of a room without a meeting row before timing: the receiver's first request
    reads the connection and settings through Airflow and opens the database (seconds, once)."""
    for n in range(count):
        event = {"version": "1.0.0", "type": "meeting.started", "id": f"warmup-{n}", "event_ts": time.time()}
        body = json.dumps({**event, "payload": {"room": f"{PREFIX}-warmup", "meeting_id": "w"}}).encode()
        assert requests.post(url, data=body, headers=signed_headers(body), timeout=60).status_code == 200


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- databases --------------------------------------------------------------------------------------
def prepare_meetings(n: int, t0: float) -> Any:
    """The meetings table (shipped schema + figure columns) with one row per benchmark room."""
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    timestamp = "TIMESTAMPTZ" if table.engine.dialect.name == "postgresql" else "TEXT"
    with table.engine.begin() as conn:
        for name, kind in FIGURE_COLUMNS.items():
            conn.exec_driver_sql(
                f"ALTER TABLE {table.table} ADD COLUMN {name} {kind.replace('TIMESTAMPTZ', timestamp)}"
            )
    at = lambda seconds: datetime.fromtimestamp(seconds, UTC)  # noqa: E731
    rooms = range(-(-n // EVENTS_PER_ROOM))
    insert_meetings(table, [(f"B{k}", at(t0 + k - 60), at(t0 + k + 3600), f"{PREFIX}-bench{k:05d}") for k in rooms])
    return table


def stored_counts(engine: Any) -> dict[str, int]:
    import sqlalchemy as sa

    query = sa.text("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM daily_call_events WHERE event_id LIKE :pattern")
    with engine.connect() as conn:
        rows, distinct = conn.execute(query, {"pattern": "bench-%"}).one()
    return {"rows": int(rows), "distinct_ids": int(distinct)}


def fold_once(table: Any) -> dict[str, Any]:
    from daily_dialin.calls import process

    start = time.perf_counter()
    summary = process.fold_events()
    seconds = time.perf_counter() - start
    with table.engine.connect() as conn:
        filled = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table.table} WHERE phone_callers = 2").scalar()
        rows = conn.exec_driver_sql("SELECT COUNT(*) FROM daily_calls").scalar()
    return {
        "seconds": seconds,
        "events": summary["events"],
        "events_per_s": summary["events"] / seconds if seconds else None,
        "calls": int(rows),  # the table (the fold's summary counts a room split over two batches twice)
        "calls_in_summary": summary["calls"],
        "meetings_with_figures": int(filled),
        "pending_after": summary["pending"],
    }


def plain_inserts(engine: Any, bodies: list[bytes]) -> dict[str, Any]:
    """The floor: one ``INSERT`` + commit per event, sequential, no HTTP / signature / parsing."""
    import sqlalchemy as sa

    metadata = sa.MetaData()
    plain = sa.Table(
        "bench_plain_events",
        metadata,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(200), nullable=False, unique=True),
        sa.Column("payload", sa.Text, nullable=False),
    )
    metadata.create_all(engine)
    latencies = []
    start = time.perf_counter()
    for body in bodies:
        event_id = json.loads(body)["id"]
        began = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.insert(plain).values(event_id=event_id, payload=body.decode()))
        latencies.append((time.perf_counter() - began) * 1000.0)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "events_per_s": len(bodies) / wall, **percentiles(latencies)}


# -- one backend ----------------------------------------------------------------------------------------
def child_env(home: Path, meetings_conn: dict[str, Any]) -> dict[str, str]:
    daily = {
        "conn_type": "daily",
        "host": "http://127.0.0.1:9/v1",
        "password": "k",
        "extra": {"webhook_secret": SECRET},
    }
    env = harness.airflow_env(home, daily_default=daily, daily_meetings_db=meetings_conn)
    return harness.clean_env(REPO) | env | {"AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}


def run_backend(
    name: str, meetings_conn: dict[str, Any], home: Path, n: int, connections: int, fallback_meetings: int
) -> dict[str, Any]:
    env = child_env(home, meetings_conn)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AIRFLOW")})
    t0 = time.time() - 7200
    bodies = make_bodies(n, t0)
    table = prepare_meetings(n, t0)
    proc, url = start_receiver(env)
    try:
        warm_up(url)
        ingest = send_all(url, bodies, connections)
        after_ingest = stored_counts(table.engine)
        replay = send_all(url, bodies, connections)
        after_replay = stored_counts(table.engine)
    finally:
        stop(proc)
    fold = fold_once(table)
    floor = plain_inserts(table.engine, bodies)
    fallback = run_fallback(table, k=fallback_meetings, prefix=PREFIX) if fallback_meetings else None
    acknowledged = sum(v for k, v in ingest["answers"].items() if k.startswith("200"))
    result = {
        "backend": name,
        "n": n,
        "connections": connections,
        "ingest": ingest,
        "replay": replay,
        "stored_after_ingest": after_ingest,
        "stored_after_replay": after_replay,
        "lost": max(0, acknowledged - after_ingest["rows"]),
        "duplicates": after_replay["rows"] - after_replay["distinct_ids"],
        "replay_stored_again": replay["answers"].get("200 stored", 0),
        "fold": fold,
        "plain_insert": floor,
        "fallback": fallback,
    }
    table.engine.dispose()
    return result


# -- the report (shared with bench.calls.cluster) -------------------------------------------------------
def _f(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _answers(answers: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(answers.items()))


def _fallback(cell: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
    return lambda r: cell(r["fallback"]) if r["fallback"] else "-"


ROWS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("ack p50 (ms)", lambda r: _f(r["ingest"]["p50_ms"])),
    ("ack p95 (ms)", lambda r: _f(r["ingest"]["p95_ms"])),
    ("ack p99 (ms), goal ≤ 50", lambda r: _f(r["ingest"]["p99_ms"]) + f" ({ok(r['ingest']['p99_ms'] <= 50)})"),
    ("ack max (ms)", lambda r: _f(r["ingest"]["max_ms"])),
    (
        "events/s, goal ≥ 500",
        lambda r: _f(r["ingest"]["events_per_s"], 0) + f" ({ok(r['ingest']['events_per_s'] >= 500)})",
    ),
    ("answers", lambda r: _answers(r["ingest"]["answers"])),
    ("lost (acknowledged, not stored)", lambda r: str(r["lost"])),
    ("replay of all N: answers", lambda r: _answers(r["replay"]["answers"])),
    ("duplicates after the replay", lambda r: str(r["duplicates"] + r["replay_stored_again"])),
    ("replay p99 (ms), events/s", lambda r: f"{_f(r['replay']['p99_ms'])}, {_f(r['replay']['events_per_s'], 0)}"),
    ("fold of N stored events (s)", lambda r: _f(r["fold"]["seconds"], 2)),
    ("fold events/s", lambda r: _f(r["fold"]["events_per_s"], 0)),
    ("fold: calls, meetings with figures", lambda r: f"{r['fold']['calls']:,}, {r['fold']['meetings_with_figures']:,}"),
    (
        "floor: plain INSERT+commit p50 / p99 (ms)",
        lambda r: f"{_f(r['plain_insert']['p50_ms'], 2)} / {_f(r['plain_insert']['p99_ms'], 2)}",
    ),
    ("floor: plain INSERT events/s (1 connection)", lambda r: _f(r["plain_insert"]["events_per_s"], 0)),
]
FALLBACK_ROWS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("/meetings: ended meetings, API requests", _fallback(lambda f: f"{f['meetings']}, {f['api_requests']}")),
    ("/meetings: read (s)", _fallback(lambda f: _f(f["read_s"], 2))),
    ("/meetings: fold (s)", _fallback(lambda f: _f(f["fold_s"], 2))),
    (
        "/meetings: filled (participants + end) / phone figures",
        _fallback(lambda f: f"{f['meetings_with_participants_and_end']} / {f['meetings_with_phone_figures']}"),
    ),
]


def report(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    names = [r["backend"] for r in results]
    rows = ROWS + (FALLBACK_ROWS if any(r["fallback"] for r in results) else [])
    lines = [
        "# Calls loop: webhook ingest and fold (issue 24)",
        "",
        f"{run_line(meta)}. N = {meta['n']:,} signed events "
        f"({EVENTS_PER_ROOM} per room: meeting start/end, 2 phone calls, 2 attendances), "
        f"{meta['connections']} concurrent keep-alive connections, client and server on the same machine.",
        "",
        "**Deviation from the issue:** the receiver app is served **standalone** by uvicorn in a subprocess "
        "(mounted under `/daily` exactly as the plugin is, with the real `AirflowSources` reading the "
        "connection and settings from the environment), not inside the native cluster's Airflow API server; "
        "the events come from the benchmark's client (signed with Daily's recipe), not from the emulator. "
        "20 warm-up events go first, untimed (the first request reads the settings through Airflow: ~2 s once).",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        *(f"| {label} | " + " | ".join(cell(r) for r in results) + " |" for label, cell in rows),
        "",
        "* **ack**: client-side time from sending the request to the 200 (signature checked, event parsed, "
        "masked and committed to `daily_call_events` before the answer).",
        "* **fold**: `daily_dialin.calls.process.fold_events()` in-process over the N stored events "
        "(calls table + figure columns of the meetings table). Event → figures end to end is this plus the "
        "watcher's poll (5 s) and the DAG run's start; that part was not measured here (no scheduler).",
        "* **floor**: the same events as one `INSERT` + commit each from one connection in-process: the cost "
        "of durable storage alone.",
        "* **/meetings fallback**: K ended meetings (2 attendances each) in the emulator served over HTTP with "
        "Daily's documented rate limits, read by `read_meetings` (one list page per 100 meetings + one "
        "participants page each) and folded. Its latency, event → figures, is the wait for the calls DAG's "
        "hourly run (up to 60 min) plus these; it fills `participants`, `participant_minutes`, "
        "`actual_end_at` and never the phone figures (checked: 0 meetings with `phone_callers`).",
        "* Not measured here: `meeting.ended` → PIN refused (needs the scheduler).",
        "",
        f"Command: `{meta['command']}`. Raw figures: `calls-ingest.json`.",
    ]
    return "\n".join(lines) + "\n"


def write(saved: dict[str, Any], prefix: Path) -> list[Path]:
    return harness_report.write(saved, prefix, markdown=lambda d: report(d["results"], d["meta"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="signed events to send (default 10,000)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent client connections (default 4)")
    parser.add_argument("--fallback-meetings", type=int, default=100, help="ended meetings for /meetings (0: skip)")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both (default)")
    parser.add_argument("--out", type=Path, default=cli.RESULTS / "calls-ingest", help="results prefix")
    args = parser.parse_args(argv)
    args.backends = cli.listed(parser, args.backends, ("sqlite", "postgres"), what="backends")
    meta, results = harness.run_meta(args, "bench.calls", n=args.n, connections=args.connections), []
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-calls-")))
        for name in args.backends:
            home = root / name
            home.mkdir()
            if name == "postgres":
                conn = harness.postgres_database(stack, "bench_calls")
            else:
                conn = {"conn_type": "sqlite", "host": str(home / "meetings.db")}
            print(f"{name}: N={args.n:,}, {args.connections} connections ...", flush=True)
            results.append(run_backend(name, conn, home, args.n, args.connections, args.fallback_meetings))
            print(json.dumps(results[-1], indent=1, default=str), flush=True)
    paths = write({"meta": meta, "results": results}, args.out)
    cli.published(paths, paths[1].read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
