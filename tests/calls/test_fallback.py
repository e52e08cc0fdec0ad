"""The calls loop without webhooks, over real HTTP: the emulator's room life (joins, a call by PIN,
leaves, its clock) read back from ``GET /meetings`` by :mod:`daily_dialin.calls.meetings_api`, folded
by the same fold. Fills actual end, participants and their minutes; never phone callers (the
analytics cannot tell a caller from a browser); joins under 10 s are not recorded (Daily's rule,
switched on in the emulator); a meeting is read once, after it ended; rooms of another prefix are
left out. And the calls DAG reads ``/meetings`` with ``calls_source: "meetings_api"``."""

from __future__ import annotations

import json
import time

import pytest

from airflow_provider_daily.hooks.daily import DailyHook
from daily_dialin.calls import meetings_api, process
from daily_dialin.calls.settings import CallsSettings
from tests.calls.helpers import dialin
from tests.calls.test_fold import add_figure_columns
from tests.hooks.helpers import dialin_spec
from tests.support.daily import PIN_NUMBER, daily_connection_uri
from tests.support.engine import insert_rows

CALLER = "+12095550166"
COLUMNS = ("phone_callers", "phone_minutes", "actual_end_at", "participants", "participant_minutes")


def _meeting_row(table, meeting_id: str, room: str) -> None:
    now = time.time()
    stamp = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))  # noqa: E731
    row = {"meeting_id": meeting_id, "title": meeting_id, "starts_at": stamp(now - 600), "ends_at": stamp(now + 3000)}
    insert_rows(table, [{**row, "timezone": "UTC", "status": "scheduled", "room_name": room}])


def _add_participant_columns(table) -> None:
    with table.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE daily_meetings ADD COLUMN participants INTEGER")
        conn.exec_driver_sql("ALTER TABLE daily_meetings ADD COLUMN participant_minutes REAL")


@pytest.fixture
def fallback(calls_db, emulator, monkeypatch):
    """The meetings database with figure columns, ``daily_default`` on the emulator, Daily's 10 s rule."""
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator.base_url))
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_CALLS", json.dumps({"calls_source": "meetings_api"}))
    table, store = calls_db
    add_figure_columns(table)
    _add_participant_columns(table)
    emulator.admin.configure(meetings_min_participation_seconds=10)  # [doc] joins under 10 s not recorded
    return table, store, emulator.admin, DailyHook()


def _figures(table, meeting_id: str) -> dict:
    with table.engine.connect() as conn:
        row = conn.exec_driver_sql(
            f"SELECT {', '.join(COLUMNS)} FROM daily_meetings WHERE meeting_id = '{meeting_id}'"
        ).one()
    return dict(zip(COLUMNS, row, strict=True))


@pytest.mark.slow
def test_ended_meetings_become_figures_but_never_phone_callers(fallback):
    table, store, admin, hook = fallback
    room = hook.ensure_room(dialin_spec("mtg-F1", number=PIN_NUMBER)).room
    hook.ensure_room(dialin_spec("other-F9"))
    _meeting_row(table, "F1", "mtg-F1")
    web = admin.join("mtg-F1", user_name="Host")
    stranger = admin.join("other-F9")  # another deployment's room
    admin.advance_clock(60)
    call = admin.dial(number=PIN_NUMBER, pin=room.pin, caller=CALLER)
    assert call["status"] == "connected"
    admin.advance_clock(120)
    admin.hang_up(call["session_id"])
    quick = admin.join("mtg-F1", user_name="Quick")
    admin.advance_clock(5)
    admin.leave("mtg-F1", quick)  # 5 s: not recorded by Daily's analytics
    admin.leave("other-F9", stranger)
    admin.advance_clock(30)
    admin.leave("mtg-F1", web)  # the meeting ends: web 215 s, the caller 120 s

    settings = CallsSettings.load()
    summary = meetings_api.read_meetings(hook=hook, store=store, prefix="mtg", settings=settings)
    assert (summary["meetings"], summary["attendances"]) == (1, 2), summary
    folded = process.fold_events()
    assert folded["meetings"] == 1
    figures = _figures(table, "F1")
    assert figures["participants"] == 2 and figures["participant_minutes"] == pytest.approx(335 / 60, abs=0.02)
    assert figures["actual_end_at"] is not None
    assert figures["phone_callers"] is None and figures["phone_minutes"] is None, "phone callers are never guessed"
    assert store.read_calls() == [], "no call row from /meetings"
    with store.engine.connect() as conn:
        everything = repr(list(conn.exec_driver_sql("SELECT * FROM daily_call_events")))
    assert "other-F9" not in everything and "2095550166" not in everything

    again = meetings_api.read_meetings(hook=hook, store=store, prefix="mtg", settings=settings)
    assert (again["meetings"], again["events_stored"]) == (0, 0), "a meeting is read once"
    assert meetings_api.watermark(store) is not None


