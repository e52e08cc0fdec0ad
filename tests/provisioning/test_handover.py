"""The typed hand-overs between the tasks, and the explicit end of an interrupted chunk.

Models round-trip through JSON as XCom carries them; a problem's kind is the table's, never read
back from its text; a chunk that ends early raises :class:`~daily_dialin.interrupted.Interrupted` carrying what it did,
and the task fails with the error that ended it. Real steps against SQLite and the emulator.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_daily.errors import DailyAuthError, DailyServerError
from daily_dialin.errors import ProvisioningFailed
from daily_dialin.provisioning import steps
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.handover import ChunkResult, Listed, PlanReport, Problem, RunPlan, Summary
from daily_dialin.provisioning.window import Selection
from tests.support.daily import daily_connection_uri
from tests.support.engine import DEFAULT_PARAMS, insert_rows, meeting, table_rows


def xcom(value):
    return json.loads(json.dumps(value))


def test_a_run_plan_travels_as_json_and_comes_back_equal():
    selection = Selection(
        starts_from=datetime(2026, 12, 1, tzinfo=UTC),
        ends_after=datetime(2026, 12, 5, 9, tzinfo=UTC),
        meeting_ids=(" M1", "M1 "),
    )
    planned = RunPlan(
        config=ProvisioningConfig(chunk_size=7, alert_within_minutes=45),
        selection=selection,
        mode="manual",
        window="w",
        selected=3,
        chunk_count=1,
        report=PlanReport(
            unknown=Listed.of(["NOPE"]),
            problems=[Problem(kind="time", meeting_id="T1", reason="starts_at 'x' is not a timestamp")],
            problem_counts={"time": 1},
        ),
    )
    back = RunPlan.from_xcom(xcom(planned.to_xcom()))
    assert back == planned
    assert back.selection.meeting_ids == (" M1", "M1 "), "ids exactly as given"
    assert back.config.alert_within_minutes == 45 and back.report.unreadable_count == 1


def test_a_listed_list_never_exceeds_its_cap():
    listed = Listed.of([f"M{i}" for i in range(500)])
    assert listed.count == 500 and len(listed.ids) == 50


def _run(*problems: Problem, counts: dict[str, int]) -> dict:
    report = PlanReport(problems=list(problems), problem_counts=counts)
    return RunPlan(
        config=ProvisioningConfig(), selection=Selection(), mode="rolling", window="w", dry_run=True, report=report
    )


def test_summarize_takes_a_problems_kind_from_the_table_not_from_its_reason():
    run = _run(
        # texts that would fool a prefix test: the kind says what each is
        Problem(kind="time", meeting_id="T1", reason="status-like text: starts_at cannot be compared"),
        Problem(kind="status", meeting_id="S1", reason="unknown status 'tbd'"),
        Problem(kind="id", meeting_id=None, reason="meeting_id is empty"),
        counts={"time": 1, "status": 1, "id": 1},
    )
    summary = Summary.from_xcom(steps.summarize(run=run.to_xcom(), chunk_results=[], retired=None))
    assert summary.unreadable == 2 and summary.unknown_status == 1
    assert set(summary.failures) == {"T1", "None"}, "unreadable rows are failures, unknown statuses are not"


def test_a_hand_over_with_a_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="kind"):
        Problem.from_xcom({"kind": "other", "meeting_id": "X", "reason": "r"})
    with pytest.raises(ValueError, match="extra"):
        ChunkResult.from_xcom({"index": 0, "chunk_result": {}})


def _plan_one_chunk() -> tuple[dict, list[str]]:
    result = steps.plan(params=DEFAULT_PARAMS, run_type="manual", logical_date=None)
    assert len(result["bounds"]) == 1
    return xcom(result["run"]), result["bounds"][0]


def test_a_refused_key_interrupts_the_chunk_explicitly(sqlite_meetings_db, daily_conn, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, key="wrong-key-0123456789")
    )
    insert_rows(sqlite_meetings_db, [meeting("K1"), meeting("K2"), meeting("KBAD", timezone="Nowhere/Else")])
    run, bounds = _plan_one_chunk()
    with pytest.raises(steps.Interrupted) as info:
        steps.provision_chunk(index=0, bounds=bounds, run=run)
    interrupted = info.value
    assert isinstance(interrupted.cause, DailyAuthError) and interrupted.__cause__ is interrupted.cause
    assert interrupted.result.counts.failed == 3
    assert set(interrupted.result.failures) == {"K1", "K2", "KBAD"}
    assert "timezone" in interrupted.result.failures["KBAD"], "a bad row keeps its own reason"
    assert not hasattr(interrupted.cause, "chunk_result"), "nothing is patched onto the cause"
    rows = table_rows(sqlite_meetings_db)
    assert rows["K1"]["attempts"] == 0 and "authentication" in rows["K1"]["last_error"]
    assert rows["KBAD"]["attempts"] == 1, "the bad row's failure is its own"


class FakeTaskInstance:
    def __init__(self, bounds):
        self.bounds, self.pushed = bounds, {}

    def xcom_pull(self, *, task_ids, key):
        if (task_ids, key) == ("deletions_plan", "deletions_plan"):
            return None  # the gate handed nothing over (its branch failed): every join stays held
        assert (task_ids, key) == ("plan", "chunk_0")
        return self.bounds

    def xcom_push(self, *, key, value):
        self.pushed[key] = xcom(value)


def test_the_chunk_task_fails_with_the_cause_and_still_hands_over_its_result(
    sqlite_meetings_db, daily_conn, monkeypatch
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(daily_conn.base_url, key="wrong-key-0123456789")
    )
    insert_rows(sqlite_meetings_db, [meeting("K1")])
    run, bounds = _plan_one_chunk()
    ti = FakeTaskInstance(bounds)
    with pytest.raises(DailyAuthError) as info:
        steps.chunk_task(ti=ti, index=0, run=run)
    assert isinstance(info.value, AirflowFailException), "the cause's type still decides: no retry"
    handed = ChunkResult.from_xcom(ti.pushed["return_value"])
    assert handed.counts.failed == 1 and "K1" in handed.failures


def test_specs_are_built_as_the_creator_reads_them_and_the_rest_after_an_interruption(
    sqlite_meetings_db, daily_conn, monkeypatch
):
    """The overlap of spec building with calls in flight is kept, explicitly: the creator pulls
    specs lazily; whatever an interruption left unread is built after, so every row gets its reason."""
    from airflow_provider_daily.bulk import BulkRoomCreator
    from daily_dialin.provisioning.meetings import Meeting

    built: list[str] = []
    room_spec = Meeting.room_spec

    def counting(self, *args, **kwargs):
        built.append(self.meeting_id)
        return room_spec(self, *args, **kwargs)

    seen_when_first_read: list[list[str]] = []

    def ensure_rooms(self, specs, outcomes=None):
        iterator = iter(specs)
        next(iterator)
        seen_when_first_read.append(list(built))
        raise DailyServerError(status=503, error="server-error", info=None, method="POST", path="/batch/rooms")

    monkeypatch.setattr(Meeting, "room_spec", counting)
    monkeypatch.setattr(BulkRoomCreator, "ensure_rooms", ensure_rooms)
    insert_rows(sqlite_meetings_db, [meeting("A1"), meeting("A2"), meeting("A3", title=""), meeting("A4")])
    run, bounds = _plan_one_chunk()
    with pytest.raises(steps.Interrupted) as info:
        steps.provision_chunk(index=0, bounds=bounds, run=run)
    assert seen_when_first_read == [["A1"]], "one spec built when the creator read one"
    assert built == ["A1", "A2", "A4"], "the unread rows were built after the interruption"
    failures = info.value.result.failures
    assert failures["A3"] == "title is empty", "a bad unread row gets its own reason"
    assert all(failures[m].startswith("not provisioned: DailyServerError") for m in ("A1", "A2", "A4"))
    rows = table_rows(sqlite_meetings_db)
    assert [rows[m]["attempts"] for m in ("A1", "A2", "A3", "A4")] == [0, 0, 1, 0]


def test_a_deletion_task_that_handed_over_nothing_fails_the_verdict():
    """retire_cancelled failed (or never ran: its plan failed) - its rooms may still be live. A red
    task in a green run would hide that: summarize records it and verify fails the run."""
    run = _run(counts={}).model_copy(update={"dry_run": False})
    summary = steps.summarize(run=run.to_xcom(), chunk_results=[], retired=None)
    assert Summary.from_xcom(summary).retire_lost
    with pytest.raises(ProvisioningFailed, match="deletion of cancelled meetings' rooms did not finish"):
        steps.verify(summary)
    dry = steps.summarize(run=_run(counts={}).to_xcom(), chunk_results=[], retired=None)
    assert not Summary.from_xcom(dry).retire_lost, "a dry run deletes nothing: nothing is lost"
