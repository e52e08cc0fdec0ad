"""The doctor: healthy is all ok; each check broken on purpose is fail/warn with a fix, the rest ok."""

from __future__ import annotations

import json

import pytest

from daily_dialin.doctor import DoctorOptions, diagnose, main
from daily_dialin.doctor.report import exit_code
from tests.doctor.conftest import insert, row
from tests.support.daily import OTHER_NUMBER, PIN_NUMBER, TEST_KEY


def by_name(checks):
    return {(c.area, c.name): c for c in checks}


def assert_only(checks, broken: dict[tuple[str, str], str], *, skipped=()):
    """``broken`` checks have the given status and a fix; every other check is ok (or skipped as said)."""
    found = by_name(checks)
    for key, status in broken.items():
        assert found[key].status == status, found[key]
        assert found[key].fix, found[key]
    for key, check in found.items():
        if key not in broken:
            expected = ("ok", "skip") if key in skipped or check.name in ("webhook", "phone callers") else ("ok",)
            assert check.status in expected, check


def test_healthy_deployment_is_all_ok(deployment, now, capsys):
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {})
    assert exit_code(checks) == 0
    assert by_name(checks)[("daily", "api key")].why == "accepted by domain 'acme' (GET /)"
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "all ok" in out


def test_json_output(deployment, capsys):
    assert main(["--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["exit_code"] == 0
    assert {c["area"] for c in body["checks"]} >= {"settings", "airflow", "table", "daily"}


# -- Daily ----------------------------------------------------------------------------------------
def test_wrong_api_key(deployment, monkeypatch, now):
    from tests.support.daily import daily_connection_uri

    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(deployment.base_url, key="another-domains-key")
    )
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("daily", "api key"): "fail"}, skipped=[("daily", "numbers"), ("daily", "room quota")])
    assert "another-domains-key" not in json.dumps([c.__dict__ for c in checks])


def test_number_on_no_dialin_config(deployment, hook, now):
    config = next(c for c in hook.iter_dialin_configs() if str(c.config.phone_number) == PIN_NUMBER)
    hook.delete_dialin_config(config.id)
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("daily", "numbers"): "fail"})
    assert (
        f"{PIN_NUMBER} (requested in the table) is purchased but on no dial-in config"
        in by_name(checks)[("daily", "numbers")].why
    )


def test_number_on_the_pinless_flow(deployment, hook, table, now):
    hook.create_dialin_config({"type": "pinless_dialin", "phone_number": OTHER_NUMBER, "name_prefix": "x"})
    insert(table, row(table, "M3", now, requested_phone_number=OTHER_NUMBER))
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("daily", "numbers"): "fail"})
    assert "on the pinless_dialin flow" in by_name(checks)[("daily", "numbers")].why


def test_number_not_purchased(deployment, table, now):
    insert(table, row(table, "M3", now, requested_phone_number="+12095550199"))
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("daily", "numbers"): "fail"})
    assert "+12095550199 (requested in the table) is not purchased" in by_name(checks)[("daily", "numbers")].why


def test_room_quota_exceeded_and_nearly(deployment, hook, now):
    checks = diagnose(DoctorOptions(room_quota=1), now=now)
    assert_only(checks, {("daily", "room quota"): "fail"})
    assert (
        "+ 2 the horizon still needs = 2 of a quota of 1 (--room-quota)" in by_name(checks)[("daily", "room quota")].why
    )
    checks = diagnose(DoctorOptions(room_quota=2), now=now)
    assert_only(checks, {("daily", "room quota"): "warn"})
    quota = by_name(diagnose(DoctorOptions(), now=now))[("daily", "room quota")]
    assert "assumed" in quota.why


# -- Airflow --------------------------------------------------------------------------------------
def test_missing_pool(deployment, now):
    from airflow.models.pool import Pool

    Pool.delete_pool("daily_api")
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("airflow", "pool"): "fail"})


def test_test_connection_disabled(deployment, monkeypatch, now):
    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Disabled")
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("airflow", "test_connection"): "warn"})
    assert exit_code(checks) == 1


