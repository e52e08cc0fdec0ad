"""The macros plugin in plugins/ is found by Airflow and its macros compute the right values."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.daily import REPO


def test_airflow_loads_the_macros_plugin():
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), "plugins", "-o", "json"], capture_output=True, text=True, env=os.environ.copy(), timeout=120
    )
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout[result.stdout.index("[") :])}
    assert plugins["daily_dialin"]["macros"] == ["daily_macros.room_name", "airflow_provider_daily.models.dial_string"]


def test_macros():
    spec = importlib.util.spec_from_file_location("daily_macros", REPO / "plugins" / "daily_macros.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.room_name("M1") == "mtg-M1"
    assert module.room_name(4711, prefix="conf") == "conf-4711"
    assert module.dial_string("12095038039", "12345678987") == "tel:+12095038039,,12345678987"
