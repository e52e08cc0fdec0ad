"""The Daily connection's ``webhook_secret`` extra stays out of every request to Daily (HttpHook
would turn an unknown extra into a header), and the bootstrap's webhook registration."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.calls.helpers import SECRET
from tests.support.daily import FAST_RETRIES, TEST_KEY


def test_the_webhook_secret_is_never_sent_as_a_header(emulator, monkeypatch):
    from airflow_provider_daily.hooks.daily import DailyHook

    conn = {
        "conn_type": "daily",
        "host": emulator.base_url,
        "password": TEST_KEY,
        "extra": {**FAST_RETRIES, "webhook_secret": SECRET},
    }
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", json.dumps(conn))
    hook = DailyHook()
    session = hook.get_conn()
    assert SECRET not in repr(dict(session.headers))
    assert hook.list_rooms(limit=1).total_count == 0  # and the hook still works


SECRET_SCRIPT = """
from daily_dialin.bootstrap import stored_webhook_secret
print(stored_webhook_secret("daily_default") or "")
"""


def _bootstrap(home, **extra):
    import subprocess
    import sys

    from tests.deploy.test_bootstrap import _env

    return subprocess.run(
        [sys.executable, "-m", "daily_dialin.bootstrap", "--migrate", "--create-meetings-table"],
        env=_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _secret_in_airflow(home) -> str:
    import subprocess
    import sys

    from tests.deploy.test_bootstrap import _env

    result = subprocess.run(
        [sys.executable, "-c", SECRET_SCRIPT], env=_env(home), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


@pytest.mark.slow
def test_every_bootstrap_run_keeps_the_stored_webhook_secret_and_makes_the_calls_tables(tmp_path):
    home = tmp_path / "airflow"
    home.mkdir()
    first = _bootstrap(home, DAILY_WEBHOOK_SECRET=SECRET)
    assert first.returncode == 0, first.stderr[-3000:]
    assert SECRET not in first.stdout + first.stderr, "the secret is never printed"
    assert _secret_in_airflow(home) == SECRET
    again = _bootstrap(home)  # connections.json has no secret: the import must not drop it
    assert again.returncode == 0, again.stderr[-3000:]
    assert _secret_in_airflow(home) == SECRET
    with sqlite3.connect(home / "airflow.db") as db:
        (extra,) = db.execute("SELECT extra FROM connection WHERE conn_id = 'daily_default'").fetchone()
    assert SECRET not in extra, "stored encrypted"
    with sqlite3.connect(home / "meetings.db") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"daily_meetings", "daily_call_events", "daily_calls"} <= tables, "the receiver's first request does no DDL"


def test_the_secret_given_wins_and_must_be_base64():
    from daily_dialin.bootstrap import BootstrapError, with_webhook_secret

    def settings(extra=None):
        conn = {"conn_type": "daily", "password": "k", **({"extra": extra} if extra else {})}
        return {"connections": {"daily_default": conn}, "variables": {"daily_provisioning": {}}}

    given = settings({"timeout": 5})
    assert with_webhook_secret(given, {"DAILY_WEBHOOK_SECRET": SECRET}, "c3RvcmVk") == SECRET
    assert given["connections"]["daily_default"]["extra"] == {"timeout": 5, "webhook_secret": SECRET}
    assert with_webhook_secret(settings(), {}, "c3RvcmVk") == "c3RvcmVk"
    assert with_webhook_secret(settings(), {}, None) is None
    with pytest.raises(BootstrapError, match="not base64"):
        with_webhook_secret(settings(), {"DAILY_WEBHOOK_SECRET": "not base64!"}, None)
