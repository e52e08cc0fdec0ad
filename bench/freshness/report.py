"""The freshness benchmark's report: ``write(results, prefix)`` -> ``<prefix>.json``, ``.md`` (the goals
met or missed, the schedules side by side, each scenario) and ``.png`` (trickle latencies, the burst, the
schedules, the watcher's poll).

May import: the standard library and ``bench.harness`` (matplotlib through it, when a chart is drawn).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.harness import ab
from bench.harness import report as shared
from bench.harness.report import Column, columns, dur, failed_steps, fig, num, table, verdict

TRICKLE_P95_GOAL_S = 60.0
BURST_GOAL_S = 120.0
IDLE_RUNS_GOAL = 0
POLL_GOAL_MS = 50.0
IDLE_ROWS_TARGET = 100_000
IDLE_WINDOW_TARGET_S = 600.0
CRON_S, DAY_S = 300.0, 86400.0  # */5 and @daily


def tick_wait(period_s: float, run_s: float | None) -> dict[str, float]:
    """A change made at a uniformly random time waits for the schedule's next tick, then one run."""
    return {
        "mean_s": period_s / 2 + (run_s or 0),
        "p95_s": 0.95 * period_s + (run_s or 0),
        "max_s": period_s + (run_s or 0),
    }


def _changes(paths: list[str]) -> str:
    folders = ", ".join(f"`{f}`" for f in sorted({"/".join(p.split("/")[:2]) for p in paths}))
    return f" with uncommitted changes in {len(paths)} paths under {folders} (listed in the JSON)"


def _sc(results: dict[str, Any], name: str) -> dict[str, Any]:
    return results.get("scenarios", {}).get(name) or {}


