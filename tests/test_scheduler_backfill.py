"""``airflow backfill create`` for an upcoming calendar, executed by a real scheduler.

Airflow refuses future backfill dates; a backfill run with logical date D provisions the meetings
starting on D + lead_days. This test backfills two past days with lead_days=45 and checks that
exactly the meetings of the two mapped future days got rooms, and not those of the day after.
The meetings lie beyond the rolling horizon (30 days), so the scheduled run that unpausing
triggers provisions none of them.
"""

from __future__ import annotations

import json
import time
from contextlib import closing
from datetime import UTC, date, datetime, timedelta

import pytest

from daily_demo.sample import insert_meetings
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.table import MeetingsTable
from tests.support.daily import REPO
from tests.support.standalone import StandaloneAirflow

LEAD = 45


def _meetings(days: list[date]) -> list[dict]:
    meetings = []
    for day in days:
        for hour in (9, 15):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
            meetings.append(
                {
                    "meeting_id": f"C-{day:%m%d}-{hour}",
                    "title": f"Conference {day:%d %b} {hour}:00",
                    "starts_at": start,
                    "ends_at": start + timedelta(hours=1),
                    "timezone": "UTC",
                    "wait_for_meeting_start": True,
                    "status": "scheduled",
                }
            )
    return meetings


def _runs(airflow: StandaloneAirflow) -> list[dict]:
    out = airflow.cli("dags", "list-runs", "daily_dialin_provisioning", "-o", "json").stdout
    start = out.find("[{")
    return json.loads(out[start:]) if start >= 0 else []


@pytest.mark.slow
@pytest.mark.postgres
def test_backfill_provisions_day_plus_lead(tmp_path, daily_conn, monkeypatch, postgres_server):
    import psycopg2

    with closing(psycopg2.connect(postgres_server.uri)) as admin:
        admin.autocommit = True
        admin.cursor().execute("CREATE DATABASE airflow_backfill_test")
    metadata_uri = postgres_server.uri.replace("postgresql://", "postgresql+psycopg2://").rsplit("/", 1)[0]

    db = tmp_path / "meetings.db"
    meetings_conn = json.dumps({"conn_type": "sqlite", "host": str(db)})
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_MEETINGS_DB", meetings_conn)
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    today = datetime.now(UTC).date()
    backfill_days = [today - timedelta(days=5), today - timedelta(days=4)]
    covered = [d + timedelta(days=LEAD) for d in backfill_days]
    not_covered = covered[-1] + timedelta(days=1)
    insert_meetings(table, _meetings([*covered, not_covered]))

    airflow = StandaloneAirflow(
        home=tmp_path / "airflow",
        dags_folder=REPO / "dags",
        env={"AIRFLOW_CONN_DAILY_MEETINGS_DB": meetings_conn},
        metadata_uri=f"{metadata_uri}/airflow_backfill_test",
    )
    airflow.start()
    try:
        assert airflow.cli("pools", "set", "daily_api", "2", "Daily API").returncode == 0
        deadline = time.monotonic() + 120
        while "daily_dialin_provisioning" not in airflow.cli("dags", "list", "-o", "json").stdout:
            assert time.monotonic() < deadline, "the DAG processor never listed the DAG"
            time.sleep(2)
        assert airflow.cli("dags", "unpause", "daily_dialin_provisioning").returncode == 0
        created = airflow.cli(
            "backfill",
            "create",
            "--dag-id",
            "daily_dialin_provisioning",
            "--from-date",
            backfill_days[0].isoformat(),
            "--to-date",
            backfill_days[-1].isoformat(),
            "--dag-run-conf",
            json.dumps({"lead_days": LEAD}),
        )
        assert created.returncode == 0, created.stdout + created.stderr

        deadline = time.monotonic() + 300
        while True:
            backfills = [r for r in _runs(airflow) if r["run_id"].startswith("backfill__")]
            if len(backfills) == 2 and all(r["state"] in ("success", "failed") for r in backfills):
                break
            assert time.monotonic() < deadline, f"backfill runs did not finish: {backfills}"
            time.sleep(3)
    finally:
        airflow.stop()

    assert {r["state"] for r in backfills} == {"success"}, backfills
    provisioned = {r["meeting_id"] for r in table.read_all() if r["room_name"]}
    assert provisioned == {f"C-{d:%m%d}-{h}" for d in covered for h in (9, 15)}
    rooms = {r["name"] for r in daily_conn.admin.snapshot()["rooms"]}
    assert rooms == {f"mtg-{mid}" for mid in provisioned}
