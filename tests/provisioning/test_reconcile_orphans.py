"""The orphan sweep of reconcile: rooms of this deployment's prefix that no row owns are reported,
and deleted after the grace period through the gate - against the emulator over HTTP and a
meetings table on SQLite (and PostgreSQL for the ownership read)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_daily.hooks.daily import DailyHook
from daily_dialin.errors import ProvisioningFailed
from daily_dialin.provisioning.approvals import delete_approved, pending_plan
from daily_dialin.provisioning.approvals import verify as approvals_verify
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.deletions import DeletionPlan, settle
from daily_dialin.provisioning.ledger import DeletionLedger, MemoryStore
from daily_dialin.provisioning.reconcile import MemoryLedger, is_ours, reconcile, sweep_orphans, verify
from tests.hooks.helpers import dialin_spec
from tests.provisioning.test_guarantees import live_rooms, update_row
from tests.support.engine import insert_rows, meeting, run_engine, settings_env

GRACE = timedelta(minutes=61)


def make_rooms(*names: str) -> None:
    DailyHook().create_rooms_batch([dialin_spec(name) for name in names])


def delete_row(table, meeting_id: str) -> None:
    with table.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM daily_meetings WHERE meeting_id = '{meeting_id}'")


def sweep(report, *, ledger, approval=None):
    return sweep_orphans(deletions=report.deletions, approval=approval, ledger=ledger)


def test_only_names_under_the_prefix_followed_by_a_dash_or_underscore_are_ours():
    assert is_ours("mtg-1", "mtg") and is_ours("mtg_s-abc", "mtg")
    assert not is_ours("mtgx-1", "mtg") and not is_ours("other-1", "mtg") and not is_ours("mtg", "mtg")


def test_an_orphan_is_reported_then_deleted_after_the_grace_period(sqlite_meetings_db, daily_conn):
    insert_rows(sqlite_meetings_db, [meeting("K1"), meeting("K2")])
    run_engine()
    delete_row(sqlite_meetings_db, "K2")
    make_rooms("mtg_s-series9", "other-1", "mtgx-1")
    ledger = MemoryLedger()
    now = datetime.now(UTC)

    first = reconcile(now=now, ledger=ledger)
    assert first.prefix == "mtg" and first.orphans == 2
    assert first.orphan_rooms == ["mtg-K2", "mtg_s-series9"]
    assert DeletionPlan.from_xcom(first.deletions).count == 0, "never deleted on first sight"
    assert set(ledger.first_seen) == {"mtg-K2", "mtg_s-series9"}

    early = reconcile(now=now + timedelta(minutes=30), ledger=ledger)
    assert early.orphans_due == 0, "inside the grace period"

    later = reconcile(now=now + GRACE, ledger=ledger)
    plan = DeletionPlan.from_xcom(later.deletions)
    assert plan.names() == ["mtg-K2", "mtg_s-series9"] and plan.reason == "orphan" and not plan.gated
    swept = sweep(later, ledger=ledger)
    assert swept.deleted == 2 and swept.held == 0
    assert set(live_rooms(daily_conn)) == {"mtg-K1", "other-1", "mtgx-1"}, "rooms outside the prefix stay"
    assert ledger.first_seen == {}
    verify(later, swept)


def test_a_room_stays_owned_while_any_row_names_it(sqlite_meetings_db, daily_conn):
    """A row now naming another room leaves its old one an orphan; a room two rows share (a series)
    stays while one of them names it; a provisionable row's room whose write-back was lost is owned."""
    insert_rows(sqlite_meetings_db, [meeting("P1"), meeting("P2"), meeting("P3")])
    run_engine()
    update_row(sqlite_meetings_db, "P2", room_name="mtg-P1")  # P2 moved into P1's room
    update_row(sqlite_meetings_db, "P1", status="draft")  # P1 no longer provisionable, still names it
    insert_rows(sqlite_meetings_db, [meeting("P4")])
    make_rooms("mtg-P4")  # created, write-back lost: P4 still has no room_name
    ledger = MemoryLedger()
    now = datetime.now(UTC)
    reconcile(now=now, ledger=ledger)
    report = reconcile(now=now + GRACE, ledger=ledger)
    assert report.orphan_rooms == ["mtg-P2"]
    assert sweep(report, ledger=ledger).deleted == 1
    assert set(live_rooms(daily_conn)) == {"mtg-P1", "mtg-P3", "mtg-P4"}


def test_a_row_inserted_again_within_the_grace_period_keeps_its_room(sqlite_meetings_db, daily_conn):
    insert_rows(sqlite_meetings_db, [meeting("R1")])
    run_engine()
    ledger = MemoryLedger()
    now = datetime.now(UTC)
    delete_row(sqlite_meetings_db, "R1")
    assert reconcile(now=now, ledger=ledger).orphans == 1
    insert_rows(sqlite_meetings_db, [meeting("R1")])  # a nightly reload of the table
    report = reconcile(now=now + GRACE, ledger=ledger)
    assert report.orphans == 0 and ledger.first_seen == {}
    delete_row(sqlite_meetings_db, "R1")
    report = reconcile(now=now + 2 * GRACE, ledger=ledger)
    assert report.orphans_due == 0, "the grace period starts again"
    assert "mtg-R1" in live_rooms(daily_conn)