@pytest.mark.slow
def test_an_ongoing_meeting_is_read_once_it_ended(fallback):
    table, store, admin, hook = fallback
    hook.ensure_room(dialin_spec("mtg-F2"))
    _meeting_row(table, "F2", "mtg-F2")
    host = admin.join("mtg-F2", user_name="Host")
    admin.advance_clock(90)
    settings = CallsSettings.load()
    first = meetings_api.read_meetings(hook=hook, store=store, prefix="mtg", settings=settings)
    assert (first["listed"], first["events_stored"]) == (0, 0), "an ongoing meeting waits"
    admin.leave("mtg-F2", host)
    later = meetings_api.read_meetings(hook=hook, store=store, prefix="mtg", settings=settings)
    assert (later["meetings"], later["attendances"]) == (1, 1)
    process.fold_events()
    assert _figures(table, "F2")["participants"] == 1


def test_meeting_participants_page_until_the_404(hook, emulator):
    admin = emulator.admin
    hook.ensure_room(dialin_spec("mtg-F3"))
    people = [admin.join("mtg-F3", user_name=f"P{n}") for n in range(3)]
    admin.advance_clock(20)
    (meeting,) = list(hook.iter_meetings(room="mtg-F3"))
    assert meeting.ongoing is True
    paged = [p.participant_id for p in hook.iter_meeting_participants(meeting.id, page_size=1)]
    assert paged == people, "every page, in join order, until Daily's 404"
    assert list(hook.iter_meeting_participants("no-such-meeting")) == []
    for person in people:
        admin.leave("mtg-F3", person)
    assert [m.ongoing for m in hook.iter_meetings(room="mtg-F3", ongoing=False)] == [False]


def test_webhooks_source_makes_no_api_call(calls_db, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_CALLS", json.dumps({"calls_source": "webhooks"}))
    assert meetings_api.read_meetings_api()["skipped"]  # daily_default points nowhere: no call was made


@pytest.mark.slow
def test_the_calls_dag_reads_meetings_api(fallback, airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.daily import REPO

    table, _, admin, hook = fallback
    if table.engine.dialect.name != "sqlite":
        pytest.skip("one database is enough for the DAG wiring")
    hook.ensure_room(dialin_spec("mtg-F4"))
    _meeting_row(table, "F4", "mtg-F4")
    host = admin.join("mtg-F4", user_name="Host")
    admin.advance_clock(45)
    admin.leave("mtg-F4", host)
    dag = DagBag(dag_folder=str(REPO / "dags" / "daily_dialin_calls.py")).dags["daily_dialin_calls"]
    run = dag.test()
    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == {
        "read_meetings_api": "success",
        "fold_events": "success",
        "alert_dialin_errors": "success",
        "revoke_ended": "success",
    }
    figures = _figures(table, "F4")
    assert figures["participants"] == 1 and figures["actual_end_at"] is not None


def test_the_fold_summary_counts_each_room_and_call_once_across_batches(calls_db, monkeypatch):
    """Found by the benchmark: a room whose events straddle two batches was counted twice."""
    from tests.calls.test_fold import seed_meetings, store_all, ts

    table, store = calls_db
    seed_meetings(table)
    monkeypatch.setattr(process, "BATCH", 2)
    store_all(
        store,
        [
            dialin("dialin.connected", "mtg-M1", "s-1", ts(1)),
            dialin("dialin.connected", "mtg-M1", "s-2", ts(2)),
            dialin("dialin.stopped", "mtg-M1", "s-1", ts(3)),
            dialin("dialin.stopped", "mtg-M1", "s-2", ts(4)),
        ],
    )
    summary = process.fold_events()
    assert (summary["events"], summary["rooms"], summary["calls"], summary["meetings"]) == (4, 1, 2, 1)


def test_the_watchers_runs_do_not_read_meetings_api(monkeypatch):
    from types import SimpleNamespace

    from airflow.utils.types import DagRunType

    from daily_dialin.dags.calls import calls_dag

    monkeypatch.setenv("AIRFLOW_VAR_DAILY_CALLS", json.dumps({"calls_source": "meetings_api"}))
    read = calls_dag(dag_id="calls_fallback_probe").get_task("read_meetings_api").python_callable
    assert "watcher" in read(dag_run=SimpleNamespace(run_type=DagRunType.ASSET_TRIGGERED))["skipped"]
