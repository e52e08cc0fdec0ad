"""The gate on mass deletion (:mod:`daily_dialin.provisioning.deletions`) and ``retire_cancelled``
through it: the limit, the budget over a rolling window (:mod:`daily_dialin.provisioning.ledger`),
the remembered Reject, the verdict from an approval's answer, the approval's text, the approval
DAG's steps (:mod:`daily_dialin.provisioning.approvals`), and cancelled meetings' rooms deleted in
bulk against the emulator over HTTP and a SQLite table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from daily_dialin.errors import ProvisioningFailed
from daily_dialin.provisioning import steps
from daily_dialin.provisioning.approvals import delete_approved, pending_plan
from daily_dialin.provisioning.approvals import verify as approvals_verify
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.deletions import (
    Candidate,
    DeletionPlan,
    approval_limit,
    approval_text,
    decide,
    gate_branch,
    rejection,
    settle,
)
from daily_dialin.provisioning.ledger import DeletionLedger, MemoryStore
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


def test_a_plan_stored_by_an_earlier_version_is_still_read():
    """The ledger keeps the pending plan across an upgrade: the removed, never-filled ``noted`` list
    of a stored plan is dropped, not refused (the model forbids unknown fields)."""
    stored = {**plan_of(5).to_xcom(), "noted": []}
    assert DeletionPlan.from_xcom(stored) == plan_of(5)
    with pytest.raises(ValueError, match="extra"):
        DeletionPlan.from_xcom({**stored, "other": 1})


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


def test_over_the_limit_nothing_is_deleted_the_rows_say_why_and_the_run_completes(
    sqlite_meetings_db, daily_conn, monkeypatch
):
    """A run never waits for a person: over the limit it deletes nothing, tells the rows why, and
    completes (the approval DAG asks); the meetings it was not asked about are untouched."""
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(max_deletions_without_approval=2))
    ids = [f"G{i}" for i in range(4)]
    provisioned(sqlite_meetings_db, [*ids, "KEEP"])
    cancel(sqlite_meetings_db, ids[:3])
    summary = run_engine()
    assert summary["retired"]["deleted"] == 0 and summary["retired"]["held"] == 3
    assert summary["retired"]["failed"] == 0 and summary["verdict"] == "success"
    assert "waiting for a person's approval" in summary["retired"]["approval"]
    assert {f"mtg-{i}" for i in ids} <= set(live_rooms(daily_conn)), "no room was deleted"
    rows = table_rows(sqlite_meetings_db)
    assert rows["G0"]["dialin_pin"] and not rows["KEEP"]["last_error"]
    assert rows["G0"]["last_error"].startswith("room not deleted: waiting for a person's approval")


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
    with pytest.raises(steps.Interrupted) as info:
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


# -- the budget over time -------------------------------------------------------------------------
HOUR = timedelta(hours=1)


def ledger_of(store=None, **settings) -> DeletionLedger:
    return DeletionLedger.for_config(ProvisioningConfig(**settings), store if store is not None else MemoryStore())


def slice_of(start: int, count: int, *, live: int = 400, **settings) -> DeletionPlan:
    config = ProvisioningConfig(**settings)
    rooms = [Candidate(room_name=f"mtg-S{start + i}", meeting_ids=[f"S{start + i}"]) for i in range(count)]
    return DeletionPlan.build(reason="cancelled", rooms=rooms, live=live, config=config)


def test_six_slices_under_the_per_run_limit_add_up_and_trigger_the_gate():
    """24 of 400 live rooms at a time (the limit: 25) - the salami: the second slice within the
    window already passes the budget, and is handed to a person instead of deleted."""
    ledger, now = ledger_of(), datetime(2030, 1, 1, tzinfo=UTC)
    verdicts = []
    for n in range(6):
        plan = settle(slice_of(24 * n, 24), ledger, now=now + n * timedelta(minutes=1), approval_dag="d_deletions")
        verdicts.append(plan.verdict)
    assert verdicts[0] == "auto" and verdicts[1] == "ask", verdicts
    assert set(verdicts[2:]) == {"pending"}, "one waiting approval at a time: no second request"
    assert ledger.window(now + 10 * timedelta(minutes=1)).total == 24, "only the automatic slice is spent"


def test_the_window_rolls_deletions_out_after_its_hours():
    ledger, now = ledger_of(deletion_budget_window_hours=24), datetime(2030, 1, 1, tzinfo=UTC)
    assert settle(slice_of(0, 24), ledger, now=now).verdict == "auto"
    assert ledger.window(now + 23 * HOUR).total == 24
    assert ledger.window(now + 25 * HOUR).total == 0
    assert settle(slice_of(100, 24), ledger, now=now + 25 * HOUR).verdict == "auto"


def test_orphans_and_cancellations_share_one_budget():
    ledger, now = ledger_of(), datetime(2030, 1, 1, tzinfo=UTC)
    assert settle(slice_of(0, 20), ledger, now=now).verdict == "auto"
    orphans = DeletionPlan.build(
        reason="orphan",
        rooms=[Candidate(room_name=f"mtg-O{i}") for i in range(10)],
        live=400,
        config=ProvisioningConfig(),
    )
    assert settle(orphans, ledger, now=now + HOUR).verdict == "ask"


@pytest.mark.parametrize("raw", ["not json", '{"entries": 5}', '{"entries": [["yesterday", 3]]}', "[]"])
def test_a_malformed_budget_restarts_the_window_and_every_deletion_asks(raw):
    store, now = MemoryStore(), datetime(2030, 1, 1, tzinfo=UTC)
    ledger = ledger_of(store)
    store.set(ledger.key("budget", "cancelled"), raw, "")
    plan = settle(slice_of(0, 1), ledger, now=now)
    assert plan.verdict == "ask" and plan.window_total is None, "deletions wait, never hurry"
    assert "unknown" in approval_text(plan)[1]
    assert json.loads(store.get(ledger.key("budget", "cancelled")))["restarted_at"], "the window restarted"
    assert ledger.window(now + 23 * HOUR).total is None, "a whole window must pass"
    assert ledger.window(now + 25 * HOUR).total == 0


def test_the_approval_shows_the_window_total_the_live_rooms_held_back_and_the_rooms():
    plan = slice_of(0, 30).model_copy(update={"window_total": 12, "deferred": ["mtg-LIVE1"]})
    body = approval_text(plan)[1]
    assert "**12** room(s) deleted without approval in the last 24 hours" in body and "**42**" in body
    assert "Live rooms held back" in body and "mtg-LIVE1" in body
    assert "mtg-S0 (S0)" in body


# -- a Reject is remembered -------------------------------------------------------------------------
REJECT_ANSWER = {"chosen_options": ["Reject"], "responded_by_user": USER}
TIMEOUT_ANSWER = {"chosen_options": ["Reject"], "responded_by_user": None}


def test_a_reject_is_remembered_until_the_set_grows_or_a_person_asks_again():
    store, now = MemoryStore(), datetime(2030, 1, 1, tzinfo=UTC)
    ledger = ledger_of(store, max_deletions_without_approval=2)
    plan = settle(slice_of(0, 3, max_deletions_without_approval=2), ledger, now=now)
    assert plan.verdict == "ask"
    pending = ledger.decisions("cancelled").pending
    ledger.settle("cancelled", rejected=rejection(DeletionPlan.from_xcom(pending.plan), REJECT_ANSWER, now=now))
    assert ledger.decisions("cancelled").pending is None

    again = settle(slice_of(0, 3, max_deletions_without_approval=2), ledger, now=now + HOUR)
    assert again.verdict == "rejected" and "rejected by admin" in again.why_held
    assert "redecide_deletions" in again.why_held
    fewer = settle(slice_of(1, 2, max_deletions_without_approval=2), ledger, now=now + HOUR)
    assert fewer.verdict == "rejected", "a rejected room is never deleted automatically either"
    grown = settle(slice_of(0, 4, max_deletions_without_approval=2), ledger, now=now + HOUR)
    assert grown.verdict == "ask", "a new room joined the set: ask again"
    ledger.settle("cancelled", rejected=None)  # (that approval is answered: nothing pending)
    small = settle(slice_of(2, 2, max_deletions_without_approval=2), ledger, now=now + HOUR)
    assert small.verdict == "ask", "within the budget, but a rejected room is in it: a person decides"

    ledger.settle("cancelled", rejected=rejection(grown, REJECT_ANSWER, now=now))
    redecided = settle(slice_of(0, 4, max_deletions_without_approval=2), ledger, now=now + HOUR, redecide=True)
    assert redecided.verdict == "ask" and ledger.decisions("cancelled").rejected is None


def test_a_timeout_is_not_a_decision():
    assert rejection(slice_of(0, 30), TIMEOUT_ANSWER, now=datetime(2030, 1, 1, tzinfo=UTC)) is None
    assert rejection(slice_of(0, 30), {"chosen_options": ["Approve"], "responded_by_user": USER}, now=None) is None


def test_a_stale_pending_approval_no_longer_holds_the_gate():
    store, now = MemoryStore(), datetime(2030, 1, 1, tzinfo=UTC)
    ledger = ledger_of(store, max_deletions_without_approval=2, approval_timeout_minutes=60)
    settings = {"max_deletions_without_approval": 2, "approval_timeout_minutes": 60}
    assert settle(slice_of(0, 3, **settings), ledger, now=now).verdict == "ask"
    assert settle(slice_of(0, 3, **settings), ledger, now=now + HOUR).verdict == "pending"
    assert settle(slice_of(0, 3, **settings), ledger, now=now + 3 * HOUR).verdict == "ask"


# -- the approval DAG's steps, over the emulator ---------------------------------------------------
def test_the_approval_dag_deletes_what_was_approved_and_remembers_a_reject(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(max_deletions_without_approval=2))
    store = MemoryStore()
    ids = [f"AP{i}" for i in range(3)]
    provisioned(sqlite_meetings_db, ids)
    cancel(sqlite_meetings_db, ids)
    run = steps.plan(params={}, run_type="manual", logical_date=None)["run"]
    ledger = DeletionLedger.for_config(ProvisioningConfig.load(), store)

    # rejected: nothing deleted, the rows say so, and the next run does not ask again
    plan = settle(DeletionPlan.from_xcom(steps.plan_cancelled(run=run)), ledger, now=datetime.now(UTC))
    assert plan.verdict == "ask"
    handed = pending_plan(reason="cancelled", store=store)
    result = delete_approved(reason="cancelled", deletions=handed, approval=REJECT_ANSWER, store=store)
    assert result["deleted"] == 0 and result["held"] == 3
    with pytest.raises(ProvisioningFailed, match="3 room"):
        approvals_verify(result)
    rows = table_rows(sqlite_meetings_db)
    assert all("deletion rejected by admin at" in rows[i]["last_error"] for i in ids)
    again = settle(DeletionPlan.from_xcom(steps.plan_cancelled(run=run)), ledger, now=datetime.now(UTC))
    assert again.verdict == "rejected" and ledger.decisions("cancelled").pending is None
    retired = steps.retire_cancelled(run=run, deletions=again.to_xcom())
    assert retired["deleted"] == 0 and retired["failed"] == 0
    assert "run with redecide_deletions" in table_rows(sqlite_meetings_db)["AP0"]["last_error"]
    with pytest.raises(AirflowSkipException):
        pending_plan(reason="cancelled", store=store)

    # re-decided, approved: deleted, the PINs cleared
    plan = settle(DeletionPlan.from_xcom(steps.plan_cancelled(run=run)), ledger, now=datetime.now(UTC), redecide=True)
    assert plan.verdict == "ask"
    answer = {"chosen_options": ["Approve"], "responded_by_user": USER}
    result = delete_approved(
        reason="cancelled", deletions=pending_plan(reason="cancelled", store=store), approval=answer, store=store
    )
    assert result["deleted"] == 3
    approvals_verify(result)
    assert not {f"mtg-{i}" for i in ids} & set(live_rooms(daily_conn))
    assert all(table_rows(sqlite_meetings_db)[i]["dialin_pin"] is None for i in ids)
    assert ledger.decisions("cancelled").pending is None
    assert ledger.window(datetime.now(UTC)).total == 0, "approved deletions are not spent from the budget"


def test_six_slices_of_24_cancellations_of_400_live_rooms_trigger_the_gate(sqlite_meetings_db, daily_conn):
    """The salami of the issue, over the emulator: 400 live rooms, 24 cancelled at a time (each slice
    under the per-run limit of 25), each slice a run as the DAG makes it (plan, the gate's verdict
    against the ledger, retire_cancelled). Only the first slice is deleted; the others wait for one
    person's decision - 144 rooms (36 %) are no longer deleted in a minute without anyone asked."""
    ids = [f"SL{i:03d}" for i in range(400)]
    provisioned(sqlite_meetings_db, ids)
    ledger = DeletionLedger.for_config(ProvisioningConfig.load(), MemoryStore())
    deleted, verdicts = 0, []
    for n in range(6):
        cancel(sqlite_meetings_db, ids[24 * n : 24 * (n + 1)])
        run = steps.plan(params={}, run_type="manual", logical_date=None)["run"]
        plan = settle(DeletionPlan.from_xcom(steps.plan_cancelled(run=run)), ledger, now=datetime.now(UTC))
        verdicts.append(plan.verdict)
        deleted += steps.retire_cancelled(run=run, deletions=plan.to_xcom())["deleted"]
    assert verdicts == ["auto", "ask", "pending", "pending", "pending", "pending"]
    assert deleted == 24 and len(live_rooms(daily_conn)) == 376
    pending = ledger.decisions("cancelled").pending
    assert len(DeletionPlan.from_xcom(pending.plan).rooms) == 24, "the first plan handed over waits"
    last = table_rows(sqlite_meetings_db)[ids[143]]["last_error"]
    assert last.startswith("room not deleted: waiting for a person's approval")
