"""The UI quickstart (``bash .ci/ui``) starts, applies the bootstrap and runs the DAG on the watcher.

``--check --check-freshness`` starts the emulator, the bootstrap and Airflow's components (scheduler,
triggerer, ...) on free ports, checks the login, the DAG (on the meetings-table watcher, no clock), the
pool and the Variable through the REST API, then unpauses the DAG, inserts a meeting starting in an
hour into the SQLite table and waits until its dial string is written back - nothing triggered by
hand - and stops everything.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.paths import REPO


@pytest.mark.slow
def test_ui_quickstart_check(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAILY_"))}
    args = [
        "--workdir",
        str(tmp_path),
        "--port",
        "0",
        "--emulator-port",
        "0",
        "--meetings",
        "5",
        "--check",
        "--check-freshness",
    ]
    result = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "ui.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=700,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "check passed: DAG daily_dialin_provisioning runs on the watcher" in result.stdout
    assert "freshness check passed" in result.stdout, result.stdout[-3000:]
    assert "dial-in page check passed" in result.stdout, result.stdout[-3000:]
    assert "bootstrap done" in (tmp_path / "bootstrap.log").read_text()
