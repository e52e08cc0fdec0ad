"""The README's first command, end to end: ``python -m daily_demo`` twice on a fresh work dir."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_main_job_provisions_then_reuses(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    cmd = [sys.executable, "-m", "daily_demo", "--workdir", str(tmp_path / "demo")]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    dial_strings = re.findall(r"tel:\+\d+,,\d{11}", first.stdout)
    assert len(dial_strings) == 23
    assert re.search(r"\| provisioned \(new room\) +\| +23 \|", first.stdout)
    assert "23 of 24 meetings have a dial-in room." in first.stdout

    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"\| provisioned \(new room\) +\| +0 \|", second.stdout)
    assert re.findall(r"tel:\+\d+,,\d{11}", second.stdout) == dial_strings, "same rooms, same PINs"
