"""The one bootstrap: settings expansion and validation, and the real command against a fresh Airflow.

The end-to-end test runs ``python -m daily_dialin.bootstrap`` (what the compose init service,
the native cluster, the demo and the UI quickstart run) twice on a fresh SQLite metadata DB, then once
more with another ``DAILY_API_CONCURRENCY``: same result when run again, and the one setting sizes both
the pool and the Variable's ``api_concurrency``; the connections' secrets are stored encrypted
(Fernet), and without a Fernet key the bootstrap refuses to store them, naming the fix.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from daily_dialin.bootstrap import (
    GENERATE_FERNET_KEY,
    SETTINGS_DIR,
    BootstrapError,
    expand,
    load_settings,
    masked,
    placeholders,
    require_encryption,
)

ENV = {"DAILY_API_KEY": "bootstrap-test-key-123456", "DAILY_MEETINGS_HOST": "/tmp/meetings.db"}


def test_expand_placeholders():
    env = {"A": "1", "EMPTY": ""}
    expanded = expand({"x": "${A}", "y": ["${B:-two}", 3], "z": "p${EMPTY:-d}q"}, env)
    assert expanded == {"x": "1", "y": ["two", 3], "z": "pdq"}
    with pytest.raises(BootstrapError, match=r"connections\.c\.password: environment variable SECRET is not set"):
        expand({"c": {"password": "${SECRET}"}}, {}, where="connections")


def test_settings_files_are_airflow_import_formats_with_placeholders():
    connections = json.loads((SETTINGS_DIR / "connections.json").read_text())
    variables = json.loads((SETTINGS_DIR / "variables.json").read_text())
    assert set(connections) == {"daily_default", "daily_meetings_db"}
    assert connections["daily_default"]["conn_type"] == "daily"
    assert "api_concurrency" in variables["daily_provisioning"]
    assert placeholders()["DAILY_API_KEY"] is None  # required
    assert placeholders()["DAILY_API_CONCURRENCY"] == ""  # empty: the settings model's default


def test_keys_left_empty_take_the_model_defaults():
    from daily_dialin.provisioning.config import ProvisioningConfig

    settings = load_settings(SETTINGS_DIR, ENV)
    variable = settings["variables"]["daily_provisioning"]
    assert set(variable) == {"daily_conn_id", "meetings_conn_id", "table"}
    assert settings["pools"]["daily_api"]["slots"] == ProvisioningConfig().api_concurrency


def test_one_setting_sizes_pool_and_share():
    settings = load_settings(SETTINGS_DIR, {**ENV, "DAILY_API_CONCURRENCY": "3", "DAILY_CHUNK_SIZE": "50"})
    variable = settings["variables"]["daily_provisioning"]
    assert variable["api_concurrency"] == 3 and variable["chunk_size"] == 50  # typed, not "3" / "50"
    assert settings["pools"] == {
        "daily_api": {
            "slots": 3,
            "description": "Daily API: chunk tasks at once (= daily_provisioning.api_concurrency)",
            "include_deferred": False,
        }
    }
    from daily_dialin.provisioning.config import ProvisioningConfig

    assert ProvisioningConfig(**variable).rate_limit_share == pytest.approx(1 / 3)
    meetings = settings["connections"]["daily_meetings_db"]
    assert meetings == {
        "conn_type": "postgres",
        "description": meetings["description"],
        "host": "/tmp/meetings.db",
    }  # empty fields dropped
    assert "host" not in settings["connections"]["daily_default"]  # empty: Daily's own API
    assert masked(settings)["connections"]["daily_default"]["password"] == "***"


def test_invalid_variable_fails_before_airflow_is_touched():
    with pytest.raises(BootstrapError, match=r"daily_provisioning.*chunk_size"):
        load_settings(SETTINGS_DIR, {**ENV, "DAILY_CHUNK_SIZE": "0"})
    with pytest.raises(BootstrapError, match="DAILY_API_KEY"):
        load_settings(SETTINGS_DIR, {"DAILY_MEETINGS_HOST": "x"})


def _never(*_):
    raise AssertionError("asked Airflow about encryption for settings without secrets")


def test_secrets_are_stored_only_when_airflow_encrypts_them(monkeypatch):
    from daily_dialin import bootstrap

    warnings: list[str] = []
    monkeypatch.setattr(bootstrap.log, "warning", lambda msg, *args: warnings.append(msg % args))
    settings = load_settings(SETTINGS_DIR, ENV)
    assert require_encryption(settings, ENV, encrypts=lambda: True) is True
    with pytest.raises(BootstrapError) as refused:
        require_encryption(settings, ENV, encrypts=lambda: False)
    message = str(refused.value)
    assert "no Fernet key" in message and "daily_default" in message
    assert GENERATE_FERNET_KEY in message and "AIRFLOW_FERNET_KEY in .env" in message
    assert "AIRFLOW__CORE__FERNET_KEY" in message and "DAILY_ALLOW_UNENCRYPTED_SECRETS=1" in message
    allowed = {**ENV, "DAILY_ALLOW_UNENCRYPTED_SECRETS": "1"}
    assert require_encryption(settings, allowed, encrypts=lambda: False) is False
    (warning,) = warnings
    assert "UNENCRYPTED" in warning and "daily_default" in warning and ENV["DAILY_API_KEY"] not in warning
    no_secrets = {**settings, "connections": {"daily_meetings_db": {"conn_type": "sqlite", "host": "x"}}}
    assert require_encryption(no_secrets, ENV, encrypts=_never) is True


def test_the_generate_command_makes_a_fernet_key():
    from cryptography.fernet import Fernet

    code = GENERATE_FERNET_KEY.split('"')[1]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    Fernet(result.stdout.strip().encode())  # raises if it is not a key


def test_bootstrap_without_a_fernet_key_refuses_before_touching_airflow(tmp_path):
    home = tmp_path / "airflow"
    home.mkdir()
    boot = subprocess.run(
        [sys.executable, "-m", "daily_dialin.bootstrap", "--migrate"],
        env=_env(home, AIRFLOW__CORE__FERNET_KEY=""),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert boot.returncode == 1, boot.stdout[-2000:] + boot.stderr[-3000:]
    assert "no Fernet key" in boot.stderr and "Fernet.generate_key()" in boot.stderr
    assert not (home / "airflow.db").exists()  # not migrated, nothing stored
    invalid = subprocess.run(
        [sys.executable, "-m", "daily_dialin.bootstrap"],
        env=_env(home, AIRFLOW__CORE__FERNET_KEY="not-a-key"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert invalid.returncode == 1 and "Fernet key ([core] fernet_key) is not valid" in invalid.stderr
    assert "Fernet.generate_key()" in invalid.stderr and "AIRFLOW_FERNET_KEY in .env" in invalid.stderr


def _stored_connections(home: Path) -> dict[str, tuple[bool, str | None]]:
    """conn_id -> (is_encrypted, the password column as stored), read from the metadata DB itself."""
    with closing(sqlite3.connect(home / "airflow.db")) as db:
        return {
            row[0]: (bool(row[1]), row[2])
            for row in db.execute("SELECT conn_id, is_encrypted, password FROM connection")
        }


STATE_SCRIPT = """
import json
from airflow.models import Connection, Pool, Variable
from airflow.utils.session import create_session
with create_session() as session:
    pools = {p.pool: p.slots for p in session.query(Pool)}
    conns = {c.conn_id: c.conn_type for c in session.query(Connection)}
