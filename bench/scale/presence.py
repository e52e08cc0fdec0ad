"""Presence's cost at scale (issue 23): ``python -m bench.scale.presence [--rooms 100000] [--out PREFIX]``.

Against the scale benchmark's emulator with ``--rooms`` live rooms (``--live`` of them with people in
them): a run with nothing to delete (presence adds no call), then k rooms to delete (``--k``: 5, 25,
1,000; a fifth of them live), today's one ``DELETE /batch/rooms`` against ``BulkRoomDeleter.delete``
(presence first), each after the rate-limit windows drained: the calls added against 1 + k, the wall
added against 2 % of the 100,000-meeting run (``bench/results/scale-100k.json``). Writes ``<out>.json``
and ``<out>.md``. May import the provider, the emulator's admin client, ``bench.scale.emulator``, ``bench.harness``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness.report import write
from bench.scale.emulator import API_KEY, PIN_NUMBER, Emulator, diff_counters

REPO = Path(__file__).resolve().parents[2]
SCALE_RESULTS = REPO / "bench" / "results" / "scale-100k.json"
BUDGET_SHARE = 0.02
SETTLE_S = 6.0  # longer than the widest rate-limit window (100 requests per 5 s)


def _hook(base_url: str):
    os.environ["AIRFLOW_CONN_DAILY_DEFAULT"] = json.dumps(
        {"conn_type": "daily", "host": base_url, "password": API_KEY, "extra": {"timeout": 30}}
    )
    from airflow_provider_daily.hooks.daily import DailyHook

    return DailyHook()


def _seed(hook: Any, rooms: int) -> list[str]:
    from airflow_provider_daily.bulk import BulkRoomCreator
    from airflow_provider_daily.models import DialinProperties, DialinRoomNumber, RoomCreate, RoomProperties

    exp = int(time.time() + 3 * 24 * 3600)
    dialin = DialinProperties(display_name="bench", room_numbers=[DialinRoomNumber(phone_number=PIN_NUMBER)])
    names = [f"pres-{i:06d}" for i in range(rooms)]
    specs = (RoomCreate(name=name, properties=RoomProperties(exp=exp, dialin=dialin)) for name in names)
    outcomes = BulkRoomCreator(hook=hook, concurrency=4).ensure_rooms(specs)
    assert all(o.ok for o in outcomes.values()), "seeding failed"
    return names


def _measure(emu: Emulator, action) -> dict[str, Any]:
    """``action``'s wall time and API calls, after Daily's rate-limit windows drained (the seeding
    fills them; a provisioning run's chunks use about 2 calls a second at 100,000 meetings)."""
    time.sleep(SETTLE_S)
    before = emu.counters()
    started = time.perf_counter()
    result = action()
    wall = time.perf_counter() - started
    delta = diff_counters(before, emu.counters())
    return {"wall_s": wall, "calls": sum(delta["requests"].values()), "requests": delta["requests"], "result": result}


def _scenario(emu: Emulator, hook: Any, names: list[str], live: set[str], k: int) -> dict[str, Any]:
    """Today's deletion of ``k`` empty rooms against the presence-first deleter on ``k`` rooms of which
    a fifth are live (distinct rooms for each, so neither finds the other's work done)."""
    from airflow_provider_daily.bulk import BulkRoomDeleter

    empty = [name for name in names if name not in live]
    today_names, ours_live = empty[:k], sorted(live)[: k // 5]
    ours_names = empty[k : 2 * k - len(ours_live)] + ours_live
    today = _measure(emu, lambda: hook.delete_rooms_batch(today_names))
    deleter = BulkRoomDeleter(hook=hook)
    ours = _measure(emu, lambda: deleter.delete(ours_names))
    results = ours.pop("result")
    today.pop("result")
    deleted, deferred = len(results.deleted), len(results.deferred)
    added = ours["calls"] - today["calls"]
    return {
        "k": k,
        "live_in_plan": len(ours_live),
        "today": today,
        "presence": {**ours, "deleted": deleted, "deferred": deferred, "deleter_calls": deleter.calls},
        "calls_added": added,
        "calls_budget": 1 + deleted,
        "wall_added_s": ours["wall_s"] - today["wall_s"],
        "live_deleted": len(set(results.deleted) & live),
    }


def run(rooms: int, live_rooms: int, ks: list[int]) -> dict[str, Any]:
    from airflow_provider_daily.bulk import BulkRoomDeleter

    with (
        tempfile.TemporaryDirectory(prefix="bench-presence-") as workdir,
        Emulator(Path(workdir), room_quota=rooms * 2) as emu,
    ):
        hook = _hook(emu.base_url)
        started = time.perf_counter()
        names = _seed(hook, rooms)
        seeded_s = time.perf_counter() - started
        live = set(names[:: max(1, rooms // live_rooms)][:live_rooms])
        assert emu.admin is not None
        for name in sorted(live):
            for who in ("web", "phone-less caller"):
                emu.admin.join(name, user_name=who)
        idle = _measure(emu, lambda: BulkRoomDeleter(hook=hook).delete([]))
        idle.pop("result")
        presence_once = _measure(emu, hook.get_presence)
        presence_once["rooms_listed"] = len(presence_once.pop("result"))
        scenarios = [_scenario(emu, hook, names, live, k) for k in ks]
    return {
        "meta": {
            "rooms": rooms,
            "live_rooms": len(live),
            "seeded_s": seeded_s,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_1m": os.getloadavg()[0]},
            "emulator": "documented rate limits, +100 ms per request (bench.scale.emulator)",
        },
        "idle": idle,
        "get_presence": presence_once,
        "scenarios": scenarios,
        "baseline_wall_s": _baseline(),
    }


def _baseline() -> dict[str, float]:
    """Today's 100,000-meeting provisioning run (variant a), per backend, from the scale benchmark."""
    if not SCALE_RESULTS.exists():
        return {}
    rows = json.loads(SCALE_RESULTS.read_text())["rows"]
    return {
        r["backend"]: r["wall_s"] for r in rows if r.get("variant") == "a" and r.get("wall_s") and r["n"] == 100_000
    }


def markdown(results: dict[str, Any]) -> str:
    meta, baseline, scenarios = results["meta"], results["baseline_wall_s"], results["scenarios"]
    lines = [
        f"# Presence's cost at {meta['rooms']:,} rooms ({meta['live_rooms']:,} with people in them)",
        "",
        f"Emulator: {meta['emulator']}. Machine: {meta['machine']['cpus']} CPUs, "
        f"load {meta['machine']['load_1m']:.2f} (other work on the machine).",
        "",
        f"- idle run (nothing to delete): **{results['idle']['calls']} calls added**, "
        f"{results['idle']['wall_s'] * 1000:.1f} ms",
        f"- one `GET /presence` listing {results['get_presence']['rooms_listed']:,} live rooms: "
        f"{results['get_presence']['wall_s'] * 1000:.0f} ms",
        "",
        "| rooms to delete | of them live | today: calls / wall | presence first: calls / wall "
        "| calls added (budget 1 + deleted) | wall added | live rooms deleted |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in results["scenarios"]:
        lines.append(
            f"| {s['k']:,} | {s['live_in_plan']} | {s['today']['calls']} / {s['today']['wall_s']:.2f} s "
            f"| {s['presence']['calls']} / {s['presence']['wall_s']:.2f} s "
            f"| **{s['calls_added']}** (≤ {s['calls_budget']}: {_met(s['calls_added'] <= s['calls_budget'])}) "
            f"| {s['wall_added_s']:.2f} s | {s['live_deleted']} |"
        )
    if baseline:
        budget = BUDGET_SHARE * min(baseline.values())
        lines += [
            "",
            f"Today's 100,000-meeting provisioning run: {', '.join(f'{b} {w:.1f} s' for b, w in baseline.items())}; "
            f"2 % of the faster is {budget:.2f} s. A run with nothing to delete adds no call, so its wall is "
            "unchanged; a run that deletes rooms adds the wall above (in `retire_cancelled`, which runs beside "
            "the chunks).",
            "",
            f"- API calls added ≤ 1 + the rooms deleted: "
            f"**{_met(all(s['calls_added'] <= s['calls_budget'] for s in scenarios))}**",
            f"- wall added within 2 % of today's run ({budget:.2f} s): "
            f"**{_met(all(s['wall_added_s'] <= budget for s in scenarios))}** "
            f"(at most {max(s['wall_added_s'] for s in scenarios):.2f} s)",
            f"- live rooms deleted: **{sum(s['live_deleted'] for s in scenarios)}**",
        ]
    return "\n".join(lines) + "\n"


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=100_000)
    parser.add_argument("--live", type=int, default=1_000, help="rooms with two people in them")
    parser.add_argument("--k", default="5,25,1000", help="rooms to delete per scenario, comma-separated")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "presence-100k")
    args = parser.parse_args()
    results = run(args.rooms, args.live, [int(k) for k in args.k.split(",")])
    write(results, args.out, markdown=markdown)
    print(markdown(results))


if __name__ == "__main__":
    main()
