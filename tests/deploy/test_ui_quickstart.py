"""The UI quickstart (``bash .ci/ui``) starts, applies the bootstrap and serves the unscheduled DAG.

``--check`` starts the emulator, the bootstrap and Airflow's components on free ports, checks the
login, the DAG (no schedule: unpausing it starts no run of its own), the pool and the Variable through
the REST API, and stops everything.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_ui_quickstart_check(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAILY_"))}
    args = ["--workdir", str(tmp_path), "--port", "0", "--emulator-port", "0", "--meetings", "5", "--check"]
    result = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "ui.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "check passed: DAG daily_dialin_provisioning unscheduled" in result.stdout
    assert "bootstrap done" in (tmp_path / "bootstrap.log").read_text()
