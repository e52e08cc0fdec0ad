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
    # every non-cancelled sample meeting is listed with a dial string, whatever the date (the date
    # matrix of .ci/test runs this at fixed instants): M1000-M1023 but the cancelled M1022, S100-S103
    listed = {m[1]: m[2] for m in re.finditer(r"^\|?\s*([MS]\d{3,4})\s*\|(.*)$", first.stdout, re.MULTILINE)}
    expected = {f"M{1000 + i}" for i in range(24)} - {"M1022"} | {f"S{100 + i}" for i in range(4)}
    assert {m for m, line in listed.items() if re.search(r"tel:\+\d+,,\d{11}", line)} == expected, first.stdout
    assert "(cancelled)" in listed["M1022"], listed.get("M1022")
    # 24 one-off meetings (one cancelled) and a weekly series of 4 on one room: 27 rows, 24 rooms
    assert len(dial_strings) == 27 + 1  # and the series' one dial string once more, in its line
    assert re.search(r"\| provisioned \(new room\) +\| +27 \|", first.stdout)
    assert "27 of 28 meetings have a dial-in room." in first.stdout
    series = re.search(
        r"Series WEEKLY-STANDUP: 4 occurrences on one room, one PIN: room (\S+), dial (\S+)", first.stdout
    )
    assert series, first.stdout
    assert series[1] == "mtg_s-WEEKLY-STANDUP"
    assert dial_strings.count(series[2]) == 4 + 1

    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"\| provisioned \(new room\) +\| +0 \|", second.stdout)
    assert re.findall(r"tel:\+\d+,,\d{11}", second.stdout) == dial_strings, "same rooms, same PINs"
