"""The calls loop's latencies on the native cluster (issue 24): ``python -m bench.calls.cluster``. One
native cluster set up as ``docs/calls.md`` says (``--revoke-minutes``, default 1); ``--meetings`` meetings,
one every ``--gap`` s, end with a caller and a host in the emulator: event -> figures in the meetings table
and meeting.ended -> PIN refused; then ``--fallback`` meetings with ``calls_source: meetings_api`` and one
manual run of the calls DAG. Writes ``bench/results/calls-cluster.{md,json}`` (``--out``; ``--report-from``
rewrites the Markdown); nothing is asserted, a target missed is reported as missed.

May import: the standard library, requests, psycopg2, ``daily_devtools`` (the cluster), ``bench.harness``
and ``bench.calls``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.calls.__main__ import FIGURE_COLUMNS, SECRET
from bench.harness import run as harness
from bench.harness.cli import RESULTS
from bench.harness.report import ok, run_line

CALLS_DAG = "daily_dialin_calls"
GLOBAL_NUMBER = "+12095038039"  # Daily's shared US number: takes any room's PIN [doc: global numbers]
GOAL_FIGURES_S = 60.0
GOAL_REVOKE_MARGIN_S = 60.0


# -- the cluster's pieces ------------------------------------------------------------------------------------
class Loop:
    """The started cluster, with the few calls the benchmark makes to Daily, the emulator and the table."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self._api: Any = None
        self.hook_uuid: str | None = None

    @property
    def api(self) -> Any:
        """Airflow's REST API, logged in on first use."""
        if self._api is None:
            self._api = self.cluster.api()
        return self._api

    def sql(self, statement: str, args: tuple = ()) -> list[tuple]:
        import psycopg2

        with contextlib.closing(psycopg2.connect(self.cluster.meetings_uri)) as conn, conn.cursor() as cur:
            cur.execute(statement, args or None)  # no args: a % in the SQL is a percent sign
            rows = cur.fetchall() if cur.description else []
            conn.commit()
            return rows

    def daily(self, method: str, path: str, body: Any = None) -> Any:
        key = self.cluster.values["DAILY_API_KEY"]
        url = f"{self.cluster.emulator_url}/v1{path}"
        response = requests.request(method, url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        response.raise_for_status()
        return response.json()

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.cluster.emulator_url}/_emulator{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def variable(self, key: str, **values: Any) -> None:
        response = self.api.request("GET", f"/variables/{key}")
        current = json.loads(response.json()["value"]) if response.status_code == 200 else {}
        body = {"key": key, "value": json.dumps({**current, **values})}
        if response.status_code == 200:
            self.api.patch(f"/variables/{key}", body)
        else:
            self.api.post("/variables", body)

    def set_up(self, revoke_minutes: int, *, secret: str = SECRET) -> None:
        """As docs/calls.md says: the secret in the Daily connection, the figure columns,
        ``revoke_after_minutes``, the calls DAG unpaused, the webhook registered with Daily."""
        conn = self.api.get("/connections/daily_default")
        extra = {**json.loads(conn.get("extra") or "{}"), "webhook_secret": secret}
        self.api.request(
            "PATCH",
            "/connections/daily_default",
            params={"update_mask": "extra"},
            json={"connection_id": "daily_default", "conn_type": "daily", "extra": json.dumps(extra)},
        ).raise_for_status()
        for column, kind in FIGURE_COLUMNS.items():
            self.sql(f"ALTER TABLE daily_meetings ADD COLUMN IF NOT EXISTS {column} {kind}")
        self.variable("daily_provisioning", revoke_after_minutes=revoke_minutes)
        self.api.wait_for_dag(CALLS_DAG)
        self.api.patch(f"/dags/{CALLS_DAG}", {"is_paused": False})
        self.webhook_on(secret)

    def webhook_on(self, secret: str = SECRET) -> None:
        """Daily's test request reaches the real API server first: anything but a 200 refuses the create."""
        body = {"url": f"{self.cluster.api_url}/daily/webhooks", "hmac": secret, "retryType": "exponential"}
        self.hook_uuid = self.daily("POST", "/webhooks", body)["uuid"]

    def webhook_off(self) -> None:
        if self.hook_uuid:
            self.daily("DELETE", f"/webhooks/{self.hook_uuid}")
            self.hook_uuid = None

    def meeting(self, meeting_id: str, room_name: str) -> str:
        """A room with a PIN in the emulator and a one-off row whose scheduled end just passed; the PIN."""
        properties = {"exp": int(time.time() + 7200), "dialin": {"display_name": meeting_id}}
        room = self.daily("POST", "/rooms", {"name": room_name, "properties": properties})
        pin = room["config"]["dialin_code"]
        now = datetime.now(UTC).replace(microsecond=0)
        self.sql(
            "INSERT INTO daily_meetings (meeting_id, title, starts_at, ends_at, timezone, status, room_name,"
            " dialin_pin, provisioned_at) VALUES (%s, %s, %s, %s, 'UTC', 'scheduled', %s, %s, %s)",
            (meeting_id, meeting_id, now - timedelta(minutes=40), now - timedelta(minutes=1), room_name, pin, now),
        )
        return pin

    def dial(self, pin: str, caller: str) -> dict[str, Any]:
        return self.admin("POST", "/calls", {"number": GLOBAL_NUMBER, "pin": pin, "caller": caller})

    def live_rooms(self) -> set[str]:
        return {room["name"] for room in self.admin("GET", "/state")["rooms"]}

    def figures(self, ids: list[str], *, phone: bool) -> dict[str, bool]:
        rows = self.sql(
            "SELECT meeting_id, phone_callers, actual_end_at, participants FROM daily_meetings"
            " WHERE meeting_id = ANY(%s)",
            (ids,),
        )
        return {
            mid: end is not None and (callers if phone else people) is not None for mid, callers, end, people in rows
        }


# -- the measurements -------------------------------------------------------------------------------------------
class Tracker:
    """When each meeting's last event was made, its figures appeared, its PIN was refused."""

    def __init__(self, loop: Loop, *, phone: bool) -> None:
        self.loop, self.phone = loop, phone
        self.ended: dict[str, float] = {}
        self.pins: dict[str, tuple[str, str]] = {}  # meeting -> (room, pin)
        self.figures_at: dict[str, float] = {}
        self.refused_at: dict[str, float] = {}
        self.refusal: dict[str, str] = {}
        self.lock = threading.Lock()

    def poll_once(self) -> None:
        with self.lock:
            ended = dict(self.ended)
        self._figures([m for m in ended if m not in self.figures_at])
        self._refused([m for m in ended if m not in self.refused_at])

    def _figures(self, waiting: list[str]) -> None:
        if waiting:
            found = self.loop.figures(waiting, phone=self.phone)
            self.figures_at.update({mid: time.time() for mid, done in found.items() if done})

    def _refused(self, pending: list[str]) -> None:
        live = self.loop.live_rooms() if pending else set()
        for mid in pending:
            room, pin = self.pins[mid]
            if room not in live:  # gone from Daily: one dial with the old PIN says how it is refused
                call = self.loop.dial(pin, "+12095550199")
                self.refused_at[mid] = time.time()
                self.refusal[mid] = call.get("reason") or call["status"]

    def done(self) -> bool:
        return len(self.figures_at) == len(self.ended) and len(self.refused_at) == len(self.ended)

    def wait(self, timeout: float, *, until_ended: int) -> None:
        harness.until(lambda: self.poll_once() or (len(self.ended) >= until_ended and self.done()), timeout, every=0.5)


def _life(loop: Loop, tracker: Tracker, meeting_id: str, room: str, *, hold_seconds: float) -> None:
    pin = loop.meeting(meeting_id, room)
    tracker.pins[meeting_id] = (room, pin)
    host = loop.admin("POST", f"/rooms/{room}/participants", {"user_name": "Host"})["id"]
    call = loop.dial(pin, "+12095550142")
    time.sleep(hold_seconds)
    loop.admin("DELETE", f"/calls/{call['session_id']}")
    loop.admin("DELETE", f"/rooms/{room}/participants/{host}")  # the last one leaves: meeting.ended
    with tracker.lock:
        tracker.ended[meeting_id] = time.time()


def _stats(values: list[float]) -> dict[str, Any]:
    """n, p50, p95 (the sample at rank round(0.95 n + 0.5): with 20 samples or fewer, the largest -
    the conservative reading), max, min, and the samples."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "max": round(ordered[-1], 1),
        "min": round(ordered[0], 1),
        "samples": [round(v, 1) for v in ordered],
    }


def _latencies(tracker: Tracker) -> dict[str, Any]:
    figures = [tracker.figures_at[m] - t for m, t in tracker.ended.items() if m in tracker.figures_at]
    refused = [tracker.refused_at[m] - t for m, t in tracker.ended.items() if m in tracker.refused_at]
    return {
        "meetings": len(tracker.ended),
        "figures_s": _stats(figures),
        "refused_s": _stats(refused),
        "figures_missing": sorted(set(tracker.ended) - set(tracker.figures_at)),
        "refused_missing": sorted(set(tracker.ended) - set(tracker.refused_at)),
        "refusals": sorted(set(tracker.refusal.values())),
    }


def run_webhooks(loop: Loop, n: int, gap: float, revoke_minutes: int) -> dict[str, Any]:
    tracker = Tracker(loop, phone=True)

    def make() -> None:
        for k in range(n):
            started = time.monotonic()
            _life(loop, tracker, f"BENCH-W{k:03d}", f"mtg-bench-w{k:03d}", hold_seconds=1.0)
            time.sleep(max(0.0, gap - (time.monotonic() - started)))

    maker = threading.Thread(target=make, daemon=True)
    maker.start()
    tracker.wait(n * gap + revoke_minutes * 60 + 300, until_ended=n)
    maker.join(timeout=60)
    return _latencies(tracker)


def run_fallback(loop: Loop, k: int, revoke_minutes: int) -> dict[str, Any]:
    loop.webhook_off()
    loop.variable("daily_calls", calls_source="meetings_api")
    tracker = Tracker(loop, phone=False)
    threads = [
        threading.Thread(
            target=_life, args=(loop, tracker, f"BENCH-F{j:03d}", f"mtg-bench-f{j:03d}"), kwargs={"hold_seconds": 12.0}
        )
        for j in range(k)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    ended = time.time()
    run = loop.api.post(f"/dags/{CALLS_DAG}/dagRuns", {"logical_date": None})
    triggered = time.time()
    tracker.wait(revoke_minutes * 60 + 300, until_ended=k)
    result = _latencies(tracker)
    # from the manual run's start, not from the meeting's end: the cron's wait comes on top
    figures = [tracker.figures_at[m] - triggered for m in tracker.figures_at]
    refused = [tracker.refused_at[m] - triggered for m in tracker.refused_at]
    finished = loop.api.wait_for_runs(CALLS_DAG, {run["dag_run_id"]}, timeout=600)[run["dag_run_id"]]
    result.update(
        {
            "run_to_figures_s": _stats(figures),
            "run_to_refused_s": _stats(refused),
            "ended_to_run_s": round(triggered - ended, 1),
            "run_state": finished["state"],
            "phone_figures_written": sum(
                1 for (c,) in loop.sql("SELECT phone_callers FROM daily_meetings WHERE meeting_id LIKE 'BENCH-F%'") if c
            ),
        }
    )
    return result


# -- the report ------------------------------------------------------------------------------------------------
def _s(stats: dict[str, Any], key: str) -> str:
    return "-" if not stats.get("n") else f"{stats[key]:.1f}"


def _three(stats: dict[str, Any]) -> str:
    return " / ".join(_s(stats, key) for key in ("p50", "p95", "max"))


def _margins(stats: dict[str, Any], grace: float) -> str:
    return " / ".join("-" if not stats.get("n") else f"{stats[key] - grace:.1f}" for key in ("p50", "p95"))


def _fallback_cells(f: dict[str, Any] | None, grace: float) -> list[str]:
    """The ``/meetings`` fallback's column, row by row."""
    if not f:
        return ["- (together)", *["-"] * 6]
    cron_p95, run = 0.95 * 3600, f["run_to_figures_s"]
    return [
        f"{f['meetings']} (together)",
        f"wait for the hourly run (0-60 min, p95 {cron_p95 / 60:.0f} min) + run start -> figures {_three(run)} s: "
        f"p95 ≈ {(cron_p95 + run.get('p95', 0)) / 60:.0f} min (goal 60 s: **missed by design**)",
        f"a manual run {f['ended_to_run_s']} s after the end: refused {_three(f['refused_s'])} s after the end; with "
        "the hourly run instead: max(the wait for the run, revoke_after_minutes) + the same tail "
        f"(p95 ≈ {cron_p95 / 60:.0f} min with revoke_after_minutes under an hour)",
        _margins(f["refused_s"], grace),
        f"participants, participant_minutes, actual_end_at; phone figures in {f['phone_figures_written']} meetings",
        f"{len(f['figures_missing'])} / {len(f['refused_missing'])}",
        ", ".join(f["refusals"]) or "-",
    ]


def _table(w: dict[str, Any], f: dict[str, Any] | None, meta: dict[str, Any]) -> list[str]:
    grace = meta["revoke_minutes"] * 60
    wf, wr = w["figures_s"], w["refused_s"]
    figures_ok = bool(wf.get("n")) and wf["p95"] <= GOAL_FIGURES_S and not w["figures_missing"]
    refused_ok = bool(wr.get("n")) and wr["p95"] <= grace + GOAL_REVOKE_MARGIN_S and not w["refused_missing"]
    webhooks = [
        ("meetings", f"{w['meetings']} (one every {meta['gap']} s)"),
        ("event -> figures p50 / p95 / max (s)", f"{_three(wf)} (goal p95 ≤ 60 s: {ok(figures_ok)})"),
        (
            "meeting.ended -> PIN refused p50 / p95 / max (s)",
            f"{_three(wr)} (goal p95 ≤ {grace:.0f} + 60 s: {ok(refused_ok)})",
        ),
        ("margin over revoke_after_minutes p50 / p95 (s)", _margins(wr, grace)),
        ("figures filled", "phone_callers, phone_minutes, first_dialin_at, actual_end_at, participants"),
        ("missing (no figures / not refused in time)", f"{len(w['figures_missing'])} / {len(w['refused_missing'])}"),
        ("what the emulator answered the old PIN", ", ".join(w["refusals"]) or "-"),
    ]
    cells = zip(webhooks, _fallback_cells(f, grace), strict=True)
    return [f"| {label} | {hooks} | {fallback} |" for (label, hooks), fallback in cells]


def report(result: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# Calls loop on the native cluster: event -> figures, meeting.ended -> PIN refused (issue 24)",
        "",
        f"{run_line(meta)} plus the working tree. The native cluster "
        "(`daily_devtools.cluster`: the compose topology as local processes - PostgreSQL, Redis, API server, "
        "scheduler, DAG processor, triggerer, two Celery workers, the emulator), cluster-check settings. "
        f"`revoke_after_minutes` = {meta['revoke_minutes']}. The emulator's signed webhooks go to the real API "
        "server's `/daily/webhooks`; nothing is triggered by hand except the fallback's one manual run.",
        "",
        "| | webhooks (`calls_source: webhooks`) | `/meetings` fallback (`calls_source: meetings_api`) |",
        "|---|---|---|",
        *_table(result["webhooks"], result.get("fallback"), meta),
        "",
        "* **event -> figures**: from the moment the meeting's last event was made in the emulator (the host "
        "leaving: `participant.left` and `meeting.ended`) until the meetings table holds `phone_callers` and "
        "`actual_end_at` for it: the emulator's delivery, the receiver's commit, the events watcher's poll (5 s), "
        "the scheduler starting `daily_dialin_calls` on a Celery worker, the fold. Polled every 0.5 s.",
        "* **meeting.ended -> PIN refused**: until the room is gone from the emulator (then one dial with the old "
        "PIN, refused as shown); due at `max(meeting.ended, ends_at) + revoke_after_minutes` (the scheduled end "
        "was 1 minute before), then the revoke watcher's poll (15 s), a run's start, presence and the delete.",
        "* **Fallback**: `/meetings` is read only by the calls DAG's hourly cron run (and manual runs), so its "
        "latency is the wait for that run (uniform 0-60 min) plus what is measured here from a manual run's "
        "start. It never fills phone figures or dial-in errors (`/meetings` has no phone flag). Its PIN revoke "
        "comes from the `meeting.ended` that run stores: due `revoke_after_minutes` after the end, so a run right "
        "after the end is followed by the revoke watcher's run, as with webhooks.",
        "* **p95** is the sample at rank round(0.95 n + 0.5): with 20 samples or fewer, the largest (the "
        "conservative reading). Each meeting is one sample; the per-sample figures are in the JSON.",
        "",
        f"Command: `{meta['command']}`. Raw figures: `calls-cluster.json`.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from daily_devtools.cluster import NativeCluster

    parser = argparse.ArgumentParser(prog="python -m bench.calls.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=20, help="webhook meetings (default 20)")
    parser.add_argument("--gap", type=float, default=5.0, help="seconds between them (default 5)")
    parser.add_argument("--fallback", type=int, default=5, help="fallback meetings (default 5; 0 skips)")
    parser.add_argument("--revoke-minutes", type=int, default=1, help="revoke_after_minutes (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS / "calls-cluster", help="results prefix")
    parser.add_argument("--report-from", type=Path, help="only rewrite the .md from this .json")
    args = parser.parse_args(argv)
    if args.report_from:
        saved = json.loads(args.report_from.read_text())
        args.out.with_suffix(".md").write_text(report(saved["results"], saved["meta"]))
        return 0
    meta = harness.run_meta(args, "bench.calls.cluster", gap=args.gap, revoke_minutes=args.revoke_minutes)
    out = args.out
    result: dict[str, Any] = {}

    def save() -> None:  # after each phase: an interrupted run keeps what it measured
        out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": result}, indent=1, default=str) + "\n")

    cluster = NativeCluster(root=Path(tempfile.mkdtemp(prefix="bench-calls-cluster-")))
    cluster.start()
    try:
        loop = Loop(cluster)
        loop.set_up(args.revoke_minutes)
        meta["cluster_start"] = dict(cluster.timings)
        result["webhooks"] = run_webhooks(loop, args.meetings, args.gap, args.revoke_minutes)
        save()
        print(json.dumps(result, indent=1), flush=True)
        if args.fallback:
            result["fallback"] = run_fallback(loop, args.fallback, args.revoke_minutes)
            save()
            print(json.dumps(result["fallback"], indent=1), flush=True)
    finally:
        cluster.stop()
    out.with_suffix(".md").write_text(report(result, meta))
    print(f"wrote {out.with_suffix('.md')} and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
