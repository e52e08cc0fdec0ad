"""Live meetings are never cut: provisioning runs and the orphan sweep against the emulator over
real HTTP and a SQLite table, with people in the rooms (web and phone).

Cancel a running meeting, delete its row (orphan sweep), move its end earlier: 0 live rooms deleted
or expired, each reported as *deferred: live (N participants, M on the phone)*; after the people
leave, the next run deletes (or moves) exactly those rooms. Presence failing: nothing deleted that
run, reported once, the run completes. ``force_live_deletions``: a person's run deletes anyway."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from daily_dialin.provisioning.deletions import DeletionPlan
from daily_dialin.provisioning.reconcile import MemoryLedger, reconcile, sweep_orphans, verify
from tests.provisioning.test_guarantees import live_rooms, update_row
from tests.support.engine import insert_rows, meeting, run_engine, table_rows

CALLER = "+15550004444"
GRACE = timedelta(minutes=61)
STARTED = -10 / (24 * 60)  # the meeting started 10 minutes ago (days from now)


def running(meeting_id: str, *, hours: float = 2, **overrides):
    """A meeting that started 10 minutes ago and runs ``hours`` hours."""
    return meeting(meeting_id, days=STARTED, hours=hours + 10 / 60, **overrides)


def people_join(emulator, table, meeting_id: str, *, web: int = 1, phone: int = 1) -> list[str]:
    """``web`` people join the meeting's room on the web, then ``phone`` callers dial its dial string.
    Returns their ids (a caller's id is its session id)."""
    row = table_rows(table)[meeting_id]
    ids = [emulator.admin.join(row["room_name"], user_name=f"guest {i}") for i in range(web)]
    for _ in range(phone):
        call = emulator.admin.dial(number=row["dialin_number"], pin=row["dialin_pin"].strip(), caller=CALLER)
        assert call["status"] == "connected", call
        ids.append(call["session_id"])
    return ids


def everyone_leaves(emulator, room: str, ids: list[str]) -> None:
    for participant in ids:
        emulator.admin.leave(room, participant)


def test_a_cancelled_running_meeting_keeps_its_room_until_it_is_empty(sqlite_meetings_db, daily_conn):
    table = sqlite_meetings_db
    insert_rows(table, [running("L1"), running("L2")])
    assert run_engine()["verdict"] == "success"
    present = people_join(daily_conn, table, "L1", web=1, phone=1)
    update_row(table, "L1", status="cancelled")
    update_row(table, "L2", status="cancelled")

    summary = run_engine()
    retired = summary["retired"]
    assert retired["deleted"] == 1 and retired["failed"] == 0
    assert retired["deferred"] == 1
    assert retired["deferred_rooms"] == {"mtg-L1": "deferred: live (2 participants, 0 on the phone)"}
    assert summary["verdict"] == "success", "a live room held back is not a failed run"
    assert set(live_rooms(daily_conn)) == {"mtg-L1"}
    row = table_rows(table)["L1"]
    assert row["dialin_pin"] and row["last_error"].startswith("deferred: live (2 participants")

    again = run_engine()  # still live: still kept, still reported
    assert again["retired"]["deferred"] == 1 and set(live_rooms(daily_conn)) == {"mtg-L1"}

    everyone_leaves(daily_conn, "mtg-L1", present)
    after = run_engine()
    assert after["retired"]["deleted"] == 1 and after["retired"]["deferred"] == 0
    assert live_rooms(daily_conn) == {}
    assert table_rows(table)["L1"]["dialin_pin"] is None


def test_force_live_deletions_deletes_a_live_room(sqlite_meetings_db, daily_conn):
    table = sqlite_meetings_db
    insert_rows(table, [running("F1")])
    run_engine()
    people_join(daily_conn, table, "F1", web=2, phone=0)
    update_row(table, "F1", status="cancelled")
    summary = run_engine(params={"force_live_deletions": True})
    assert summary["retired"]["deleted"] == 1 and summary["retired"]["deferred"] == 0
    assert live_rooms(daily_conn) == {}


@pytest.mark.parametrize("kind", ["500", "429"])
def test_presence_failing_deletes_nothing_that_run_and_the_next_run_does(sqlite_meetings_db, daily_conn, kind):
    table = sqlite_meetings_db
    insert_rows(table, [running("P1"), running("P2")])
    run_engine()
    update_row(table, "P1", status="cancelled")
    update_row(table, "P2", status="cancelled")
    daily_conn.admin.script_faults([{"kind": kind, "method": "GET", "path": "/presence"}] * 6)
    started = time.monotonic()
    summary = run_engine()
    assert time.monotonic() - started < 60, "no run stuck"
    retired = summary["retired"]
    assert retired["deleted"] == 0 and retired["deferred"] == 2 and retired["failed"] == 0
    reasons = set(retired["deferred_rooms"].values())
    assert len(reasons) == 1 and next(iter(reasons)).startswith("deferred: presence unknown (GET /presence failed")
    assert set(live_rooms(daily_conn)) == {"mtg-P1", "mtg-P2"}
    daily_conn.admin.clear_faults()
    assert run_engine()["retired"]["deleted"] == 2 and live_rooms(daily_conn) == {}


def test_the_orphan_sweep_keeps_a_live_orphan_until_it_is_empty(sqlite_meetings_db, daily_conn):
    table = sqlite_meetings_db
    insert_rows(table, [running("O1"), running("O2")])
    run_engine()
    present = [daily_conn.admin.join("mtg-O1", user_name="still talking")]
    with table.engine.begin() as conn:  # a cleanup job removes the rows while the meeting goes on
        conn.exec_driver_sql("DELETE FROM daily_meetings WHERE meeting_id IN ('O1', 'O2')")
    ledger, now = MemoryLedger(), datetime.now(UTC)
    reconcile(now=now, ledger=ledger)
    report = reconcile(now=now + GRACE, ledger=ledger)
    assert DeletionPlan.from_xcom(report.deletions).names() == ["mtg-O1", "mtg-O2"]
    swept = sweep_orphans(deletions=report.deletions, ledger=ledger)
    assert swept.deleted == 1 and swept.failed == 0
    assert swept.deferred == 1
    assert swept.deferred_rooms == {"mtg-O1": "deferred: live (1 participant, 0 on the phone)"}
    verify(report, swept)  # held back for the people in it: not a failed reconcile
    assert set(live_rooms(daily_conn)) == {"mtg-O1"} and set(ledger.first_seen) == {"mtg-O1"}

    everyone_leaves(daily_conn, "mtg-O1", present)
    report = reconcile(now=now + 2 * GRACE, ledger=ledger)
    swept = sweep_orphans(deletions=report.deletions, ledger=ledger)
    assert swept.deleted == 1 and swept.deferred == 0
    assert live_rooms(daily_conn) == {} and ledger.first_seen == {}


def test_an_end_moved_earlier_never_expires_a_live_room(sqlite_meetings_db, daily_conn):
    """The end edited to 5 minutes from now (exp = end + the 60-minute grace would be fine; with a
    grace of 0 it lands inside the 15-minute margin) while people are in the room."""
    table = sqlite_meetings_db
    insert_rows(table, [running("E1", hours=3), running("E2", hours=3)])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", '{"exp_grace_minutes": 0}')
        run_engine()
        present = people_join(daily_conn, table, "E1", web=1, phone=1)
        end = datetime.now(UTC) + timedelta(minutes=5)
        for meeting_id in ("E1", "E2"):
            update_row(table, meeting_id, ends_at=f"{end:%Y-%m-%d %H:%M:%S}")
        before = live_rooms(daily_conn)["mtg-E1"]["config"]["exp"]
        summary = run_engine()
        e1 = live_rooms(daily_conn)["mtg-E1"]["config"]["exp"]
        e2 = live_rooms(daily_conn)["mtg-E2"]["config"]["exp"]
        assert e1 == before, "a live room's exp is not moved into the margin: it is kept"
        assert e2 == pytest.approx(end.timestamp(), abs=1), "an empty room's exp moves as asked"
        assert "E1" not in summary["failures"], "a live room waiting is not a failed meeting"
        assert summary["deferred"]["ids"] == ["E1"] and summary["verdict"] == "success"
        assert table_rows(table)["E1"]["last_error"].startswith("deferred: live (2 participants, 0 on the phone)")

        everyone_leaves(daily_conn, "mtg-E1", present)
        after = run_engine()
        assert "E1" not in after["failures"]
        assert live_rooms(daily_conn)["mtg-E1"]["config"]["exp"] == pytest.approx(end.timestamp(), abs=1)
        assert table_rows(table)["E1"]["last_error"] is None


def test_force_live_deletions_is_an_optional_boolean_in_both_forms():
    from daily_dialin.provisioning.params import PROVISIONING_PARAMS, RECONCILE_PARAMS

    for form in (PROVISIONING_PARAMS, RECONCILE_PARAMS):
        param = form["force_live_deletions"]
        assert param.value is False
        assert param.schema["type"] == ["null", "boolean"], "not required: the form must not insist on it"


def test_reconcile_never_moves_a_live_rooms_exp_into_the_margin(sqlite_meetings_db, daily_conn):
    """The table says the room expires in 5 minutes (the room says hours): reconcile fixes exp on the
    room - but not while people are in it, and it does once they left."""
    table = sqlite_meetings_db
    insert_rows(table, [running("R1", hours=3)])
    run_engine()
    present = people_join(daily_conn, table, "R1", web=1, phone=1)
    soon = int(time.time() + 5 * 60)
    update_row(table, "R1", room_exp=soon)
    before = live_rooms(daily_conn)["mtg-R1"]["config"]["exp"]
    report = reconcile(ledger=MemoryLedger())
    assert report.failed == 0
    assert live_rooms(daily_conn)["mtg-R1"]["config"]["exp"] == before
    everyone_leaves(daily_conn, "mtg-R1", present)
    reconcile(ledger=MemoryLedger())
    assert live_rooms(daily_conn)["mtg-R1"]["config"]["exp"] == soon


def test_dags_test_keeps_a_live_room_and_a_persons_force_deletes_it(
    provisioning_dag, sqlite_meetings_db, daily_conn, caplog, capfd
):
    """``dag.test()`` of the provisioning DAG: a cancelled running meeting with a caller and a web
    participant keeps its room (the run succeeds, the summary reports it deferred, no PIN or number
    in the logs); a run triggered with ``force_live_deletions`` deletes it."""
    from tests.support.daily import provisioning_conf

    table = sqlite_meetings_db
    insert_rows(table, [running("D1")])
    assert provisioning_dag.test(run_conf=provisioning_conf()).state == "success"
    people_join(daily_conn, table, "D1", web=1, phone=1)
    pin = table_rows(table)["D1"]["dialin_pin"].strip()
    update_row(table, "D1", status="cancelled")

    assert provisioning_dag.test(run_conf=provisioning_conf()).state == "success"
    output = caplog.text + "".join(capfd.readouterr())
    assert "deferred: live (2 participants, 0 on the phone)" in output
    assert pin not in output and CALLER not in output, "no PIN, no caller's number in the logs"
    assert set(live_rooms(daily_conn)) == {"mtg-D1"}
    assert table_rows(table)["D1"]["last_error"] == "deferred: live (2 participants, 0 on the phone)"

    run = provisioning_dag.test(run_conf=provisioning_conf(force_live_deletions=True))
    assert run.state == "success"
    assert live_rooms(daily_conn) == {}
    assert table_rows(table)["D1"]["dialin_pin"] is None


def test_a_cancelled_series_keeps_its_room_while_this_weeks_occurrence_runs(sqlite_meetings_db, daily_conn):
    from tests.provisioning.test_series import weekly

    table = sqlite_meetings_db
    insert_rows(table, weekly("S1", 3, first_day=STARTED, hours=2))
    assert run_engine()["verdict"] == "success"
    row = table_rows(table)["S1-1"]
    assert row["room_name"] == "mtg_s-S1"
    present = people_join(daily_conn, table, "S1-1", web=1, phone=1)
    for n in (1, 2, 3):
        update_row(table, f"S1-{n}", status="cancelled")

    summary = run_engine()
    assert summary["retired"]["deferred_rooms"] == {"mtg_s-S1": "deferred: live (2 participants, 0 on the phone)"}
    assert set(live_rooms(daily_conn)) == {"mtg_s-S1"}
    everyone_leaves(daily_conn, "mtg_s-S1", present)
    assert run_engine()["retired"]["deleted"] == 3  # the room's three rows are cleared
    assert live_rooms(daily_conn) == {}


def test_a_forced_run_over_the_budget_hands_the_force_to_the_approval(sqlite_meetings_db, daily_conn):
    """``force_live_deletions`` on a run whose deletions wait for a person travels with the plan: the
    approval says so, and once approved the live room is deleted (before: the approval DAG deleted
    without the flag and kept it)."""
    from daily_dialin.provisioning import steps
    from daily_dialin.provisioning.deletions import approval_text

    table = sqlite_meetings_db
    insert_rows(table, [running("FA1")])
    run_engine()
    people_join(daily_conn, table, "FA1", web=1, phone=0)
    update_row(table, "FA1", status="cancelled")
    params = {"force_live_deletions": True}
    planned = steps.plan(params=params, run_type="manual", logical_date=None, config_overrides=None)["run"]
    plan = DeletionPlan.from_xcom(steps.plan_cancelled(run=planned))
    assert plan.force_live and plan.count == 1
    assert "cut off" in approval_text(plan)[1]

    over_budget = plan.model_copy(update={"verdict": "ask"}).to_xcom()
    result = steps.retire_approved(
        config=steps.RunPlan.from_xcom(planned).config,
        deletions=over_budget,
        approval={"chosen_options": ["Approve"], "responded_by_user": {"name": "ops"}},
    )
    assert result["deleted"] == 1 and result["deferred"] == 0
    assert live_rooms(daily_conn) == {}
