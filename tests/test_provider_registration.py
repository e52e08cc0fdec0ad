"""The provider registers through its entry point: hook, connection type and form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_cli_lists_daily_connection_type():
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), "providers", "hooks", "-o", "json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
        check=True,
    )
    hooks = json.loads(result.stdout[result.stdout.index("[") :])
    daily = [h for h in hooks if h["connection_type"] == "daily"]
    assert daily == [
        {
            "connection_type": "daily",
            "class": "airflow_provider_daily.hooks.daily.DailyHook",
            "conn_id_attribute_name": "daily_conn_id",
            "package_name": "airflow-provider-daily",
            "hook_name": "Daily",
        }
    ]


def test_connection_form():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    behaviour = manager.field_behaviours["daily"]
    assert behaviour["hidden_fields"] == ["login", "schema", "port"]
    assert behaviour["relabeling"]["password"] == "Daily API key"
    assert "extra__daily__max_attempts" in manager.connection_form_widgets


def test_settings_read_from_either_extra_spelling():
    from airflow_provider_daily.client_settings import DailyClientSettings

    settings = DailyClientSettings.from_extra({"extra__daily__max_attempts": "3", "timeout": 5})
    assert settings.max_attempts == 3
    assert settings.timeout == 5
    assert settings.rate_limits["delete"] == [(2, 1.0), (50, 30.0)]