def _query(results: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The pending_work timings: from ``idle`` (the cluster's table) or else ``query`` (standalone)."""
    for name in ("idle", "query"):
        query = _sc(results, name).get("query")
        if query:
            return query, name
    return {}, ""


# -- goals ------------------------------------------------------------------------------------------------
Goal = tuple[str, str, bool | None, str]  # goal, figure, met (None: not measured), note


def _trickle_goals(results: dict[str, Any]) -> list[Goal]:
    shortened = results.get("meta", {}).get("shortened", {})
    trickle = _sc(results, "trickle")
    short = (
        f"shortened: {trickle.get('seconds', 0):g} s of inserts every {trickle.get('every', 0):g} s"
        if "trickle_seconds" in shortened or "trickle_every" in shortened
        else ""
    )
    out = []
    for kind, what in (("insert", "dial string"), ("move", "room exp"), ("cancel", "room deleted")):
        stats = trickle.get("latency", {}).get(kind) or {}
        p95, unseen = stats.get("p95_s"), stats.get("unseen", 0)
        ok = None if not stats.get("changes") else (p95 is not None and p95 <= TRICKLE_P95_GOAL_S and not unseen)
        figure = "-" if not stats.get("changes") else f"p95 {num(p95)} s of {stats.get('n', 0)} seen"
        figure += f"; {unseen} never seen within the window" if unseen else ""
        out.append((f"trickle {kind} -> {what}: p95 <= {TRICKLE_P95_GOAL_S:g} s", figure, ok, short))
    return out


def _burst_goal(burst: dict[str, Any]) -> Goal:
    goal = f"burst of 5,000: done <= {BURST_GOAL_S:g} s"
    if not burst:
        return goal, "-", None, ""
    done, meetings = burst.get("last_dial_string_s"), burst["meetings"]
    figure = (
        f"last of {meetings:,} dial strings after {num(done)} s"
        if done is not None
        else f"{burst.get('written', 0):,} of {meetings:,} written in {burst.get('timeout_s', 0):g} s"
    )
    note = "" if meetings >= 5000 else f"shortened: {meetings:,} meetings"
    return goal, figure, done is not None and done <= BURST_GOAL_S, note


def _idle_goal(idle: dict[str, Any]) -> Goal:
    if not idle or "runs_started" not in idle:
        return "idle: 0 DAG runs", "-", None, ""
    notes = [f"{idle.get('rows', 0):,} rows"] if idle.get("rows", 0) < IDLE_ROWS_TARGET else []
    if idle.get("window_s", 0) < IDLE_WINDOW_TARGET_S - 1:
        notes.append(f"{idle.get('window_s', 0) / 60:.1f} min window")
    figure = f"{idle['runs_started']} runs, {idle.get('asset_events', '-')} watcher events in {dur(idle['window_s'])}"
    note = ("shortened: " + ", ".join(notes)) if notes else ""
    return "idle: 0 DAG runs", figure, idle["runs_started"] == IDLE_RUNS_GOAL, note


def _poll_goals(results: dict[str, Any]) -> list[Goal]:
    query, source = _query(results)
    out = []
    for dialect in ("postgres", "sqlite"):
        timing = query.get(dialect) or {}
        stats, rows = timing.get("pending_work") or {}, timing.get("rows", 0)
        ok = None if not stats else stats["p95_ms"] <= POLL_GOAL_MS
        figure = (
            f"p95 {num(stats['p95_ms'])} ms (p50 {num(stats['p50_ms'])}) over {stats['n']} polls at {rows:,} rows"
            if stats
            else "-"
        )
        note = "" if not stats or rows >= IDLE_ROWS_TARGET else f"shortened: {rows:,} rows"
        if source == "query" and stats and dialect == "postgres":
            note = (note + "; " if note else "") + "standalone PostgreSQL (no cluster)"
        out.append((f"idle: <= {POLL_GOAL_MS:g} ms per poll on {dialect}", figure, ok, note))
    return out


def goals(results: dict[str, Any]) -> list[Goal]:
    """Each goal with its figure and verdict (None: not measured); shortened runs say so in the note."""
    burst, idle = _burst_goal(_sc(results, "burst")), _idle_goal(_sc(results, "idle"))
    return [*_trickle_goals(results), burst, idle, *_poll_goals(results)]


def goals_table(results: dict[str, Any]) -> str:
    rows = [[goal, figure, verdict(ok), note] for goal, figure, ok, note in goals(results)]
    return table(["goal", "figure", "verdict", "note"], rows, align="llll")


# -- side by side -------------------------------------------------------------------------------------
def _lat(s: dict[str, Any], kind: str) -> dict[str, Any]:
    return (s.get("latency") or {}).get(kind) or {}


def _measured(s: dict[str, Any], schedule: str, how: str, per_day: str, work: str, cpu: str) -> list[str]:
    """A measured row of the schedules' table: insert p50/p95/max, move and cancel p95."""
    ins = _lat(s, "insert")
    latencies = [ins.get("p50_s"), ins.get("p95_s"), ins.get("max_s"), _lat(s, "move").get("p95_s")]
    return [schedule, how, *map(dur, [*latencies, _lat(s, "cancel").get("p95_s")]), per_day, work, cpu]


def _computed(
    schedule: str, how: str, mean: str, p95: float | None, worst: float | None, per_day: str, work: str
) -> list[str]:
    """A row computed from the schedule: a change waits for the next tick, then one run."""
    return [schedule, how, mean, dur(p95), dur(worst), "same", "same", per_day, work, "-"]


def side_by_side(results: dict[str, Any]) -> str:
    trickle, cron, idle, daily = (_sc(results, n) for n in ("trickle", "cron", "idle", "daily"))
    rows = []
    if trickle:
        runs_idle = idle.get("runs_started")
        per_day = "-" if runs_idle is None else f"{runs_idle} idle (+1 safety `@daily`)"
        cpu = (idle.get("cpu_pct_of_core") or {}).get("airflow-triggerer")
        work = f"{len(trickle.get('runs', []))} runs in {dur(trickle.get('window_s'))} of trickle"
        cpu_text = "-" if cpu is None else f"{cpu:.2f} % (idle, {idle.get('rows', 0):,} rows)"
        rows.append(_measured(trickle, "watcher + `@daily` safety", "trickle, measured", per_day, work, cpu_text))
    if cron:
        cpu = cron.get("triggerer_cpu_pct_of_core")
        schedule = f"`{cron.get('schedule', '*/5 * * * *')}`, no watcher"
        per_day = (
            f"{cron.get('runs_per_day_by_schedule', 288)} "
            f"(observed tick rate {num(cron.get('runs_per_day_observed'), 0)})"
        )
        work = (
            f"{num(cron.get('task_instances_per_day'), 0)} task instances/day "
            f"({num(cron.get('task_instances_per_run_mean'))} per run)"
        )
        cpu_text = "-" if cpu is None else f"{cpu:.2f} % (no watcher)"
        rows.append(_measured(cron, schedule, "shorter trickle, measured", per_day, work, cpu_text))
        run_s = (cron.get("run_duration") or {}).get("p50_s") or 0.0
        how = "computed from the schedule + the median run"
        w = tick_wait(CRON_S, run_s)
        rows.append(_computed(schedule, how, f"{dur(w['mean_s'])} (mean)", w["p95_s"], w["max_s"], "288", "-"))
    if daily:
        tis = daily.get("task_instances_per_day")
        how = "computed from the schedule" + (" + a measured run" if daily.get("run_s") else "")
        work = "-" if tis is None else f"{num(tis, 0)} task instances/day"
        rows.append(
            _computed(
                "`@daily` (default), no watcher", how, "12 h (mean)", daily.get("p95_s"), daily.get("max_s"), "1", work
            )
        )
    headers = ["schedule", "how", "insert p50", "insert p95", "insert max", "move p95", "cancel p95", "runs/day"]
    return table([*headers, "work", "triggerer CPU (% of a core)"], rows, align="llrrrrrlll")


# -- scenario sections ----------------------------------------------------------------------------------
LATENCY_COLUMNS: list[Column] = [
    ("change", lambda st: st["what"]),
    ("made", lambda st: str(st.get("changes", 0))),
    ("never seen", lambda st: str(st.get("unseen", 0))),
    *((f"{k} s", fig(f"{k}_s")) for k in ("p50", "p95", "max", "mean")),
]
POLL_COLUMNS: list[Column] = [
    ("DB", lambda t: t["db"]),
    ("what", lambda t: t["what"]),
    ("rows", lambda t: f"{t['rows']:,}"),
    ("polls", lambda t: str(t["n"])),
    *((f"{k} ms", fig(f"{k}_ms")) for k in ("p50", "p95", "max", "first")),
]
POLLS = {"pending_work": "`pending_work`", "with_from_config": "`from_config` + `pending_work` (a trigger poll)"}


def _poll_rows(query: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per database and way of polling that was timed."""
    return [
        {**(query.get(db) or {}).get(what), "db": db, "what": label, "rows": (query.get(db) or {}).get("rows", 0)}
        for db in ("postgres", "sqlite")
        for what, label in POLLS.items()
        if (query.get(db) or {}).get(what)
    ]


def trickle_section(s: dict[str, Any], title: str) -> list[str]:
    if not s:
        return []
    changes = (("insert", "insert -> dial string"), ("move", "move -> room exp"), ("cancel", "cancel -> deleted"))
    rows = [{**(s.get("latency", {}).get(kind) or {}), "what": what} for kind, what in changes]
    runs = s.get("runs", [])
    states: dict[str, int] = {}
    for r in runs:
        states[r["state"]] = states.get(r["state"], 0) + 1
    took = s.get("run_duration") or {}
    parts = [
        f"## {title}",
        "",
        f"{s.get('seconds', 0):g} s of inserts, one every {s.get('every', 0):g} s; the whole window "
        f"(until every change was seen, or the drain time ran out) {dur(s.get('window_s'))}.",
        "",
        columns(LATENCY_COLUMNS, rows),
        "",
        f"DAG runs queued in the window: {len(runs)} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(states.items())) or '-'}); "
        f"run duration p50 {num(took.get('p50_s'))} s, max {num(took.get('max_s'))} s"
        + (
            f"; start delay after queueing p50 {num((s.get('queue_delay') or {}).get('p50_s'))} s"
            if s.get("queue_delay")
            else ""
        )
        + f"; watcher events (asset events of the watched asset): {s.get('asset_events', '-')}; "
        f"triggerer CPU {num(s.get('triggerer_cpu_s'), 2)} s.",
    ]
    if s.get("skipped"):
        parts += [
            "",
            "Changes not made (no provisioned meeting to change in time): "
            + ", ".join(f"{x['kind']} at {x['due_s']:.0f} s" for x in s["skipped"]),
        ]
    return parts


def burst_section(s: dict[str, Any]) -> list[str]:
    if not s:
        return []
    runs = s.get("runs", [])
    return [
        "## Burst",
        "",
        f"{s['meetings']:,} meetings inserted in one transaction ({num(s.get('insert_s'), 2)} s). First dial string "
        f"after {num(s.get('first_dial_string_s'))} s, last after **{num(s.get('last_dial_string_s'))} s** "
        f"({s.get('written', 0):,} written; limit {s.get('timeout_s', 0):g} s). "
        f"Runs: {len(runs)} ("
        + ", ".join(
            f"{r['run_type']} {r['state']} {num(r.get('duration_s'))} s, {r['task_instances']} task instances"
            for r in runs
        )
        + f"); watcher events {s.get('asset_events', '-')}.",
    ]


def idle_section(results: dict[str, Any]) -> list[str]:
    s = _sc(results, "idle")
    parts: list[str] = []
    if s and "runs_started" in s:
        cpu, pct = s.get("cpu_s", {}), s.get("cpu_pct_of_core", {})
        seed = s.get("seed", {})
        parts += [
            "## Idle",
            "",
            f"The table topped up to **{s['rows']:,}** rows ({seed.get('inserted', 0):,} inserted already provisioned, "
            f"fingerprints as the table reads them; `pending_work` after seeding: {seed.get('pending_after')}), "
            f"then nothing changed for **{dur(s['window_s'])}**: DAG runs started **{s['runs_started']}**"
            + (f" ({', '.join(r['run_type'] + ' ' + r['state'] for r in s['new_runs'])})" if s.get("new_runs") else "")
            + f", watcher events {s.get('asset_events', '-')}; runs while seeding and settling: "
            f"{len(s.get('runs_during_seeding', []))}. CPU over the window (utime + stime of the process and its "
            f"descendants, `/proc/<pid>/stat`): triggerer {num(cpu.get('airflow-triggerer'), 2)} s = "
            f"**{num(pct.get('airflow-triggerer'), 2)} % of a core**; "
            f"scheduler {num(cpu.get('airflow-scheduler'), 2)} s "
            f"= {num(pct.get('airflow-scheduler'), 2)} %.",
        ]
    query, source = _query(results)
    if query:
        where = (
            "the cluster's PostgreSQL table and an SQLite copy of it"
            if source == "idle"
            else ("a standalone PostgreSQL table (no cluster) and an SQLite copy of it")
        )
        parts += [
            "",
            "### The watcher's query per poll",
            "",
            f"`MeetingsTable.pending_work` (rolling horizon of the settings, 48 h look-ahead) timed in the "
            f"benchmark's own subprocess on {where}, after one warm-up call; work found: "
            f"{(query.get('postgres') or {}).get('work')}.",
            "",
            columns(POLL_COLUMNS, _poll_rows(query), align="llrrrrrr"),
        ]
    return parts


def ab_section(results: dict[str, Any]) -> list[str]:
    """``--ab``: each tree's ``pending_work`` per poll on the same tables (median over the rounds)."""
    query, _ = _query(results)
    polls, names = query["ab"]["polls"], query["ab"]["names"]
    lines = []
    for db in ("postgres", "sqlite"):
        for figure in ("p50_ms", "p95_ms"):
            sides = {t: ab.median(p["pending_work"].get(figure) for p in polls.get(f"{t}-{db}", [])) for t in ab.SIDES}
            lines.append((f"{db}: pending_work {figure[:3]} (ms)", sides["A"], sides["B"]))
    return [
        "## A/B: the watcher's poll (issue 22: no regression)",
        "",
        f"A = {names['A']}, B = {names['B']} (a `git archive` snapshot), polling the same tables in turn "
        "(A B, then B A, ...). Δ % = (A - B) / B: positive means A is slower.",
        "",
        ab.table(lines, names),
        "",
    ]


def markdown(results: dict[str, Any]) -> str:
    meta = results.get("meta", {})
    emu = meta.get("emulator") or {}
    loads = [v for v in (meta.get("load_1m") or {}).values() if v is not None]
    shortened = meta.get("shortened") or {}
    parts = [
        "# Freshness: how long a change of the meetings table takes to reach Daily and the table",
        "",
        shared.run_header(meta, loads=loads, when="at the end of a scenario", changes=_changes),
        "",
        "The native cluster of the cluster check (`include/daily_devtools/cluster.py`: PostgreSQL, Redis, API server, "
        "scheduler, DAG processor, triggerer, two Celery workers with one task each, the Daily emulator), with "
        "the provider's default settings. Emulator: +"
        f"{num(emu.get('latency_ms'), 0)} ms per API request, +{num(emu.get('batch_room_latency_ms'), 0)} ms per "
        "room on `POST /batch/rooms`, Daily's documented rate limits (the scale benchmark's settings).",
        "",
    ]
    if shortened:
        parts += [
            "**Shortened run**: "
            + ", ".join(f"`{k}` {v['ran']:g} (full run: {v['full']:g})" for k, v in shortened.items())
            + ". Goals are still judged on these figures.",
            "",
        ]
    if "ab" in _query(results)[0]:
        parts += ab_section(results)
    parts += ["## Goals", "", goals_table(results), "", "## The schedules side by side", "", side_by_side(results), ""]
    parts += [
        "*insert* = a new meeting row committed -> its `dial_string` seen in the table (polled every 0.5 s); "
        "*move* = `starts_at`/`ends_at` of a provisioned meeting moved by 1 h -> the room's `exp` changed in the "
        "emulator (`GET /_emulator/rooms/<name>`, every 0.5 s); *cancel* = status `cancelled` -> the room gone from "
        "the emulator. *runs/day*: the watcher starts runs only for work (idle: measured); `*/5` runs 288 times a "
        "day whatever the table holds. The computed rows: a change made at a uniformly random time waits for the "
        "next tick (`*/5`: mean 2.5 min, p95 4.75 min, max 5 min; `@daily`, at midnight UTC: mean 12 h, p95 22.8 h, "
        "max 24 h), plus one run; the measured `*/5` trickle covers only the part of the 5-minute cycle its "
        "inserts fell into.",
        "",
    ]
    parts += trickle_section(_sc(results, "trickle"), "Trickle with the watcher")
    parts += ["", *trickle_section(_sc(results, "cron"), "Shorter trickle on `*/5 * * * *` without the watcher")]
    cron = _sc(results, "cron")
    if cron:
        parts += [
            "",
            "Runs per day on `*/5`: 288 by the schedule (observed: 86,400 s / the median gap between its scheduled "
            f"runs = {num(cron.get('runs_per_day_observed'), 0)}/day, over {dur(cron.get('window_s'))}); "
            "task instances "
            f"per run {num(cron.get('task_instances_per_run_mean'))} -> "
            f"**{num(cron.get('task_instances_per_day'), 0)} task instances per day**, nearly all with nothing to do.",
        ]
    parts += ["", *burst_section(_sc(results, "burst")), "", *idle_section(results)]
    switch = meta.get("switch")
    if switch:
        parts += [
            "",
            f"Switching the DAG processor from `*/5` to the watcher took {num(switch.get('seconds'))} s "
            f"(timetable now: {switch.get('timetable')}).",
        ]
    return "\n".join([*parts, *failed_steps(results)]) + "\n"


# -- chart ------------------------------------------------------------------------------------------------
def _trickle_panel(ax: Any, results: dict[str, Any]) -> None:
    markers = {"insert": "o", "move": "^", "cancel": "x"}
    for name, color, label in (("trickle", "C0", "watcher"), ("cron", "C1", "*/5, no watcher")):
        events = [e for e in _sc(results, name).get("events", []) if e["latency_s"] is not None]
        for kind, marker in markers.items():
            points = [e for e in events if e["kind"] == kind]
            if points:
                xs, ys = [e["at_s"] for e in points], [e["latency_s"] for e in points]
                ax.plot(xs, ys, marker, color=color, linestyle="none", label=f"{label}: {kind}")
    ax.axhline(TRICKLE_P95_GOAL_S, color="grey", linestyle=":", linewidth=1)
    ax.annotate(" goal p95 60 s", (0, TRICKLE_P95_GOAL_S), color="grey", fontsize=8, va="bottom")
    ax.set_yscale("log")
    ax.set_xlabel("change made at (s since the trickle started)")
    ax.set_ylabel("latency (s)")
    ax.set_title("Trickle: change -> dial string / room exp / room deleted", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def _burst_panel(ax: Any, results: dict[str, Any]) -> None:
    burst = _sc(results, "burst")
    if burst.get("series"):
        xs, ys = zip(*burst["series"], strict=True)
        ax.step(xs, ys, where="post", color="C0", label=f"{burst['meetings']:,} meetings inserted at 0 s")
        ax.axvline(BURST_GOAL_S, color="grey", linestyle=":", linewidth=1)
        ax.annotate(" goal 120 s", (BURST_GOAL_S, 0), color="grey", fontsize=8)
        ax.legend(fontsize=7, loc="center right")
    ax.set_xlabel("seconds since the insert committed")
    ax.set_ylabel("dial strings written")
    ax.set_title("Burst: dial strings written over time (watcher)", fontsize=10)
    ax.grid(True, alpha=0.3)


def _schedules_panel(ax: Any, results: dict[str, Any]) -> None:
    bars = []
    for name, label in (("trickle", "watcher"), ("cron", "*/5, no watcher")):
        st = (_sc(results, name).get("latency") or {}).get("insert") or {}
        if st.get("n"):
            bars.append((label, (st["p50_s"], st["p95_s"], st["max_s"]), False))
    cron = _sc(results, "cron")
    if cron:
        run_s = (cron.get("run_duration") or {}).get("p50_s") or 0.0
        bars.append(("*/5 (computed)", tuple(tick_wait(CRON_S, run_s).values()), True))
    daily = _sc(results, "daily")
    if daily:
        bars.append(("@daily (computed)", (daily["mean_s"], daily["p95_s"], daily["max_s"]), True))
    width = 0.25
    for i, (_label, values, computed) in enumerate(bars):
        for j, (value, what) in enumerate(zip(values, ("p50 (mean)", "p95", "max"), strict=True)):
            hatch = "//" if computed else None
            ax.bar(i + (j - 1) * width, value, width, color=f"C{j + 2}", hatch=hatch, label=what if i == 0 else None)
    ax.axhline(TRICKLE_P95_GOAL_S, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("insert -> dial string (s)")
    ax.set_title("Schedules side by side (hatched: computed)", fontsize=10)
    ax.grid(True, which="both", axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")


def _query_panel(ax: Any, results: dict[str, Any]) -> None:
    query, _ = _query(results)
    labels, p50s, p95s = [], [], []
    for dialect in ("postgres", "sqlite"):
        timing = query.get(dialect) or {}
        st = timing.get("pending_work") or {}
        if st:
            labels.append(f"{dialect}\n{timing.get('rows', 0):,} rows")
            p50s.append(st["p50_ms"])
            p95s.append(st["p95_ms"])
    if labels:
        xs = range(len(labels))
        ax.bar([x - 0.2 for x in xs], p50s, 0.4, color="C2", label="p50")
        ax.bar([x + 0.2 for x in xs], p95s, 0.4, color="C3", label="p95")
        ax.set_xticks(list(xs), labels, fontsize=8)
        ax.legend(fontsize=7)
    ax.axhline(POLL_GOAL_MS, color="grey", linestyle=":", linewidth=1)
    ax.annotate(" goal 50 ms", (-0.4, POLL_GOAL_MS), color="grey", fontsize=8, va="bottom")
    idle = _sc(results, "idle")
    extra = ""
    if "runs_started" in idle:
        cpu = (idle.get("cpu_pct_of_core") or {}).get("airflow-triggerer")
        extra = f"\nidle {dur(idle['window_s'])}: {idle['runs_started']} runs, triggerer {num(cpu, 2)} % of a core"
    ax.set_ylabel("ms per call")
    ax.set_title("Idle: MeetingsTable.pending_work per poll" + extra, fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)


def chart(results: dict[str, Any], path: Path) -> Path | None:
    plt = shared.pyplot()
    if plt is None:
        return None
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    (ax_t, ax_b), (ax_c, ax_q) = axes
    _trickle_panel(ax_t, results)
    _burst_panel(ax_b, results)
    _schedules_panel(ax_c, results)
    _query_panel(ax_q, results)
    return shared.save_figure(fig, path)


def write(results: dict[str, Any], prefix: Path) -> list[Path]:
    return shared.write(results, prefix, markdown=markdown, chart=chart)