def test_no_fernet_key_in_a_subprocess(deployment):
    import os
    import subprocess
    import sys

    env = {**os.environ, "AIRFLOW__CORE__FERNET_KEY": ""}
    done = subprocess.run(
        [sys.executable, "-m", "daily_dialin", "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr[-2000:]
    body = json.loads(done.stdout[done.stdout.index("{\n") :])  # after any log line Airflow prints
    failed = [c for c in body["checks"] if c["status"] != "ok" and c["status"] != "skip"]
    assert [(c["area"], c["name"]) for c in failed] == [("airflow", "fernet key")]
    assert "AIRFLOW__CORE__FERNET_KEY" in failed[0]["fix"]
    assert TEST_KEY not in done.stdout + done.stderr


@pytest.fixture
def watcher(deployment):
    """A meetings-table watcher registered as the DAG processor registers one; removed afterwards."""
    from airflow.models.asset import AssetModel, AssetWatcherModel
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session

    name = "daily_dialin_meetings_table"
    with create_session() as session:
        # the session's metadata DB may hold the asset already (a DAG test synced the shipped DAGs)
        asset = session.query(AssetModel).filter_by(name=name, uri=name).one_or_none()
        created = asset is None
        if created:
            asset = AssetModel(name=name, uri=name, group="asset")
            session.add(asset)
        trigger = Trigger(classpath="daily_dialin.freshness.trigger.MeetingsTableTrigger", kwargs={})
        session.add(trigger)
        session.flush()
        session.add(AssetWatcherModel(name=f"{name}_watcher_doctor_test", asset_id=asset.id, trigger_id=trigger.id))
        ids = asset.id, trigger.id
    yield
    with create_session() as session:
        session.query(AssetWatcherModel).filter(AssetWatcherModel.trigger_id == ids[1]).delete()
        if created:
            session.query(AssetModel).filter(AssetModel.id == ids[0]).delete()
        session.query(Trigger).filter(Trigger.id == ids[1]).delete()


def test_triggerer_needed_by_a_watcher(deployment, now):
    from daily_dialin.doctor import checks_airflow

    assert checks_airflow.triggerer(now).status == "ok"  # no watcher registered: no triggerer needed


def test_watcher_without_a_triggerer(watcher, now):
    from datetime import timedelta

    from airflow.jobs.job import Job
    from airflow.utils.session import create_session

    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("airflow", "triggerer"): "fail"})
    assert "no triggerer ever ran" in by_name(checks)[("airflow", "triggerer")].why
    with create_session() as session:
        job = Job(job_type="TriggererJob")
        job.latest_heartbeat = now - timedelta(minutes=10)
        session.add(job)
    try:
        found = by_name(diagnose(DoctorOptions(), now=now))[("airflow", "triggerer")]
        assert found.status == "fail" and "s old" in found.why
        with create_session() as session:
            session.query(Job).filter(Job.job_type == "TriggererJob").update({"latest_heartbeat": now})
        assert_only(diagnose(DoctorOptions(), now=now), {})
    finally:
        with create_session() as session:
            session.query(Job).filter(Job.job_type == "TriggererJob").delete()


# -- bad input to the doctor itself -------------------------------------------------------------
def test_unknown_table(deployment, now):
    checks = diagnose(DoctorOptions(table="no_such_table"), now=now)
    found = by_name(checks)
    assert found[("table", "columns")].status == "fail"
    assert "does not exist" in found[("table", "columns")].why and found[("table", "columns")].fix
    assert found[("table", "statuses")].status == "skip"


def test_connection_ids_that_do_not_exist(deployment, now, capsys):
    checks = diagnose(DoctorOptions(meetings_conn_id="nope_db", daily_conn_id="nope_daily"), now=now)
    found = by_name(checks)
    for key in [
        ("airflow", "connection nope_db"),
        ("airflow", "connection nope_daily"),
        ("table", "connection"),
        ("daily", "api key"),
    ]:
        assert found[key].status == "fail", found[key]
        assert found[key].fix
    assert main(["--meetings-conn-id", "nope_db"]) == 2


