"""The dial-in page at N rows on SQLite: ``python -m bench.ui [--rows N] [--repeat K] [--loads L]``.

Times its data endpoint (every filter, deep pages, a search, the tiles; K requests each through FastAPI's
``TestClient``) next to the plain ``SELECT`` it is built on (goal: p95 <= 200 ms), and its first
meaningful paint in Chromium over L loads (:mod:`bench.ui.paint`; goal: <= 1.5 s). The table is seeded
(not timed) with N one-hour meetings over 30 days. Writes ``bench/results/ui-page.{md,json}`` (``--out``).

May import: the application, FastAPI's test client, ``bench.harness`` and the standard library.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness.report import save_json
from bench.harness.report import table as md_table
from bench.harness.run import REPO, airflow_env, percentiles

GOAL_MS = 200.0
PAINT_GOAL_MS = 1500.0
NOTES = (
    "How: keyset pages (after the last row shown, through the sort column's index; never OFFSET), so",
    "page 1,000 costs what page 1 does. Ready and pending rows (most rows) are found in index order; the",
    "rows of the rare states (problems, missed, deferred, given up, cancelled) are looked up by id from",
    "a snapshot of every row's state (one pass, which also counts the tiles; used for a minute, a new",
    "one taken in the background once it is 5 s old, when the tiles are asked for; each row's state",
    "is checked again as it is read). The list's `total` comes from it too (no count per request).",
    "Without a fresh snapshot, the tiles and a rare state's list pay the pass on the request (`GET",
    "/api/tiles (no snapshot)` below; the warm-up request of the other cases takes it).",
)
DAG_ID = "daily_dialin_provisioning"


def _environment(tmp: Path) -> None:
    meetings = {"conn_type": "sqlite", "host": str(tmp / "meetings.db")}
    os.environ.update(
        airflow_env(tmp / "airflow", metadata=f"sqlite:///{tmp / 'airflow.db'}", daily_meetings_db=meetings)
    )


def _seed(table: Any, n: int, now: datetime) -> None:
    def ts(value: datetime) -> str:
        return f"{value:%Y-%m-%d %H:%M:%S}"

    rows = []
    for i in range(n):
        start = now + timedelta(minutes=5 + (30 * 24 * 60 - 10) * i // n)
        done = i % 3 != 0
        rows.append(
            (
                f"M{i:07d}",
                f"Meeting {i}",
                ts(start),
                ts(start + timedelta(hours=1)),
                "Europe/Berlin",
                "weird" if i % 500 == 7 else "scheduled",
                f"mtg-M{i:07d}" if done else None,
                f"https://example.daily.co/mtg-M{i:07d}" if done else None,
                "12345678901" if done else None,
                ts(now - timedelta(hours=1)) if done else None,
                "not provisioned: Daily refused the room" if not done and i % 50 == 0 else None,
            )
        )
    columns = (
        "meeting_id, title, starts_at, ends_at, timezone, status, room_name, room_url, dialin_pin,"
        " provisioned_at, last_error"
    )
    with closing(table.hook.get_conn()) as conn:
        conn.executemany(f"INSERT INTO daily_meetings ({columns}) VALUES ({', '.join('?' * 11)})", rows)
        conn.execute("ANALYZE")
        conn.commit()


def _time(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    fn()  # warm: the first call builds the table object and reflects the columns
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples, unit="")


def _client(now: datetime) -> Any:
    from fastapi.testclient import TestClient

    from daily_dialin.ui.access import DagAccess, dag_access
    from daily_dialin.ui.app import create_app

    app = create_app(clock=lambda: now)
    app.dependency_overrides[dag_access] = lambda: DagAccess(
        dag_id=DAG_ID, username="bench", can_edit=False, can_trigger=True
    )
    return TestClient(app)


def _plain(table: Any, now: datetime) -> dict[str, Callable[[], Any]]:
    window = (
        "FROM daily_meetings WHERE ends_at > ? AND starts_at < ?",
        (f"{now - timedelta(days=1):%Y-%m-%d %H:%M:%S}", f"{now + timedelta(days=30):%Y-%m-%d %H:%M:%S}"),
    )

    def run(sql: str) -> Callable[[], Any]:
        def go() -> Any:
            with closing(table.hook.get_conn()) as conn:
                return conn.execute(sql.format(window[0]), window[1]).fetchall()

        return go

    return {
        "plain SELECT: first 50 by starts_at": run("SELECT * {} ORDER BY starts_at, meeting_id LIMIT 50"),
        "plain SELECT: COUNT(*) of the window": run("SELECT COUNT(*) {}"),
        "plain SELECT: title LIKE '%Meeting 4242%', first 50 by starts_at": run(
            "SELECT * {} AND (title LIKE '%Meeting 4242%' OR meeting_id LIKE 'Meeting 4242%')"
            " ORDER BY starts_at, meeting_id LIMIT 50"
        ),
    }


def _cursor(client: Any, row: int, **params: Any) -> str:
    """The cursor of the page starting after ``row`` rows (following ``next`` 200 rows at a time)."""
    cursor = ""
    for size in [200] * (row // 200) + ([row % 200] if row % 200 else []):
        body = client.get("/api/meetings", params={"table": DAG_ID, "size": size, "cursor": cursor, **params}).json()
        cursor = body["next"] or ""
    return cursor


def _list_cases(client: Any) -> dict[str, dict[str, Any]]:
    """Every filter's first page, and deep pages, as ``GET /api/meetings`` parameters."""
    cases: dict[str, dict[str, Any]] = {"first page, 50": {}}
    cases["page 1,000"] = {"cursor": _cursor(client, 49_950)}
    for status in ("ready", "pending", "problems", "missed", "deferred", "given_up", "cancelled"):
        cases[f"status={status}"] = {"status": status}
    cases["status=ready, page 500"] = {"status": "ready", "cursor": _cursor(client, 24_950, status="ready")}
    cases["status=pending, page 500"] = {"status": "pending", "cursor": _cursor(client, 24_950, status="pending")}
    cases["status=problems, page 10"] = {"status": "problems", "cursor": _cursor(client, 450, status="problems")}
    cases["q=Meeting 4242"] = {"q": "Meeting 4242"}
    cases["sort=-status"] = {"sort": "-status"}
    cases["sort=-status, page 1,000"] = {"sort": "-status", "cursor": _cursor(client, 49_950, sort="-status")}
    cases["sort=-meeting_id, page 1,000"] = {
        "sort": "-meeting_id",
        "cursor": _cursor(client, 49_950, sort="-meeting_id"),
    }
    return cases