print(json.dumps({"pools": pools, "connections": conns, "variable": Variable.get("daily_provisioning")}))
"""


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


def _bootstrap(home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    args = ["--migrate", "--create-meetings-table"]
    boot = subprocess.run(
        [sys.executable, "-m", "daily_dialin.bootstrap", *args],
        env=_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if boot.returncode:
        return boot
    seed = subprocess.run(
        [sys.executable, "-m", "daily_demo.seed", "6"],
        env=_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return seed if seed.returncode else boot


def _state(home: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", STATE_SCRIPT], env=_env(home), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads(result.stdout.strip().splitlines()[-1])
    state["variable"] = json.loads(state["variable"])
    with closing(sqlite3.connect(home / "meetings.db")) as db:
        state["meetings"] = db.execute("SELECT COUNT(*) FROM daily_meetings").fetchone()[0]
    return state


@pytest.mark.slow
def test_bootstrap_command_is_idempotent_and_one_setting_sizes_the_pool(tmp_path):
    home = tmp_path / "airflow"
    home.mkdir()
    first = _bootstrap(home)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    state = _state(home)
    assert state["pools"]["daily_api"] == 2 and "api_concurrency" not in state["variable"]  # the default
    assert state["connections"] == {"daily_default": "daily", "daily_meetings_db": "sqlite"}
    assert state["meetings"] == 6
    assert "bootstrap-test-key-123456" not in first.stdout + first.stderr  # the key is never printed
    # a fresh AIRFLOW_HOME: Airflow's generated Fernet key (in the airflow.cfg it wrote) encrypts the key
    encrypted, stored = _stored_connections(home)["daily_default"]
    assert encrypted and stored and "bootstrap-test-key-123456" not in stored

    again = _bootstrap(home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _state(home) == state  # nothing duplicated, no second seeding

    resized = _bootstrap(home, DAILY_API_CONCURRENCY="4")
    assert resized.returncode == 0, resized.stderr[-3000:]
    state = _state(home)
    assert state["pools"]["daily_api"] == 4 == state["variable"]["api_concurrency"]


@pytest.mark.slow
def test_bootstrap_stores_the_api_key_encrypted_with_the_configured_fernet_key(tmp_path):
    from cryptography.fernet import Fernet

    home = tmp_path / "airflow"
    home.mkdir()
    key = Fernet.generate_key().decode()
    boot = subprocess.run(
        [sys.executable, "-m", "daily_dialin.bootstrap", "--migrate"],
        env=_env(home, AIRFLOW__CORE__FERNET_KEY=key),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert boot.returncode == 0, boot.stdout[-2000:] + boot.stderr[-3000:]
    assert '"secrets_encrypted": true' in boot.stdout + boot.stderr
    encrypted, stored = _stored_connections(home)["daily_default"]
    assert encrypted
    assert Fernet(key.encode()).decrypt(stored.encode()).decode() == "bootstrap-test-key-123456"
