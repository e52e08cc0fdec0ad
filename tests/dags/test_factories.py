"""The DAG factories: a user's own DAG file builds a second provisioning DAG for a second table,
and it runs end to end (``dag.test()``, SQLite, the emulator) writing into that table only; how the
factory's arguments rank against the Variable; one home for the pool and the meetings asset."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from daily_demo.sample import insert_meetings, sample_meetings
from tests.provisioning import conftest as provisioning_fixtures
from tests.support.daily import PIN_NUMBER, daily_connection_uri, provisioning_conf

sqlite_meetings_db = provisioning_fixtures.sqlite_meetings_db

LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"

OPS_COLUMNS = {"meeting_id": "id", "title": "name", "starts_at": "start_time", "ends_at": "end_time", "status": "state"}
OPS_DAG_FILE = '''
"""A user's own Airflow DAG file: provisioning and invitations for a second meetings table."""
from daily_dialin.dags import TableRef, invitations_dag, provisioning_dag

# the same table and settings for both: the invitations DAG reads the table as provisioning does
OPS = TableRef(daily_conn_id="ops_daily", meetings_conn_id="ops_meetings_db", table="ops_meetings", columns={columns!r})
SETTINGS = {{"provisionable_statuses": ["confirmed"], "room_name_prefix": "ops", "chunk_size": 50}}
ops = provisioning_dag(dag_id="ops_provisioning", source=OPS, settings=SETTINGS, schedule=None, tags=["daily", "ops"])
ops_invitations = invitations_dag(dag_id="ops_invitations", source=OPS, settings=SETTINGS, base_path={base!r})
'''


def _ops_table(path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE ops_meetings (id TEXT PRIMARY KEY, name TEXT, start_time TEXT, end_time TEXT,"
            " timezone TEXT, dialin_display_name TEXT, wait_for_meeting_start INTEGER,"
            " requested_phone_number TEXT, state TEXT, room_name TEXT, room_url TEXT, dialin_pin TEXT,"
            " dialin_number TEXT, dial_string TEXT, provisioned_at TEXT, room_exp INTEGER, room_fingerprint TEXT,"
            " last_error TEXT, attempts INTEGER NOT NULL DEFAULT 0)"
        )
        conn.executemany(
            "INSERT INTO ops_meetings (id, name, start_time, end_time, timezone, state) VALUES (?, ?, ?, ?, 'UTC', ?)",
            [
                (
                    f"OPS{i}",
                    f"Ops {i}",
                    f"{start + timedelta(hours=i):%Y-%m-%d %H:%M:%S}",
                    f"{start + timedelta(hours=i + 1):%Y-%m-%d %H:%M:%S}",
                    state,
                )
                for i, state in enumerate(["confirmed", "confirmed", "confirmed", "draft"])
            ],
        )


@pytest.fixture
def ops_dags(airflow_db, tmp_path, monkeypatch, daily_conn):
    """The user's DAG file (a second table, connection and Daily connection), parsed by a DagBag."""
    from airflow.dag_processing.dagbag import DagBag

    _ops_table(tmp_path / "ops.db")
    monkeypatch.setenv(
        "AIRFLOW_CONN_OPS_MEETINGS_DB", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "ops.db")})
    )
    monkeypatch.setenv("AIRFLOW_CONN_OPS_DAILY", daily_connection_uri(daily_conn.base_url))
    folder = tmp_path / "user_dags"
    folder.mkdir()
    (folder / "ops_dialin.py").write_text(
        OPS_DAG_FILE.format(columns=OPS_COLUMNS, base=str(tmp_path / "ops_invites")), encoding="utf-8"
    )
    # the user's folder is a DAG bundle of its own, next to the shipped dags/ (dag.test() syncs it)
    bundles = [
        {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
        {"name": "user-dags", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(folder)}},
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    return bag.dags["ops_provisioning"], bag.dags["ops_invitations"]


def _rows(path, table: str = "ops_meetings", key: str = "id") -> dict[str, dict]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return {row[key]: dict(row) for row in conn.execute(f"SELECT * FROM {table}")}


def test_a_second_table_gets_its_own_dag_and_only_its_rows_change(
    ops_dags, sqlite_meetings_db, daily_conn, tmp_path, monkeypatch
):
    ops, ops_invitations = ops_dags
    # the deployment's Variable describes the first table and tunes chunk_size for every DAG
    monkeypatch.setenv(
        "AIRFLOW_VAR_DAILY_PROVISIONING", json.dumps({"table": "daily_meetings", "chunk_size": 2, "max_attempts": 3})
    )
    insert_meetings(sqlite_meetings_db, sample_meetings(count=4, pin_number=PIN_NUMBER))
    first_before = _rows(tmp_path / "m.db", "daily_meetings", "meeting_id")

    dag_run = ops.test(run_conf=provisioning_conf())
    assert dag_run.state == "success"

    rows = _rows(tmp_path / "ops.db")
    confirmed = {mid for mid, row in rows.items() if row["state"] == "confirmed"}
    assert {mid for mid, row in rows.items() if row["room_name"]} == confirmed  # the factory's statuses
    rooms = {room["name"]: room for room in daily_conn.admin.snapshot()["rooms"]}
    for mid in confirmed:
        assert rows[mid]["room_name"] == f"ops-{mid}"  # the factory's prefix
        assert rows[mid]["dialin_pin"] == rooms[f"ops-{mid}"]["config"]["dialin_code"]
    assert set(rooms) == {f"ops-{mid}" for mid in confirmed}
    # the Variable still tunes it (chunk_size 2 beats the factory's 50): 3 meetings, 2 chunk tasks
    assert len([ti for ti in dag_run.get_task_instances() if ti.task_id == "provision_chunk"]) == 2

    first_after = _rows(tmp_path / "m.db", "daily_meetings", "meeting_id")
    assert first_after == first_before, "the first table is untouched"

    asset = "daily_dialin_meetings.ops_meetings_db.ops_meetings"
    assert [o.name for o in ops.get_task("summarize").outlets] == [asset]
    assert [a.name for a in ops_invitations.timetable.asset_condition.objects] == [asset]

    # its invitations DAG reads the same table and writes to its own base (beating the Variable's)
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_INVITATIONS", json.dumps({"base_path": str(tmp_path / "elsewhere")}))
    assert ops_invitations.test(run_conf={"meeting_ids": None, "force": False}).state == "success"
    written = sorted(path.name for path in (tmp_path / "ops_invites" / "attendees").iterdir())
    assert written == sorted(f"ops-{mid}.ics" for mid in confirmed)
    assert not (tmp_path / "elsewhere").exists()


def test_the_shipped_dags_share_the_meetings_asset_and_the_pool(monkeypatch):
    from daily_dialin import bootstrap
    from daily_dialin.dags import invitations_dag, provisioning_dag, reconcile_dag
    from daily_dialin.dags.defaults import MEETINGS_ASSET, meetings_asset_name, pool_name

    monkeypatch.setenv("DAILY_API_POOL", "other_pool")
    assert pool_name() == bootstrap.pool_name() == "other_pool"
    prov, rec = provisioning_dag(dag_id="p"), reconcile_dag(dag_id="r")
    inv = invitations_dag(dag_id="i")
    assert prov.get_task("provision_chunk").pool == rec.get_task("reconcile").pool == "other_pool"
    names = {o.name for o in [*prov.get_task("summarize").outlets, *rec.get_task("reconcile").outlets]}
    assert names == {MEETINGS_ASSET} == {a.name for a in inv.timetable.asset_condition.objects}
    assert meetings_asset_name(table="a") != meetings_asset_name(table="b")
    assert provisioning_dag(dag_id="p2", table="a").get_task("summarize").outlets[0].name == "daily_dialin_meetings.a"
    monkeypatch.delenv("DAILY_API_POOL")
    assert pool_name() == "daily_api"


def test_factory_settings_rank_below_the_variable_and_identity_above(monkeypatch):
    from daily_dialin.dags.layers import given, provisioning_layers

    layers = provisioning_layers(
        identity=given(table="ops_meetings", columns={"meeting_id": "id"}, daily_conn_id=None),
        settings={"chunk_size": 50, "room_name_prefix": "ops"},
    )
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", json.dumps({"table": "daily_meetings", "chunk_size": 2}))
    assert layers.overrides({"lead_days": None, "horizon_days": 7}) == {
        "room_name_prefix": "ops",  # the Variable does not set it
        "table": "ops_meetings",  # identity beats the Variable
        "columns": {"meeting_id": "id"},
        "horizon_days": 7,  # a run's Param beats everything; None means "not given"
    }
    from daily_dialin.provisioning.config import ProvisioningConfig

    config = ProvisioningConfig.load(layers.overrides())
    assert (config.table, config.chunk_size, config.room_name_prefix) == ("ops_meetings", 2, "ops")
    monkeypatch.delenv("AIRFLOW_VAR_DAILY_PROVISIONING")
    assert ProvisioningConfig.load(layers.overrides()).chunk_size == 50


def test_factory_arguments_are_checked_when_the_file_is_parsed():
    from pydantic import ValidationError

    from daily_dialin.dags import invitations_dag, provisioning_dag

    with pytest.raises(TypeError, match="pass table as keyword"):
        provisioning_dag(dag_id="x", settings={"table": "t"})
    with pytest.raises(TypeError, match="unknown ProvisioningConfig setting"):
        provisioning_dag(dag_id="x", settings={"chunk_sise": 3})
    with pytest.raises(ValidationError, match="chunk_size"):
        provisioning_dag(dag_id="x", settings={"chunk_size": 0})
    with pytest.raises(ValidationError, match="table"):
        provisioning_dag(dag_id="x", table="no; drop")
    with pytest.raises(TypeError, match="unknown InvitationSettings setting"):
        invitations_dag(dag_id="x", invitation_settings={"hostlinks": False})


def test_every_optional_param_of_every_form_accepts_null():
    """A Param whose type lacks "null" gets the form's red "required" asterisk."""
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.daily import REPO

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    checked = []
    for dag in bag.dags.values():
        for name, param in dag.params.items():
            if param.value in (None, [], {}):  # optional: the form may leave it empty
                types = param.schema.get("type")
                assert isinstance(types, list) and "null" in types, f"{dag.dag_id}.{name} shows as required"
                param.resolve(None)  # and empty validates
                checked.append(f"{dag.dag_id}.{name}")
    assert "daily_dialin_provisioning.meeting_ids" in checked
    assert "daily_dialin_invitations.meeting_ids" in checked
