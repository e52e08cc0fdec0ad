"""The quickstart page runs as written: every ```bash and ```python block of docs/quickstart.md.

Blocks with a ``<!-- not-run ... -->`` comment on the line above are shown, not run (``bash .ci/ui``
serves until Ctrl-C: ``.ci/ui.py --check`` runs instead: start, check through the REST API, stop).
Everything runs in a temporary folder on the embedded default: ``bash .ci/demo`` is ``python -m
daily_demo --workdir <tmp>/.demo`` (what the script runs after its install step), so the page's
paths under ``.demo/`` resolve there, and nothing touches the checkout's own ``.demo/``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import REPO

PAGE = REPO / "docs" / "quickstart.md"
RUN_LANGUAGES = ("bash", "python")
NOT_RUN = "<!-- not-run"
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    language: str
    body: str
    line: int
    run: bool


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a page, with whether the line above marks them not to run."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match or not match.group(1):
            i += 1
            continue
        above = next((line for line in reversed(lines[:i]) if line.strip()), "")
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        found.append(Block(match.group(1), "\n".join(lines[i + 1 : end]), i + 1, not above.startswith(NOT_RUN)))
        i = end + 1
    return found


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAILY_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _command(line: str, workdir: Path) -> list[str]:
    """A shell line of the page as the test runs it: the demo's script without its install step."""
    words = shlex.split(line, comments=True)
    if words[:2] == ["bash", ".ci/demo"]:
        return [sys.executable, "-m", "daily_demo", "--workdir", str(workdir / ".demo"), *words[2:]]
    return ["bash", "-euo", "pipefail", "-c", line]


def _run(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{cmd}: exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_page_marks_what_it_does_not_run():
    found = blocks(PAGE.read_text(encoding="utf-8"))
    assert {b.language for b in found if b.run} >= set(RUN_LANGUAGES), "nothing to run on the quickstart page"
    assert any(b.run and "bash .ci/demo" in b.body for b in found), "the main job is not on the page"
    assert any(not b.run and "bash .ci/ui" in b.body for b in found)
    assert all(b.language in (*RUN_LANGUAGES, "text") for b in found), "a block in a language the test cannot run"


@pytest.mark.slow
def test_quickstart_runs_as_written(tmp_path):
    found = blocks(PAGE.read_text(encoding="utf-8"))
    outputs = []
    for block in found:
        if not block.run or block.language not in RUN_LANGUAGES:
            continue
        if block.language == "python":
            outputs.append(_run([sys.executable, "-c", block.body], tmp_path, timeout=60).stdout)
            continue
        for line in block.body.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                outputs.append(_run(_command(line, tmp_path), tmp_path, timeout=400).stdout)
    text = "\n".join(outputs)
    assert re.search(r"tel:\+\d+,,\d{11}", text), "no dial string shown"
    assert ".ics" in text, "no invitation listed"

    if any(not b.run and "bash .ci/ui" in b.body for b in found):
        args = ["--workdir", str(tmp_path / "ui"), "--port", "0", "--emulator-port", "0", "--meetings", "5", "--check"]
        result = _run([sys.executable, str(REPO / ".ci" / "ui.py"), *args], REPO, timeout=700)
        assert "check passed" in result.stdout
