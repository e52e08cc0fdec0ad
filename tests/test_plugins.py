"""The provider's macros plugin is registered through the provider (no plugins/ file needed) and
its macros compute the right values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_daily.get_provider_info import get_provider_info
from airflow_provider_daily.plugins import macros


def test_airflow_loads_the_macros_plugin_from_the_provider(tmp_path):
    airflow = Path(sys.executable).with_name("airflow")
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [str(airflow), "plugins", "-o", "json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout[result.stdout.index("[") :])}
    assert plugins["daily_dialin"]["macros"] == [
        "airflow_provider_daily.plugins.macros.room_name",
        "airflow_provider_daily.models.dial_string",
    ]


def test_the_package_registers_the_plugin_through_its_entry_point():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "daily_dialin"]
    assert entry.load() is macros.DailyDialinMacrosPlugin
    assert "plugins" not in get_provider_info()  # one registration, or Airflow reports a duplicate


def test_macros():
    assert macros.room_name("M1") == "mtg-M1"
    assert macros.room_name(4711, prefix="conf") == "conf-4711"
    assert macros.dial_string("12095038039", "12345678987") == "tel:+12095038039,,12345678987"
