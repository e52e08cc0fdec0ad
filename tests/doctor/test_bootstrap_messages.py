"""The bootstrap says everything it needs at once, picks the meetings connection type from what is
installed, and a connection stored with another Fernet key is a clear error, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from daily_dialin.bootstrap import SETTINGS_DIR, BootstrapError, load_settings, meetings_conn_type


def test_every_missing_variable_in_one_message():
    with pytest.raises(BootstrapError) as caught:
        load_settings(SETTINGS_DIR, {})
    message = str(caught.value)
    assert "DAILY_API_KEY" in message and "DAILY_MEETINGS_HOST" in message
    assert message.count("not set") == 1


def test_the_meetings_connection_type_follows_the_installed_provider():
    env = {"DAILY_API_KEY": "k" * 12, "DAILY_MEETINGS_HOST": "/tmp/m.db"}
    found = load_settings(SETTINGS_DIR, env)["connections"]["daily_meetings_db"]["conn_type"]
    assert found == meetings_conn_type({}) == "postgres"  # both are installed here: PostgreSQL, as before
    assert meetings_conn_type({}, importable=lambda name: "sqlite" in name) == "sqlite"
    assert meetings_conn_type({"DAILY_MEETINGS_CONN_TYPE": "sqlite"}) == "sqlite"  # asked for explicitly
    explicit = load_settings(SETTINGS_DIR, {**env, "DAILY_MEETINGS_CONN_TYPE": "sqlite"})
    assert explicit["connections"]["daily_meetings_db"]["conn_type"] == "sqlite"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAILY_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        DAILY_API_KEY="bootstrap-test-key-123456",
        DAILY_API_URL="http://127.0.0.1:9/v1",
        DAILY_MEETINGS_CONN_TYPE="sqlite",
        DAILY_MEETINGS_HOST=str(home / "meetings.db"),
        **extra,
    )
    return env


@pytest.mark.slow
def test_another_fernet_key_is_a_clear_error(tmp_path):
    from cryptography.fernet import Fernet

    home = tmp_path / "airflow"
    home.mkdir()
    first, second = (Fernet.generate_key().decode() for _ in range(2))
    cmd = [sys.executable, "-m", "daily_dialin.bootstrap"]
    boot = subprocess.run(
        [*cmd, "--migrate"],
        env=_env(home, AIRFLOW__CORE__FERNET_KEY=first),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert boot.returncode == 0, boot.stderr[-3000:]
    again = subprocess.run(
        cmd, env=_env(home, AIRFLOW__CORE__FERNET_KEY=second), capture_output=True, text=True, timeout=300
    )
    out = again.stdout + again.stderr
    assert again.returncode == 1, out[-3000:]
    assert "Traceback" not in out and "bootstrap-test-key-123456" not in out
    assert "another Fernet key" in out and "rotate-fernet-key" in out