@pytest.mark.parametrize(
    ("raw", "said"),
    [("{not json", "not valid JSON"), ('["a list"]', "must be a JSON object"), ('{"table": "a b"}', "table")],
)
def test_malformed_variable(deployment, monkeypatch, now, raw, said, capsys):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", raw)
    checks = diagnose(DoctorOptions(), now=now)
    found = by_name(checks)
    assert found[("settings", "variable")].status == "fail"
    assert said in found[("settings", "variable")].why
    assert found[("table", "all")].status == found[("daily", "all")].status == "skip"
    assert main([]) == 2


def test_wrong_connection_type(deployment, monkeypatch, now):
    monkeypatch.setenv("AIRFLOW_CONN_NOT_DAILY", json.dumps({"conn_type": "sqlite", "host": "/nonexistent.db"}))
    checks = diagnose(DoctorOptions(daily_conn_id="not_daily"), now=now)
    found = by_name(checks)[("airflow", "connection not_daily")]
    assert found.status == "fail" and "needs daily" in found.why


# -- secrets --------------------------------------------------------------------------------------
def test_never_prints_the_key_a_pin_or_a_caller_number(deployment, table, now, capsys):
    pin = "48213697705"
    insert(table, row(table, "P1", now, dialin_pin=pin, dial_string=f"tel:{PIN_NUMBER},,{pin}", status=pin))
    insert(table, row(table, "P2", now, starts_at=f"pin {pin}"))
    code = main(["--json"])
    out = capsys.readouterr().out
    code_text = main([])
    text = capsys.readouterr().out
    assert code == code_text == 2
    for secret in (TEST_KEY, pin):
        assert secret not in out and secret not in text
    assert "<11 digits>" in out


# -- the table ------------------------------------------------------------------------------------
def test_unparseable_and_impossible_times(deployment, table, now):
    insert(
        table,
        row(table, "BAD1", now, starts_at="05/12/2026 10:00"),
        row(table, "BAD2", now, ends_at=table.ts(now)),  # ends two days before it starts
    )
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("table", "times and ids"): "fail"})
    why = by_name(checks)[("table", "times and ids")].why
    assert "1 with unparseable times" in why and "1 ending before they start ('BAD2')" in why


def test_unknown_statuses_with_counts(deployment, table, now):
    insert(
        table, *(row(table, f"S{i}", now, status="confirmed") for i in range(3)), row(table, "S9", now, status=" Sched")
    )
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("table", "statuses"): "warn"})
    assert "'confirmed': 3" in by_name(checks)[("table", "statuses")].why


def test_far_ahead_and_series_disagreeing(deployment, table, now):
    insert(
        table,
        row(table, "FAR", now, days=400, series_id=None),
        row(table, "A1", now, series_id="weekly", days=1),
        row(table, "A2", now, series_id="weekly", days=8, requested_phone_number=None),
    )
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("table", "far ahead"): "warn", ("table", "series"): "fail"})
    assert "'weekly'" in by_name(checks)[("table", "series")].why


def test_duplicates_missing_index_and_callers_on_a_custom_table(deployment, table, now):
    with table.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE custom AS SELECT *, 0 AS callers FROM daily_meetings")
        conn.exec_driver_sql("INSERT INTO custom SELECT *, 7 FROM daily_meetings WHERE meeting_id = 'M1'")
    checks = diagnose(DoctorOptions(table="custom", callers_column="callers"), now=now)
    assert_only(
        checks,
        {
            ("table", "duplicate ids"): "fail",
            ("table", "indexes"): "warn",
            ("table", "phone callers"): "warn",
        },
    )


