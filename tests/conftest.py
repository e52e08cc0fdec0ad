"""Test-session wiring: an isolated Airflow home, the Daily emulator, a throwaway PostgreSQL.

Airflow reads its configuration when first imported, so ``AIRFLOW_HOME`` and friends are set at
the top of this file, before anything imports airflow. The metadata DB is migrated once per
session, and only for tests that run DAGs (fixture ``airflow_db``).

Fixtures and hooks only: constants and helpers the tests import live in ``tests/support``
(``tests.support.daily``: the test domain; ``tests.support.paths``: the repository), and what the
tests share with ``bench/`` in ``daily_devtools``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.support.paths import REPO as _REPO  # imports nothing else: safe before the environment is set

_HOME = Path(tempfile.mkdtemp(prefix="daily-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(_REPO / "plugins")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ.pop("AIRFLOW_CONN_DAILY_DEFAULT", None)

import pytest  # noqa: E402

from daily_emulator import EmulatorServer  # noqa: E402
from daily_emulator.settings import RUNTIME_SETTINGS  # noqa: E402
from tests.support.daily import daily_connection_uri, emulator_settings  # noqa: E402


@pytest.fixture(scope="session")
def emulator_server():
    with EmulatorServer(settings=emulator_settings()) as server:
        yield server


@pytest.fixture
def emulator(emulator_server):
    """The session's emulator, reset to a clean domain and default settings for each test."""
    defaults = emulator_settings()
    emulator_server.admin.reset()
    emulator_server.admin.configure(**{name: _json(getattr(defaults, name)) for name in RUNTIME_SETTINGS})
    yield emulator_server
    emulator_server.admin.clear_faults()


def _json(value):
    """A settings value as the admin API takes it (pydantic models and their containers dumped)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


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
    from daily_devtools.postgres import ThrowawayPostgres

    with ThrowawayPostgres() as server:
        yield server


# The date matrix of .ci/test reruns these modules' unit tests at fixed instants under faketime (the
# marker ``date_sensitive``; a test elsewhere can carry it too): the calendar rules of provisioning,
# series, freshness and invitations, fast enough to run at every instant.
DATE_SENSITIVE_MODULES = {
    "tests/freshness/test_schedule.py",
    "tests/invitations/test_content_and_ical.py",
    "tests/invitations/test_plan.py",
    "tests/invitations/test_series_ical.py",
    "tests/invitations/test_tokens.py",
    "tests/properties/test_series_audit.py",
    "tests/provisioning/test_freshness_alerts.py",
    "tests/provisioning/test_impossible_times.py",
    "tests/provisioning/test_meetings.py",
    "tests/provisioning/test_series.py",
    "tests/provisioning/test_table.py",
    "tests/provisioning/test_true_alerts.py",
    "tests/provisioning/test_waiting.py",
    "tests/provisioning/test_window.py",
    "tests/test_sample.py",
}
# and these tests of modules otherwise left out (too slow to run whole at every instant)
DATE_SENSITIVE_TESTS = {
    "tests/provisioning/test_guarantees.py::test_one_bad_value_fails_only_its_own_meeting",
    "tests/provisioning/test_guarantees.py::test_rows_no_run_can_select_are_reported",
}

# Fixtures that make a test an integration test: a real Airflow run, PostgreSQL, subprocesses.
_INTEGRATION_FIXTURES = {"airflow_db", "provisioning_dag", "postgres_server", "invitations_dag"}
_INTEGRATION_MARKS = {"postgres", "slow", "cluster", "browser"}


def pytest_collection_modifyitems(config, items):
    """Mark every test ``unit`` or ``integration`` so a contributor can run the fast half alone:
    ``pytest -m unit`` (emulator over HTTP and SQLite files are fine; Airflow runs, PostgreSQL,
    the cluster and the browser are not)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        marks = {m.name for m in item.iter_markers()}
        heavy = fixtures & _INTEGRATION_FIXTURES or marks & _INTEGRATION_MARKS
        item.add_marker(pytest.mark.integration if heavy else pytest.mark.unit)
        module, test = item.nodeid.split("::", 1)[0], item.nodeid.split("[", 1)[0]
        if not heavy and (module in DATE_SENSITIVE_MODULES or test in DATE_SENSITIVE_TESTS):
            item.add_marker(pytest.mark.date_sensitive)
