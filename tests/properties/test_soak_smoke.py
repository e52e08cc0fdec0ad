"""The guarantee benches at small sizes, so CI runs them: ``bench/guarantees/soak.py`` (batch and
per-room PIN modes) and ``bench/guarantees/kill9.py`` (four kill points, overlapping runs), each
as a subprocess, asserting its exit code and the counts it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from tests.support.paths import REPO

BENCH = REPO / "bench" / "guarantees"
TIMEOUT = 180


def run_script(name: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}  # the scripts set their own
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        env=env,
        check=False,
    )
    output = proc.stdout + proc.stderr
    print(f"{name} {' '.join(args)}: exit {proc.returncode} in {time.monotonic() - started:.1f} s\n{proc.stdout}")
    assert proc.returncode == 0, output[-4000:]
    assert "RESULT: OK" in proc.stdout
    return proc.stdout


def figure(output: str, label: str) -> str:
    """The first value in the row ``label`` of a printed psql table."""
    match = re.search(rf"^\| {re.escape(label)}\s*\|\s*([^|]*?)\s*\|", output, re.MULTILINE)
    assert match, f"no row {label!r} in:\n{output}"
    return match.group(1)


def faults_injected(output: str) -> int:
    block = output.split("fault injected", 1)[1]
    return sum(int(n) for n in re.findall(r"^\| \S+\s*\|\s*(\d+) \|$", block, re.MULTILINE))


@pytest.mark.slow
def test_soak_small() -> None:
    batch = run_script("soak.py", "--meetings", "300", "--fault-rate", "0.05", "--batch-size", "5", "--unlimited")
    per_room = run_script("soak.py", "--meetings", "100", "--fault-rate", "0.05", "--per-room-pin", "--unlimited")
    for output, meetings in ((batch, "300"), (per_room, "100")):
        assert figure(output, "meetings") == meetings
        assert figure(output, "due (scheduled)") == meetings, "the sample meetings are all due, on any weekday"
        assert figure(output, "provisioned") == meetings
        assert figure(output, "rooms in Daily") == meetings
        for label in (
            "duplicates (room or PIN on 2+ rows)",
            "orphans (rooms no row names)",
            "PIN mismatches",
            "URL mismatches",
            "dial-string mismatches",
            "due meetings without a room",
        ):
            assert figure(output, label) == "0", label
        assert int(figure(output, "runs needed")) <= 4
    assert int(figure(per_room, "POST /rooms/:name")) >= 100, "one PIN call per room"
    assert faults_injected(batch) + faults_injected(per_room) > 0, "the soak ran under faults"


@pytest.mark.slow
def test_kill9_small() -> None:
    output = run_script("kill9.py", "--meetings", "40", "--batch-size", "5", "--unlimited")
    rows = {
        name: line
        for line in output.splitlines()
        for name in (
            "mid batch",
            "mid chunk",
            "during the commit",
            "mid PIN fallback",
            "two runs at once ",
            "two runs at once, 10% faults",
        )
        if line.startswith(f"| {name}")
    }
    assert len(rows) == 6, output
    for name, line in rows.items():
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[-1] == "ok", f"{name}: {line}"
        assert "40/40" in cells, f"{name}: every meeting provisioned"