def measure(
    n: int, repeat: int, loads: int
) -> tuple[list[tuple[str, dict[str, float]]], dict[str, list[dict[str, float]]]]:
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    now = datetime.now(UTC).replace(microsecond=0)
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    _seed(table, n, now)
    client = _client(now)

    def get(path: str, **params: Any) -> Callable[[], Any]:
        def go() -> Any:
            response = client.get(path, params={"table": DAG_ID, **params})
            response.raise_for_status()
            return response

        return go

    def forgetting(fn: Callable[[], Any]) -> Callable[[], Any]:
        def go() -> Any:
            client.app.state.views.clear()  # no snapshot, no reflected columns: a first request
            return fn()

        return go

    cases = {
        **_plain(table, now),
        **{f"GET /api/meetings ({name})": get("/api/meetings", **p) for name, p in _list_cases(client).items()},
        "GET /api/tiles": get("/api/tiles"),
        "GET /api/tiles (no snapshot: the pass on the request)": forgetting(get("/api/tiles")),
    }
    results = [(name, _time(fn, repeat)) for name, fn in cases.items()]
    return results, _paint(client.app, loads)


def _paint(app: Any, loads: int) -> dict[str, list[dict[str, float]]]:
    if not loads:
        return {}
    from bench.ui.paint import loads as page_loads
    from bench.ui.paint import serving

    with serving(app) as url:
        page = f"{url}/?table={DAG_ID}"
        cold = page_loads(page, max(3, loads // 3), before=app.state.views.clear)
        return {"cold": cold, "warm": page_loads(page, loads)}


def _goal(p95: float, goal: float) -> str:
    return "met" if p95 <= goal else f"missed by {p95 - goal:.0f} ms"


def _paint_lines(paints: dict[str, list[dict[str, float]]]) -> list[str]:
    if not paints:
        return []
    lines = [
        "",
        "## First meaningful paint in Chromium",
        "",
        "Debian's Chromium, headless, through Playwright; the page served by uvicorn on 127.0.0.1 (one process,",
        "the same app and rows); each load a new browser context (no cache), after one warm-up",
        "load. Milliseconds since navigation start. *cold*: the app forgets its tables before each load, so",
        "the tiles' pass over every row runs on the request (the first visit to an API server process);",
        "*warm*: the tiles from the snapshot of a few seconds before, a new pass behind them. Goal: the first",
        f"tiles and rows on screen (`dialin-data`) <= {PAINT_GOAL_MS:.0f} ms.",
        "",
    ]
    rows = []
    for series, timings in paints.items():
        for mark, key in (("first-contentful-paint", "fcp"), ("tiles and rows drawn (`dialin-data`)", "data")):
            t = percentiles([p[key] for p in timings], unit="")
            goal = _goal(t["p95"], PAINT_GOAL_MS) if key == "data" else ""
            rows.append([f"{series} ({len(timings)})", mark, *(f"{t[k]:.0f}" for k in ("p50", "p95", "max")), goal])
    lines.append(md_table(["loads", "mark", "p50", "p95", "max", "goal"], rows, align="llrrrl"))
    return lines


def report(
    results: list[tuple[str, dict[str, float]]],
    paints: dict[str, list[dict[str, float]]],
    *,
    n: int,
    repeat: int,
    argv: list[str],
    load: float,
) -> str:
    lines = [
        "# The dial-in page's data endpoint",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} with `python -m bench.ui {' '.join(argv)}` on the shared"
        f" machine ({os.cpu_count()} cores, Python {platform.python_version()}, SQLite): {n:,} meetings over"
        f" 30 days, {repeat} timed requests per case (after one warm-up). Milliseconds."
        f" Goal: `GET /api/meetings` p95 <= {GOAL_MS:.0f} ms. Load average (1 min) at the start {load:.1f}, at"
        f" the end {os.getloadavg()[0]:.1f} (other jobs share the machine: compare within a run).",
        "",
    ]
    rows = [
        [name, *(f"{t[k]:.1f}" for k in ("p50", "p95", "max")), _goal(t["p95"], GOAL_MS) if "meetings" in name else ""]
        for name, t in results
    ]
    lines.append(md_table(["case", "p50", "p95", "max", "goal"], rows, align="lrrrl"))
    lines += _paint_lines(paints)
    lines += ["", *NOTES]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.ui", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--loads", type=int, default=10, help="cold page loads in Chromium (0: none)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ui-page.md")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        _environment(Path(tmp))
        results, paints = measure(args.rows, args.repeat, args.loads)
    text = report(results, paints, n=args.rows, repeat=args.repeat, argv=argv, load=load)
    args.out.write_text(text)
    paint = {s: {"loads": t, "data": percentiles([p["data"] for p in t], unit="")} for s, t in paints.items()}
    figures = {"rows": args.rows, "repeat": args.repeat, "goal_ms": GOAL_MS, "paint_goal_ms": PAINT_GOAL_MS}
    save_json({**figures, "cases": dict(results), "paint": paint}, args.out.with_suffix(".json"))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
