"""``daily_dialin_calls`` with ``dag.test()``: events the receiver stored become calls-table rows and
meeting figures; a dial-in error fails ``alert_dialin_errors`` naming the meeting; no number in
logs or XCom. And the DAG's schedule is the events-table watcher."""

from __future__ import annotations

import pytest

from tests.calls.helpers import CALLER, body_of, dialin
from tests.calls.test_fold import add_figure_columns, seed_meetings, store_all, ts


@pytest.fixture(scope="module")
def calls_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.daily import REPO

    bag = DagBag(dag_folder=str(REPO / "dags" / "daily_dialin_calls.py"))
    assert not bag.import_errors
    return bag.dags["daily_dialin_calls"]


def xcom_text(dag_id: str) -> str:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return repr([x.value for x in session.query(XComModel).filter(XComModel.dag_id == dag_id)])


def states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


@pytest.fixture
def sqlite_calls(request, tmp_path, monkeypatch, daily_secret):
    import json

    from daily_dialin.calls.settings import CallsSettings
    from daily_dialin.calls.store import CallsStore
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "m.db")})
    )
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    return table, CallsStore(engine=table.engine, settings=CallsSettings())


def test_the_dag_folds_events_and_alerts_on_errors(calls_dag, sqlite_calls, caplog, capfd):
    table, store = sqlite_calls
    seed_meetings(table)
    add_figure_columns(table)
    store_all(
        store, [dialin("dialin.connected", "mtg-M1", "s-1", ts(1)), dialin("dialin.stopped", "mtg-M1", "s-1", ts(11))]
    )
    run = calls_dag.test()
    assert states(run) == {
        "read_meetings_api": "success",
        "fold_events": "success",
        "alert_dialin_errors": "success",
        "revoke_ended": "success",
    }
    (call,) = store.read_calls()
    assert (call.meeting_id, call.caller, call.duration_seconds) == ("M1", "+1***23", 600)

    store_all(store, [dialin("dialin.error", "mtg-M1", "s-2", ts(20), error_msg="no route to carrier")])
    run = calls_dag.test()
    assert states(run) == {
        "read_meetings_api": "success",
        "fold_events": "success",
        "alert_dialin_errors": "failed",
        "revoke_ended": "success",
    }
    assert "meeting M1 (room mtg-M1): no route to carrier" in caplog.text + "".join(capfd.readouterr())
    with table.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT phone_callers, last_dialin_error FROM daily_meetings WHERE meeting_id='M1'")
        assert tuple(row.one()) == (1, "no route to carrier")
    logs = caplog.text
    assert CALLER not in logs and CALLER[1:] not in logs
    stored = xcom_text(calls_dag.dag_id)
    assert "no route to carrier" in stored and CALLER[1:] not in stored


def test_the_schedule_is_the_events_watcher(calls_dag):
    from daily_dialin.calls.trigger import CallEventsTrigger

    asset = calls_dag.timetable.asset_condition  # the watched asset (or the cron)
    assert asset.name == "daily_dialin_call_events"
    watcher, revokes = asset.watchers  # stored events; ended meetings' rooms due (calls/revoke_trigger.py)
    assert isinstance(watcher.trigger, CallEventsTrigger) and watcher.trigger.poll_seconds == 5.0
    assert type(revokes.trigger).__name__ == "RevokeDueTrigger"
    assert calls_dag.max_active_runs == 1
    assert calls_dag.get_task("alert_dialin_errors").retries == 0


def test_the_watcher_fires_for_stored_events_only(sqlite_calls):
    import asyncio
    import contextlib

    from daily_dialin.calls.events import parse_event
    from daily_dialin.calls.trigger import CallEventsTrigger

    _, store = sqlite_calls

    async def scenario():
        trigger = CallEventsTrigger(poll_seconds=0.05, refire_seconds=60)
        events = trigger.run()
        first = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.3)
        assert not first.done(), "no event stored: no fire"
        from datetime import UTC, datetime

        store.ensure_schema()
        await asyncio.to_thread(
            store.insert_event,
            parse_event(body_of(dialin("dialin.connected", "mtg-M1", "s-1", ts(1)))),
            received_at=datetime.now(UTC),
        )
        fired = await asyncio.wait_for(first, 10)
        assert fired.payload["pending"] == 1
        again = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.3)
        assert not again.done(), "the same pending event does not fire again at once"
        again.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await again
        await events.aclose()

    asyncio.run(scenario())
