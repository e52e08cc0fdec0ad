"""``provisioning_schedule``: what it returns, that a DAG scheduled with it serializes the way the
DAG processor stores it, and that Airflow makes exactly one watcher trigger for it, only while the
DAG is unpaused, which the triggerer can rebuild from the stored kwargs.
"""

from __future__ import annotations

import textwrap

import pytest
from airflow.sdk import Asset, AssetOrTimeSchedule

from daily_dialin.freshness.schedule import DEFAULT_ASSET_NAME, provisioning_schedule, watch_asset_name
from daily_dialin.freshness.trigger import CLASSPATH, MeetingsTableTrigger

DAG_FILE = """
import pendulum
from airflow.sdk import DAG, task

from daily_dialin.freshness.schedule import provisioning_schedule

with DAG(
    "{dag_id}",
    schedule=provisioning_schedule({arguments}),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
):
    @task
    def step():
        pass

    step()
"""


def test_without_watch_it_is_todays_cron_or_nothing():
    assert provisioning_schedule(watch=False) == "@daily"
    assert provisioning_schedule(watch=False, safety_schedule="0 */6 * * *") == "0 */6 * * *"
    assert provisioning_schedule(watch=False, safety_schedule="") is None
    assert provisioning_schedule(watch=False, safety_schedule=None) is None


def test_with_watch_it_is_the_watched_asset_or_the_safety_cron():
    schedule = provisioning_schedule(config_overrides={"horizon_days": 3, "chunk_size": None}, poll_seconds=5)
    assert isinstance(schedule, AssetOrTimeSchedule)
    assert schedule.timetable.expression == "0 0 * * *" and str(schedule.timetable.timezone) == "UTC"
    asset = schedule.asset_condition
    assert isinstance(asset, Asset) and asset.name == DEFAULT_ASSET_NAME
    (watcher,) = asset.watchers
    assert watcher.name == f"{DEFAULT_ASSET_NAME}_watcher"
    assert isinstance(watcher.trigger, MeetingsTableTrigger)
    _, kwargs = watcher.trigger.serialize()
    assert kwargs["config_overrides"] == {"horizon_days": 3} and kwargs["poll_seconds"] == 5.0

    alone = provisioning_schedule(safety_schedule=None, asset_name=watch_asset_name(table="ops_meetings"))
    assert isinstance(alone, Asset) and alone.name == "daily_dialin_meetings_table.ops_meetings"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"asset_name": "daily_dialin_meetings"}, "would loop"),
        ({"asset_name": "x", "emitted_assets": ["x"]}, "would loop"),
        ({"safety_schedule": "@once"}, "cron"),
        ({"poll_seconds": 0}, "positive"),
    ],
)
def test_refuses_a_schedule_that_would_loop_or_never_poll(kwargs, message):
    with pytest.raises(ValueError, match=message):
        provisioning_schedule(**kwargs)


def _bag(tmp_path, dag_id: str, arguments: str):
    from airflow.dag_processing.dagbag import DagBag

    path = tmp_path / f"{dag_id}.py"
    path.write_text(textwrap.dedent(DAG_FILE.format(dag_id=dag_id, arguments=arguments)))
    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    return bag


@pytest.mark.parametrize(
    ("arguments", "timetable"),
    [
        ("", "airflow.timetables.assets.AssetOrTimeSchedule"),
        ("safety_schedule=None", "airflow.timetables.simple.AssetTriggeredTimetable"),
        ("watch=False", "airflow.timetables.trigger.CronTriggerTimetable"),
    ],
)
def test_a_dag_scheduled_with_it_serializes_and_deserializes(tmp_path, arguments, timetable):
    from airflow.serialization.serialized_objects import DagSerialization

    dag = _bag(tmp_path, "fresh_serialize", arguments).dags["fresh_serialize"]
    data = DagSerialization.to_dict(dag)
    back = DagSerialization.from_dict(data)
    assert f"{type(back.timetable).__module__}.{type(back.timetable).__name__}" == timetable
    if "Asset" in timetable:
        ((_, asset),) = list(back.timetable.asset_condition.iter_assets())
        (watcher,) = asset.watchers
        assert watcher.trigger["classpath"] == CLASSPATH
        assert watcher.trigger["kwargs"] == MeetingsTableTrigger().serialize()[1]


def test_airflow_keeps_one_watcher_trigger_while_the_dag_is_unpaused(airflow_db, tmp_path):
    from airflow.dag_processing.dagbag import sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.trigger import Trigger
    from airflow.serialization.decoders import smart_decode_trigger_kwargs
    from airflow.utils.session import create_session

    dag_id = "fresh_watcher_rows"
    bag = _bag(tmp_path, dag_id, "config_overrides={'horizon_days': 3}")
    with create_session() as session:
        if session.get(DagBundleModel, "dags-folder") is None:
            session.add(DagBundleModel(name="dags-folder"))

    def ours() -> list[Trigger]:
        with create_session() as session:
            rows = session.query(Trigger).filter(Trigger.classpath == CLASSPATH).all()
            return [row for row in rows if any(a.name == DEFAULT_ASSET_NAME for a in row.assets)]

    def set_paused(paused: bool) -> None:
        with create_session() as session:
            session.query(DagModel).filter(DagModel.dag_id == dag_id).update({"is_paused": paused})

    sync_bag_to_db(bag, "dags-folder", None)
    assert ours() == []  # new DAGs start paused: nothing polls
    set_paused(False)
    try:
        sync_bag_to_db(bag, "dags-folder", None)
        (trigger,) = ours()
        sync_bag_to_db(bag, "dags-folder", None)  # a re-parse with the same kwargs keeps the row
        assert [t.id for t in ours()] == [trigger.id]
        # what the triggerer does with the row (TriggerRunner.create_triggers)
        kwargs = {
            k: smart_decode_trigger_kwargs(v) for k, v in Trigger._decrypt_kwargs(trigger.encrypted_kwargs).items()
        }
        rebuilt = MeetingsTableTrigger(**kwargs)
        assert rebuilt.config_overrides == {"horizon_days": 3}
        assert rebuilt.serialize() == MeetingsTableTrigger(config_overrides={"horizon_days": 3}).serialize()
    finally:
        set_paused(True)
    sync_bag_to_db(bag, "dags-folder", None)
    assert ours() == []  # paused again: the asset lets go of its watcher


def test_runs_the_watch_starts_provision_the_rolling_horizon():
    """``asset_triggered`` runs have no logical date and default params: the rolling window."""
    from datetime import UTC, datetime, timedelta

    from daily_dialin.provisioning.params import PROVISIONING_PARAMS
    from daily_dialin.provisioning.window import resolve_window

    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    defaults = {key: getattr(param, "value", param) for key, param in dict(PROVISIONING_PARAMS).items()}
    window = resolve_window(
        params=defaults, run_type="asset_triggered", logical_date=None, now=now, horizon_days=3, lead_days=30
    )
    assert window.mode == "rolling" and not window.dry_run
    assert (window.selection.ends_after, window.selection.starts_before) == (now, now + timedelta(days=3))