def test_the_sweep_reads_the_table_again_before_deleting(sqlite_meetings_db, daily_conn):
    insert_rows(sqlite_meetings_db, [meeting("T1")])
    run_engine()
    delete_row(sqlite_meetings_db, "T1")
    ledger = MemoryLedger()
    now = datetime.now(UTC)
    reconcile(now=now, ledger=ledger)
    report = reconcile(now=now + GRACE, ledger=ledger)
    insert_rows(sqlite_meetings_db, [{**meeting("T1"), "room_name": "mtg-T1"}])
    swept = sweep(report, ledger=ledger)
    assert swept.deleted == 0 and swept.kept == 1
    assert "mtg-T1" in live_rooms(daily_conn)


def test_delete_orphans_off_only_reports(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(delete_orphans=False))
    make_rooms("mtg-lost")
    ledger = MemoryLedger()
    now = datetime.now(UTC)
    reconcile(now=now, ledger=ledger)
    report = reconcile(now=now + GRACE, ledger=ledger)
    assert report.orphans == 1 and report.orphans_due == 1
    assert DeletionPlan.from_xcom(report.deletions).count == 0
    assert sweep(report, ledger=ledger).deleted == 0
    assert "mtg-lost" in live_rooms(daily_conn)


def test_a_mass_sweep_is_handed_to_a_person_and_a_reject_is_remembered(sqlite_meetings_db, daily_conn, monkeypatch):
    """Over the limit the reconcile run keeps the orphans (``waiting``, not a failure) and hands the
    plan to the approval DAG; a person's Reject there keeps them, fails that run, and is remembered:
    the next reconcile asks nobody about the same rooms. Approved: deleted."""
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(max_deletions_without_approval=2))
    make_rooms("mtg-o1", "mtg-o2", "mtg-o3")
    ledger, store = MemoryLedger(), MemoryStore()
    budget = DeletionLedger.for_config(ProvisioningConfig.load(), store)
    now = datetime.now(UTC)
    reconcile(now=now, ledger=ledger)
    report = reconcile(now=now + GRACE, ledger=ledger)
    plan = settle(DeletionPlan.from_xcom(report.deletions), budget, now=now, approval_dag="r_deletions")
    assert plan.verdict == "ask"
    kept = sweep_orphans(deletions=plan.to_xcom(), ledger=ledger)
    assert kept.waiting == 3 and kept.held == 0 and kept.deleted == 0
    verify(report, kept)  # the reconcile run completes: the approval DAG decides

    handed = pending_plan(reason="orphan", store=store)
    reject = {"chosen_options": ["Reject"], "responded_by_user": {"name": "ops"}}
    rejected = delete_approved(reason="orphan", deletions=handed, approval=reject, store=store, orphan_ledger=ledger)
    assert rejected["held"] == 3 and len(live_rooms(daily_conn)) == 3
    with pytest.raises(ProvisioningFailed, match="3 room"):
        approvals_verify(rejected)
    again = settle(DeletionPlan.from_xcom(report.deletions), budget, now=now + GRACE)
    assert again.verdict == "rejected" and "rejected by ops" in sweep_orphans(deletions=again.to_xcom()).approval

    timed_out = sweep(report, ledger=ledger, approval={"chosen_options": ["Reject"], "responded_by_user": None})
    assert timed_out.waiting == 3, "the reconcile run itself never deletes over the limit"
    plan = settle(DeletionPlan.from_xcom(report.deletions), budget, now=now + GRACE, redecide=True)
    assert plan.verdict == "ask"
    approve = {"chosen_options": ["Approve"], "responded_by_user": {"name": "ops"}}
    approved = delete_approved(
        reason="orphan",
        deletions=pending_plan(reason="orphan", store=store),
        approval=approve,
        store=store,
        orphan_ledger=ledger,
    )
    assert approved["deleted"] == 3 and live_rooms(daily_conn) == {}


@pytest.mark.postgres
def test_ownership_is_read_the_same_on_postgres(meetings_db, daily_conn):
    insert_rows(meetings_db, [meeting("Q1")])
    insert_rows(meetings_db, [{**meeting("Q2"), "room_name": "mtg_s-shared"}])
    assert {"mtg-Q1", "mtg_s-shared"} <= meetings_db.owned_room_names()
    assert meetings_db.room_names_kept(["mtg_s-shared", "mtg-none"]) == {"mtg_s-shared"}


def test_a_series_room_whose_write_back_was_lost_is_owned(sqlite_meetings_db, daily_conn):
    """A series' occurrences without room_name (Daily made the room, the write-back was lost) own the
    series room ``<prefix>_s-<series>``, not a meeting room: the sweep must not delete it."""
    insert_rows(sqlite_meetings_db, [meeting("S1", series_id="WEEKLY"), meeting("S2", days=9, series_id="WEEKLY")])
    make_rooms("mtg_s-WEEKLY", "mtg_s-GONE")  # GONE: no row names that series
    ledger = MemoryLedger()
    now = datetime.now(UTC)
    reconcile(now=now, ledger=ledger)
    report = reconcile(now=now + GRACE, ledger=ledger)
    assert report.orphan_rooms == ["mtg_s-GONE"]
