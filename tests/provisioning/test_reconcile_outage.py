"""Reconcile's typed hand-overs, and an outage in the orphan sweep: what was deleted still reaches
``verify`` (the one "fail but keep the partial result" protocol, :mod:`daily_dialin.interrupted`) -
against the emulator over HTTP, a meetings table on SQLite, and a real ``dag.test()`` run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_daily.hooks.daily import DailyHook
from daily_dialin.errors import ProvisioningFailed
from daily_dialin.interrupted import Interrupted
from daily_dialin.provisioning.reconcile import (
    MemoryLedger,
    ReconcileReport,
    SweepResult,
    reconcile,
    sweep_orphans,
    verify,
)
from tests.hooks.helpers import dialin_spec
from tests.provisioning.test_deletions_dag import KEYS as LEDGERS
from tests.provisioning.test_guarantees import live_rooms
from tests.support.engine import settings_env

GRACE = timedelta(minutes=61)
ORPHANS = ["mtg-o1", "mtg-o2", "mtg-o3"]


@pytest.fixture
def first_batch_then_outage(daily_conn, monkeypatch):
    """The first ``DELETE /batch/rooms`` goes through; then Daily answers 503 to every delete."""
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", settings_env(batch_size=2, orphan_grace_minutes=0))
    real = DailyHook.delete_rooms_batch

    def first_then_outage(self, names):
        deleted = real(self, names)
        daily_conn.admin.script_faults([{"kind": "503", "method": "DELETE", "path": "/batch/rooms"}] * 10)
        return deleted

    monkeypatch.setattr(DailyHook, "delete_rooms_batch", first_then_outage)
    yield
    daily_conn.admin.clear_faults()


def test_the_report_and_the_sweep_are_typed_and_travel_as_the_same_json(sqlite_meetings_db, daily_conn):
    DailyHook().create_rooms_batch([dialin_spec(name) for name in ORPHANS[:1]])
    ledger, now = MemoryLedger(), datetime.now(UTC)
    reconcile(now=now, ledger=ledger)
    report = reconcile(now=now + GRACE, ledger=ledger)
    assert isinstance(report, ReconcileReport)
    data = report.to_xcom()
    assert set(data) == {
        *("checked", "recreated", "pin_changed", "pin_changed_count", "exp_fixed", "failures", "failed"),
        *("prefix", "orphans", "orphan_rooms", "orphans_due", "deletions", "interrupted"),
    }
    assert ReconcileReport.from_xcom(data) == report
    swept = sweep_orphans(deletions=data["deletions"], ledger=ledger)
    assert isinstance(swept, SweepResult) and swept.deleted == 1
    assert SweepResult.from_xcom(swept.to_xcom()) == swept
    verify(data, swept.to_xcom())


def test_an_outage_in_the_sweep_hands_verify_what_was_deleted(sqlite_meetings_db, daily_conn, first_batch_then_outage):
    """Before: ``sweep_orphans`` raised the outage and returned nothing, so ``verify`` never learnt
    that two orphans were deleted (nor why the third was not)."""
    DailyHook().create_rooms_batch([dialin_spec(name) for name in ORPHANS])
    ledger, now = MemoryLedger(), datetime.now(UTC)
    reconcile(now=now, ledger=ledger)
    report = reconcile(now=now + GRACE, ledger=ledger)
    with pytest.raises(Interrupted) as info:
        sweep_orphans(deletions=report.deletions, ledger=ledger)
    partial = info.value.result
    assert isinstance(partial, SweepResult)
    assert partial.deleted == 2 and partial.interrupted, partial
    assert len(live_rooms(daily_conn)) == 1
    assert list(ledger.first_seen) == [name for name in ORPHANS if name in live_rooms(daily_conn)]
    with pytest.raises(ProvisioningFailed, match="orphan sweep stopped early after 2 deletion"):
        verify(report, partial.to_xcom())


def test_the_dag_run_hands_the_partial_sweep_to_verify(
    sqlite_meetings_db, daily_conn, first_batch_then_outage, airflow_db, monkeypatch
):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models import Variable

    from tests.support.daily import REPO

    bag = DagBag(dag_folder=str(REPO / "dags" / "daily_dialin_reconcile.py"))
    dag = bag.dags["daily_dialin_reconcile"]
    monkeypatch.setattr(dag.get_task("delete_orphans"), "retries", 0)  # dag.test() would sit out the delay
    keys = ["daily_dialin_orphans__daily_default__mtg", *LEDGERS]  # the run spends the deletion budget: reset it
    for key in keys:
        Variable.delete(key)
    DailyHook().create_rooms_batch([dialin_spec(name) for name in ORPHANS])
    try:
        assert dag.test().state == "success"  # first sight: recorded, nothing deleted
        run = dag.test()
        assert run.state == "failed"
        tis = {ti.task_id: ti for ti in run.get_task_instances()}
        assert tis["delete_orphans"].state == "failed"
        assert tis["verify"].state == "failed", "verify ran on the partial result (not upstream_failed)"
        swept = SweepResult.from_xcom(tis["delete_orphans"].xcom_pull())
        assert swept.deleted == 2 and swept.interrupted
    finally:
        for key in keys:
            Variable.delete(key)