def test_timestamp_types_on_postgres(deployment, postgres_server, monkeypatch, now):
    """A PostgreSQL table whose times are text: fail with the type to use."""
    import uuid
    from contextlib import closing

    import psycopg2

    name = f"doctor_{uuid.uuid4().hex[:10]}"
    with closing(psycopg2.connect(postgres_server.uri)) as admin:
        admin.autocommit = True
        admin.cursor().execute(f"CREATE DATABASE {name}")
    conn = {
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": postgres_server.port,
        "login": "postgres",
        "schema": name,
    }
    monkeypatch.setenv("AIRFLOW_CONN_PG_MEETINGS", json.dumps(conn))
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    pg = MeetingsTable.from_config(ProvisioningConfig(meetings_conn_id="pg_meetings"))
    pg.create_schema()
    insert(pg, row(pg, "P1", now))
    assert_only(diagnose(DoctorOptions(meetings_conn_id="pg_meetings"), now=now), {})
    with pg.engine.begin() as c:
        c.exec_driver_sql("ALTER TABLE daily_meetings ALTER COLUMN ends_at TYPE TEXT")
    checks = diagnose(DoctorOptions(meetings_conn_id="pg_meetings"), now=now)
    found = by_name(checks)[("table", "column types")]
    assert found.status == "fail" and "TIMESTAMPTZ" in found.why


# -- the calls loop's webhook ---------------------------------------------------------------------
@pytest.fixture
def receiver():
    """A receiver that answers 200 (Daily pings a webhook's URL when it is created)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Ok(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/daily/webhooks"
    server.shutdown()


def test_webhook_not_registered_then_active(deployment, hook, receiver, monkeypatch, now):
    assert by_name(diagnose(DoctorOptions(), now=now))[("daily", "webhook")].status == "skip"  # no URL: no loop
    monkeypatch.setenv("DAILY_WEBHOOK_URL", receiver)
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {("daily", "webhook"): "fail"})
    assert f"no webhook points at {receiver}" in by_name(checks)[("daily", "webhook")].why
    hook.create_webhook(url=receiver, event_types=["participant.joined"], hmac_secret="c2VjcmV0LXNlY3JldA==")
    checks = diagnose(DoctorOptions(), now=now)
    assert_only(checks, {})
    assert by_name(checks)[("daily", "webhook")].why == f"ACTIVE, pointing at {receiver}"
    assert "c2VjcmV0LXNlY3JldA==" not in str(checks)


def test_a_failed_webhook_is_a_failure(receiver):
    """Daily's FAILED state as GET /webhooks reports it (the emulator reaches it only after three failed
    deliveries with circuit-breaker retries: the state itself is what matters here)."""
    from daily_dialin.doctor.checks_daily import webhook

    class Listing:  # GET /webhooks's answer, as the hook returns it
        def list_webhooks(self):
            return [{"uuid": "u1", "url": receiver, "state": "FAILED"}]

    found = webhook(Listing(), receiver)
    assert found.status == "fail" and "is FAILED" in found.why and "--register-webhook" in found.fix


def test_connection_stored_with_another_fernet_key(deployment, monkeypatch, now):
    from airflow.models.connection import Connection
    from airflow.models.crypto import get_fernet
    from airflow.utils.session import create_session
    from cryptography.fernet import Fernet

    with create_session() as session:
        session.add(Connection(conn_id="old_key_daily", conn_type="daily", password="stored-with-the-old-key"))
    try:
        monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
        get_fernet.cache_clear()
        checks = diagnose(DoctorOptions(daily_conn_id="old_key_daily"), now=now)
        found = by_name(checks)[("airflow", "connection old_key_daily")]
        assert found.status == "fail" and "another Fernet key" in found.why and "rotate-fernet-key" in found.fix
        assert "stored-with-the-old-key" not in str(checks)
    finally:
        with create_session() as session:
            session.execute(Connection.__table__.delete().where(Connection.__table__.c.conn_id == "old_key_daily"))


def test_room_quota_counts_this_deployments_rooms_series_included(deployment, hook, now):
    from airflow_provider_daily.models import RoomCreate

    for name in ("mtg-M1", "mtg_s-WEEKLY", "other-room"):
        hook.create_room(RoomCreate(name=name))
    quota = by_name(diagnose(DoctorOptions(), now=now))[("daily", "room quota")]
    assert quota.why.startswith("3 live rooms (2 under prefix 'mtg')"), quota.why
