"""Test-session wiring: an isolated Airflow home, the Daily emulator, a throwaway PostgreSQL.

Airflow reads its configuration when first imported, so ``AIRFLOW_HOME`` and friends are set at
the top of this file, before anything imports airflow. The metadata DB is migrated once per
session, and only for tests that run DAGs (fixture ``airflow_db``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_HOME = Path(tempfile.mkdtemp(prefix="daily-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ.pop("AIRFLOW_CONN_DAILY_DEFAULT", None)
sys.path.insert(0, str(REPO))

import pytest  # noqa: E402

from daily_emulator import EmulatorServer, EmulatorSettings  # noqa: E402

TEST_KEY = "test-key-9f8e7d6c5b4a"
PIN_NUMBER = "+12095550100"
OTHER_NUMBER = "+12095550101"
SPARE_NUMBER = "+12095550102"
FAST_RETRIES = {"timeout": 2, "retry_min_wait": 0.01, "retry_max_wait": 0.2, "max_attempts": 6, "retry_deadline": 30}


def _emulator_settings() -> EmulatorSettings:
    return EmulatorSettings(
        api_keys=[TEST_KEY],
        domain="acme",
        purchased_numbers=[PIN_NUMBER, OTHER_NUMBER, SPARE_NUMBER],
        pin_dialin_numbers=[PIN_NUMBER],
    )


@pytest.fixture(scope="session")
def emulator_server():
    with EmulatorServer(settings=_emulator_settings()) as server:
        yield server


@pytest.fixture
def emulator(emulator_server):
    """The session's emulator, reset to a clean domain and default settings for each test."""
    defaults = _emulator_settings()
    emulator_server.admin.reset()
    emulator_server.admin.configure(
        faults=defaults.faults.model_dump(mode="json"),
        rate_limits={k: [w.model_dump(mode="json") for w in v] for k, v in defaults.rate_limits.items()},
        latency_ms=defaults.latency_ms,
        batch_returns_pin=defaults.batch_returns_pin,
        return_dialin_number=defaults.return_dialin_number,
        room_quota=defaults.room_quota,
        resend_dialin_new_pin=defaults.resend_dialin_new_pin,
    )
    yield emulator_server
    emulator_server.admin.clear_faults()


def daily_connection_uri(base_url: str, key: str = TEST_KEY, **extra) -> str:
    return json.dumps({"conn_type": "daily", "host": base_url, "password": key, "extra": {**FAST_RETRIES, **extra}})


@pytest.fixture
def daily_conn(emulator, monkeypatch):
    """``daily_default`` pointing at the emulator, with fast retries."""
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url))
    return emulator


@pytest.fixture
def hook(daily_conn):
    from airflow_provider_daily.hooks.daily import DailyHook

    return DailyHook()


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated metadata DB (needed by ``dag.test()``), once per session."""
    from airflow.utils import db

    db.resetdb()
    return _HOME


@pytest.fixture(scope="session")
def postgres_server():
    from tests.support.postgres import ThrowawayPostgres

    with ThrowawayPostgres() as server:
        yield server
