"""The benchmarks' shared harness (``bench/harness``) and its A/B table, on fabricated results (no
benchmark is run); and ``bench/`` imports no test code. May import ``bench.harness``, ``bench.scale.report``
and ``bench.freshness.report`` (no Airflow, no emulator)."""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
from types import SimpleNamespace

import pytest

from bench.harness import ab, cli, report
from bench.harness.run import REPO, airflow_env, percentiles, run_meta, snapshot, until
from bench.scale import report as scale_report


def test_bench_imports_no_test_code():
    offenders = []
    for path in sorted((REPO / "bench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] in ("tests", "conftest")]
    assert offenders == []


def test_the_sides_alternate_round_by_round():
    assert ab.order(1) == ["A", "B"]
    assert ab.order(3) == ["A", "B", "B", "A", "A", "B"]
    assert ab.delta_pct(105.0, 100.0) == 5.0 and ab.delta_pct(1.0, None) is None and ab.delta_pct(1.0, 0) is None


def _row(tree, variant, wall, backend="sqlite", n=2000):
    return {"tree": tree, "variant": variant, "backend": backend, "n": n, "wall_s": wall, "status": "ok"}


def test_the_scale_ab_report_pairs_the_trees():
    rows = [_row("A", "a", 10.0), _row("B", "a", 8.0), _row("A", "a", 12.0), _row("B", "a", 8.0)]
    rows += [_row("A", "a-idle", 2.0), _row("B", "a-idle", 2.0), {"variant": "e1", "backend": "-", "n": 2000}]
    assert ab.paired(rows, ("backend", "n", "variant"), "wall_s")[("sqlite", 2000, "a")] == {"A": 11.0, "B": 8.0}
    results = {
        "meta": {
            "started": "s",
            "ab": {"A": "this tree (abc1234)", "B": "f68f3a4"},
            "args": {"ab_rounds": 2},
            "machine": {"cpus": 2, "cpu": "x"},
        },
        "rows": rows,
        "errors": [],
    }
    text = scale_report.markdown(results)
    assert "| a: end to end [sqlite] N=2,000: wall s | 11.00 | 8.00 | +37.5 % |" in text
    assert "| a: idle re-run [sqlite] N=2,000: wall s | 2.00 | 2.00 | +0.0 % |" in text
    assert "e1" not in text


def test_results_go_where_they_went():
    assert cli.default_out("scale", full=True, quick=False).name == "scale"
    assert cli.default_out("scale", full=False, quick=True).name == "scale-quick"
    assert cli.default_out("freshness", full=False, quick=False).name == "freshness-custom"
    assert cli.default_out("scale", full=True, quick=False, ab="f68f3a4").name == "scale-ab"


def test_a_list_option_keeps_known_values_and_refuses_others(capsys):
    parser = argparse.ArgumentParser(prog="bench")
    assert cli.listed(parser, " sqlite,,postgres ", ("sqlite", "postgres"), what="backends") == ["sqlite", "postgres"]
    with pytest.raises(SystemExit):
        cli.listed(parser, "sqlite,mysql", ("sqlite", "postgres"), what="backends")
    assert "unknown backends ['mysql']; known: sqlite, postgres" in capsys.readouterr().err


def test_polling_stops_when_done_or_past_the_deadline():
    answers = iter([False, False, True])
    assert until(lambda: next(answers), 60, every=0)
    assert next(answers, "spent") == "spent"
    assert not until(lambda: False, 0, every=0)


def test_the_run_lines_of_a_report_header():
    meta = {"started": "2026-12-05T10:00:00+00:00", "commit": "abc1234", "code_under_test": "working tree"}
    meta |= {"seconds": 90, "machine": {"cpus": 2, "cpu": "x", "python": "3.12.1", "airflow": "3.1.0"}}
    line = report.run_header(meta | {"uncommitted_changes_in": ["dags/a.py"]}, loads=[0.5, 1.3], when="at the end")
    assert line == (
        "Run 2026-12-05T10:00:00+00:00 on commit `abc1234` (working tree) with uncommitted changes in `dags/a.py`; "
        "2 CPUs (x), Python 3.12.1, Airflow 3.1.0; whole run 1.5 min; 1-min load average up to 1.3 at the end."
    )
    counted = report.run_header(meta | {"uncommitted_changes_in": ["a"]}, loads=[], when="-", changes=lambda p: "!")
    assert counted.startswith("Run 2026-12-05T10:00:00+00:00 on commit `abc1234` (working tree)!; 2 CPUs")
    assert counted.endswith("whole run 1.5 min.")
    assert report.run_header({}, loads=[], when="-") == (
        "Run - on commit `-` (-); - CPUs (-), Python -, Airflow -; whole run 0.0 min."
    )
    full = run_meta(SimpleNamespace(n=3), "bench.x", n=3)
    assert full["n"] == 3 and full["cpus"] == full["machine"]["cpus"]
    assert full["command"].startswith("python -m bench.x")
    assert report.run_line(full).startswith(f"Run {full['started']} on `{full['host']}` ({full['cpus']} CPUs")
    assert (report.ok(True), report.ok(False)) == ("met", "**missed**")


def test_a_snapshot_holds_the_commits_code(tmp_path):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    src = snapshot(tmp_path / "src", "HEAD")
    assert (src / "COMMIT").read_text() == head
    assert (src / "include" / "daily_dialin" / "__init__.py").exists() and (src / "dags").is_dir()
    assert not (src / "tests").exists()


def test_a_table_from_columns_and_the_failed_steps():
    spec = [("name", lambda r: r["name"]), ("wall s", report.fig("wall_s"))]
    text = report.columns(spec, [{"name": "a", "wall_s": 1234.5}, {"name": "b"}])
    assert text == "| name | wall s |\n| --- | ---: |\n| a | 1,234 |\n| b | - |"
    assert report.failed_steps({"errors": []}) == []
    assert report.failed_steps({"errors": [{"step": "seed", "error": "boom"}]})[1:] == [
        "## Steps that failed",
        "",
        "- seed: boom",
    ]


def test_percentiles_are_nearest_rank_in_any_unit():
    ms = percentiles([0.003, 0.001, 0.002], unit="ms", scale=1000)
    assert ms == pytest.approx({"n": 3, "p50_ms": 2.0, "p95_ms": 3.0, "max_ms": 3.0, "mean_ms": 2.0})
    assert percentiles([], unit="") == {"n": 0}
    assert set(percentiles([1.0], unit="")) == {"n", "p50", "p95", "max", "mean"}
    assert percentiles([float(v) for v in range(1, 21)])["p95_s"] == 19.0


def test_a_benchmark_process_gets_its_own_airflow(tmp_path):
    env = airflow_env(tmp_path, daily_meetings_db={"conn_type": "sqlite", "host": "m.db"})
    assert env["AIRFLOW_HOME"] == str(tmp_path)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow.db'}"
    assert json.loads(env["AIRFLOW_CONN_DAILY_MEETINGS_DB"]) == {"conn_type": "sqlite", "host": "m.db"}
    assert airflow_env(tmp_path, metadata="postgresql://x")["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql://x"
