"""The scale benchmark's report judges its rows by the work done (``bench/scale/report.py``): a row
that wrote back fewer rooms than it had meetings is "missed (incomplete: N of M)", never "ok", and
the targets measured on it are missed. Fabricated results; the benchmark itself is not run.
May import ``bench.scale.report`` (no Airflow, no emulator)."""

from __future__ import annotations

from typing import Any

from bench.scale import report


def _row(**fields: Any) -> dict[str, Any]:
    row = {
        "backend": "sqlite",
        "variant": "a",
        "label": "one run",
        "n": 100_000,
        "status": "ok",
        "wall_s": 60.0,
        "x_server_floor": 0.3,
        "api_busy_s": 50.0,
        "engine_s": 55.0,
        "airflow_share_s": 5.0,
        "peak_rss_mib": 200.0,
    }
    return {**row, **fields}


def test_a_row_with_fewer_rooms_than_meetings_is_missed_incomplete() -> None:
    """Seen on a Saturday: 96,429 rooms for 100,000 meetings reported as ok."""
    row = report.judge_row(_row(rooms=96_429))
    assert row["status"] == "missed (incomplete: 96,429 of 100,000)"
    assert row["incomplete"] is True
    assert report.judge_row(row)["status"] == "missed (incomplete: 96,429 of 100,000)", "judging twice changes nothing"


def test_complete_failed_and_roomless_rows_keep_their_status() -> None:
    assert report.judge_row(_row(rooms=100_000))["status"] == "ok"
    assert report.judge_row(_row(rooms=10, status="timeout"))["status"] == "timeout"
    assert report.judge_row(_row(status="projected", rooms=5_000))["status"] == "projected"
    assert report.judge_row(_row(variant="e1", status="floor"))["status"] == "floor"


def test_targets_on_an_incomplete_row_are_missed() -> None:
    results = {"meta": {"sustained_rate_per_s": 20.0}, "rows": [report.judge_row(_row(rooms=96_429))], "idle": []}
    lines = report.targets(results).splitlines()
    beyond, overlap = lines[0], lines[1]
    assert "**missed**" in beyond, beyond  # 60 - 50 = 10 s would be within the 15 s budget
    assert "**missed**" in overlap, overlap  # 30 % would be within the 40 % target
    table = report.main_table(results)
    assert "missed (incomplete: 96,429 of 100,000)" in table


def test_targets_on_a_complete_row_are_judged_by_their_figures() -> None:
    results = {"meta": {"sustained_rate_per_s": 20.0}, "rows": [report.judge_row(_row(rooms=100_000))], "idle": []}
    lines = report.targets(results).splitlines()
    assert "**met**" in lines[0] and "**met**" in lines[1], lines
