"""The gate on mass deletion (:mod:`daily_dialin.provisioning.deletions`) and ``retire_cancelled``
through it: the limit, the verdict from an approval's answer, the approval's text, and cancelled
meetings' rooms deleted in bulk against the emulator over HTTP and a SQLite table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from daily_dialin.provisioning import steps
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.deletions import (
    Candidate,
    DeletionPlan,
    approval_limit,
    approval_text,
    decide,
    gate_branch,
)
from tests.provisioning.test_guarantees import live_rooms, update_row
from tests.support.engine import insert_rows, meeting, run_engine, settings_env, table_rows


# -- the limit --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("live", "max_count", "max_share", "limit"),
    [
        (10_000, 25, 0.10, 25),  # big deployment: the count decides
        (100, 25, 0.10, 10),  # 10 % of 100 is smaller than 25
        (10, 25, 0.10, 3),  # the share alone never gates 3 rooms or fewer
        (0, 25, 0.10, 3),
        (1000, 0, 0.10, 0),  # 0: every deletion waits
        (1000, 2, 0.10, 2),  # a count below the floor wins
        (39, 25, 0.10, 3),
        (40, 25, 0.10, 4),
        (1000, 25, 1.0, 25),
    ],
)
def test_the_limit_is_the_smaller_of_count_and_share_with_a_floor(live, max_count, max_share, limit):
    assert approval_limit(live=live, max_count=max_count, max_share=max_share) == limit


def plan_of(count: int, *, live: int = 1000, **settings) -> DeletionPlan:
    config = ProvisioningConfig(**settings)
    rooms = [Candidate(room_name=f"mtg-C{i}", meeting_ids=[f"C{i}"]) for i in range(count)]
    return DeletionPlan.build(reason="cancelled", rooms=rooms, live=live, config=config)


def test_a_plan_over_the_limit_is_gated_and_branches_to_the_approval():
    assert not plan_of(25).gated and plan_of(26).gated
    assert gate_branch(plan_of(25), approve_task="a", delete_task="d") == ["d"]
    assert gate_branch(plan_of(26), approve_task="a", delete_task="d") == ["a", "d"]
    assert gate_branch(plan_of(0, max_deletions_without_approval=0), approve_task="a", delete_task="d") == ["d"]


def test_the_share_counts_the_rooms_to_delete_as_live():
    plan = plan_of(5, live=0)
    assert plan.live == 5 and plan.share == 1.0 and plan.gated


USER = {"id": "admin", "name": "admin"}


@pytest.mark.parametrize(
    ("count", "answer", "deletes", "why"),
    [
        (3, None, True, "automatic"),
        (30, None, False, "no approval was given"),
        (30, {"chosen_options": ["Approve"], "responded_by_user": USER}, True, "approved by admin"),
        (30, {"chosen_options": ["Reject"], "responded_by_user": USER}, False, "rejected by admin"),
        (30, {"chosen_options": ["Reject"], "responded_by_user": None}, False, "timed out"),
    ],
)
def test_the_verdict_follows_the_answer(count, answer, deletes, why):
    decision = decide(plan_of(count), answer)
    assert decision.delete is deletes
    assert why in decision.why
    if not deletes:
        assert "nothing deleted" in decision.why


def test_the_approval_shows_count_share_reason_and_first_rooms():
    plan = plan_of(30, live=200)
    subject, body = approval_text(plan)
    assert "30" in subject and "15%" in subject
    assert "**30**" in body and "15.0%" in body and "cancelled meetings" in body
    assert "mtg-C0 (C0)" in body and "mtg-C19" in body and "mtg-C20" not in body
    assert "Reject" in body and "1440 minutes" in body
    orphans = DeletionPlan.build(
        reason="orphan", rooms=[Candidate(room_name="mtg-gone")], live=1, config=ProvisioningConfig()
    )
    assert "orphans" in approval_text(orphans)[1] and "'mtg'" in approval_text(orphans)[1]


# -- retire_cancelled through the gate ------------------------------------------------------------
def cancel(table, ids) -> None:
    for meeting_id in ids:
        update_row(table, meeting_id, status="cancelled")


def provisioned(table, ids) -> None:
    insert_rows(table, [meeting(i) for i in ids])
    assert run_engine()["verdict"] == "success"


def test_over_the_limit_nothing_is_deleted_without_approval_and_the_run_fails(
    sqlite_meetings_db, daily_conn, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(max_deletions_without_approval=2))
    ids = [f"G{i}" for i in range(4)]
    provisioned(sqlite_meetings_db, [*ids, "KEEP"])
    cancel(sqlite_meetings_db, ids[:3])
    summary = run_engine()
    assert summary["retired"]["deleted"] == 0 and summary["retired"]["held"] == 3
    assert "no approval was given" in summary["retired"]["approval"]
    assert "3 cancelled room(s) not deleted" in summary["verdict"]
    assert {f"mtg-{i}" for i in ids} <= set(live_rooms(daily_conn)), "no room was deleted"
    rows = table_rows(sqlite_meetings_db)
    assert rows["G0"]["dialin_pin"] and "not approved" not in (rows["KEEP"]["last_error"] or "")
    assert rows["G0"]["last_error"].startswith("room not deleted: mass deletion of 3 rooms")


def test_an_approved_plan_deletes_in_one_batch(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(max_deletions_without_approval=2))
    ids = [f"A{i}" for i in range(3)]
    provisioned(sqlite_meetings_db, ids)
    cancel(sqlite_meetings_db, ids)
    run = steps.plan(params={}, run_type="manual", logical_date=None)["run"]
    plan = steps.plan_cancelled(run=run)
    assert DeletionPlan.from_xcom(plan).gated
    answer = {"chosen_options": ["Approve"], "responded_by_user": USER}
    before = daily_conn.admin.counters()["requests"].get("DELETE /batch/rooms", 0)
    result = steps.retire_cancelled(run=run, deletions=plan, approval=answer)
    assert result["deleted"] == 3 and result["approval"] == "approved by admin"
    assert not {f"mtg-{i}" for i in ids} & set(live_rooms(daily_conn))
    assert daily_conn.admin.counters()["requests"]["DELETE /batch/rooms"] == before + 1
    assert all(table_rows(sqlite_meetings_db)[i]["dialin_pin"] is None for i in ids)


def test_what_was_approved_is_an_upper_bound(sqlite_meetings_db, daily_conn):
    """A meeting scheduled again while the approval waited keeps its room; one cancelled after the
    plan waits for the next run."""
    provisioned(sqlite_meetings_db, ["U1", "U2", "U3"])
    cancel(sqlite_meetings_db, ["U1", "U2"])
    run = steps.plan(params={}, run_type="manual", logical_date=None)["run"]
    plan = steps.plan_cancelled(run=run)
    update_row(sqlite_meetings_db, "U2", status="scheduled")
    cancel(sqlite_meetings_db, ["U3"])
    result = steps.retire_cancelled(run=run, deletions=plan)
    assert result["deleted"] == 1
    assert set(live_rooms(daily_conn)) >= {"mtg-U2", "mtg-U3"} and "mtg-U1" not in live_rooms(daily_conn)


def test_a_room_another_row_still_names_is_kept(sqlite_meetings_db, daily_conn):
    """Two rows on one room (a series): cancelling one lets go of the room, which stays for the other."""
    provisioned(sqlite_meetings_db, ["S1", "S2"])
    daily_conn.admin.delete_room("mtg-S2")
    update_row(sqlite_meetings_db, "S2", room_name="mtg-S1")
    cancel(sqlite_meetings_db, ["S1"])
    result = steps.retire_cancelled(run=steps.plan(params={}, run_type="manual", logical_date=None)["run"])
    assert result["deleted"] == 0 and result["detached"] == 1
    assert "mtg-S1" in live_rooms(daily_conn)
    rows = table_rows(sqlite_meetings_db)
    assert rows["S1"]["dialin_pin"] is None and rows["S1"]["room_name"] == "mtg-S1"
    assert rows["S2"]["room_name"] == "mtg-S1"


def test_an_outage_writes_back_what_was_deleted(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(batch_size=2))
    ids = ["O1", "O2", "O3"]
    provisioned(sqlite_meetings_db, ids)
    cancel(sqlite_meetings_db, ids)
    from airflow_provider_daily.hooks.daily import DailyHook

    real = DailyHook.delete_rooms_batch

    def first_then_outage(self, names):
        deleted = real(self, names)
        daily_conn.admin.script_faults([{"kind": "503", "method": "DELETE", "path": "/batch/rooms"}] * 10)
        return deleted

    monkeypatch.setattr(DailyHook, "delete_rooms_batch", first_then_outage)
    run = steps.plan(params={}, run_type="manual", logical_date=None)["run"]
    with pytest.raises(steps.RetireInterrupted) as info:
        steps.retire_cancelled(run=run)
    assert info.value.result.deleted == 2 and info.value.result.pending == 1
    rows = table_rows(sqlite_meetings_db)
    assert rows["O1"]["dialin_pin"] is None and rows["O2"]["dialin_pin"] is None
    assert rows["O3"]["dialin_pin"], "the room not deleted keeps its row as it was"
    daily_conn.admin.clear_faults()
    monkeypatch.setattr(DailyHook, "delete_rooms_batch", real)
    assert steps.retire_cancelled(run=run)["deleted"] == 1


def test_dry_runs_plan_nothing(sqlite_meetings_db, daily_conn):
    provisioned(sqlite_meetings_db, ["D1"])
    cancel(sqlite_meetings_db, ["D1"])
    run = steps.plan(params={"dry_run": True}, run_type="manual", logical_date=None, now=datetime.now(UTC))["run"]
    assert DeletionPlan.from_xcom(steps.plan_cancelled(run=run)).count == 0
    assert steps.retire_cancelled(run=run)["deleted"] == 0
    assert "mtg-D1" in live_rooms(daily_conn)
