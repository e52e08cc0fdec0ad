"""The room is the unit of work: one pipeline for one-off meetings and series (issue 22 item 1).

A one-off meeting is a group of one row, a series a group of n rows on one room; every group goes
through the same steps (plan the spec, ensure the room, record, write back, one chunk result).
These tests pin what must not differ between the two kinds: the chunk bounds as a typed value,
one chunk result builder, one ``pin_changed`` rule (a reinstated series is reported like a
reinstated one-off meeting: ``test_series.test_a_reinstated_series_is_reported_in_pin_changed``
and, both kinds in one run, below), one protocol for a chunk that ends early.

Against the emulator over HTTP and a real SQLite table, through the steps as the DAG's tasks call them.
"""

from __future__ import annotations

from contextlib import closing

import pytest

from daily_dialin.interrupted import Interrupted
from daily_dialin.provisioning import steps
from daily_dialin.provisioning.handover import ChunkResult
from tests.support.engine import insert_rows, meeting, run_engine, table_rows


def _update(table, meeting_id: str, **values) -> None:
    sets = ", ".join(f"{table.cols[c]} = {table.ph}" for c in values)
    with closing(table.hook.get_conn()) as conn:
        conn.cursor().execute(
            f"UPDATE {table.table} SET {sets} WHERE {table.cols['meeting_id']} = {table.ph}",
            [*values.values(), meeting_id],
        )
        conn.commit()


def test_chunk_bounds_are_a_typed_value_with_their_kind(sqlite_meetings_db, daily_conn):
    from daily_dialin.provisioning.chunk import ChunkBounds

    insert_rows(sqlite_meetings_db, [meeting("M1"), meeting("S1-1", series_id="S1"), meeting("S1-2", series_id="S1")])
    planned = steps.plan(params={}, run_type="manual", logical_date=None)
    bounds = [ChunkBounds.from_xcom(b) for b in planned["bounds"]]
    assert [(b.kind, b.first, b.last) for b in bounds] == [("meetings", "M1", "M1"), ("series", "S1", "S1")]
    assert all(len(str(b.to_xcom())) < 100 for b in bounds), "each chunk's hand-over stays O(1)"
    # a chunk planned by the code before (a run in flight during an upgrade) is still read
    assert ChunkBounds.from_xcom(["a", "b", "series"]) == ChunkBounds(kind="series", first="a", last="b")
    assert ChunkBounds.from_xcom(["a", "b"]) == ChunkBounds(kind="meetings", first="a", last="b")


def test_one_chunk_result_builder_for_both_kinds(sqlite_meetings_db, daily_conn, monkeypatch):
    """Both chunk kinds hand over their result through the one builder (today's code had two:
    ``steps._chunk_result`` and ``series.series_result``), with the same shape."""
    from daily_dialin.provisioning import groups

    built: list[int] = []
    one_builder = groups.chunk_result

    def counting(index, members):
        built.append(index)
        return one_builder(index, members)

    monkeypatch.setattr(groups, "chunk_result", counting)
    insert_rows(
        sqlite_meetings_db,
        [
            meeting("M1"),
            meeting("M-far", days=400),
            meeting("S1-1", series_id="S1"),
            meeting("S1-far", days=400, series_id="S1"),
        ],
    )
    # meeting ids name no horizon: the one-off beyond Daily's 365 days is selected, and waits
    planned = steps.plan(params={"meeting_ids": ["M1", "M-far", "S1-1"]}, run_type="manual", logical_date=None)
    results = [
        ChunkResult.from_xcom(steps.provision_chunk(index=i, bounds=b, run=planned["run"]))
        for i, b in enumerate(planned["bounds"])
    ]
    assert built == [0, 1]
    meetings, series = results
    assert (meetings.counts.created, series.counts.created) == (1, 1)
    assert meetings.waiting.ids == ["M-far"] and series.waiting.ids == ["S1-far"], "waiting: the same list"
    assert not meetings.failures and not series.failures


def test_a_reinstated_series_and_a_reinstated_meeting_are_both_reported(sqlite_meetings_db, daily_conn):
    """One ``pin_changed`` rule: both rooms deleted at cancellation; scheduled again, both get a new
    room with a new PIN, and both invitations must be re-sent."""
    table = sqlite_meetings_db
    insert_rows(table, [meeting("R1"), meeting("RS-1", series_id="RS"), meeting("RS-2", days=9, series_id="RS")])
    assert run_engine()["verdict"] == "success"
    for meeting_id in ("R1", "RS-1", "RS-2"):
        _update(table, meeting_id, status="cancelled")
    assert run_engine()["verdict"] == "success"
    assert all(row["dialin_pin"] is None for row in table_rows(table).values())
    for meeting_id in ("R1", "RS-1", "RS-2"):
        _update(table, meeting_id, status="scheduled")
    summary = run_engine()
    assert summary["verdict"] == "success", summary
    assert sorted(summary["pin_changed"]["ids"]) == ["R1", "RS-1", "RS-2"]


def test_both_kinds_end_early_through_one_protocol(sqlite_meetings_db, daily_conn, monkeypatch):
    """A chunk of either kind stopped by an outage writes back what it did and raises the one
    :class:`~daily_dialin.interrupted.Interrupted`, carrying its result and the cause."""
    from airflow_provider_daily.bulk import BulkRoomCreator
    from airflow_provider_daily.errors import DailyServerError

    def outage(self, specs, outcomes=None):
        next(iter(specs))
        raise DailyServerError(status=503, error="server-error", info=None, method="POST", path="/batch/rooms")

    monkeypatch.setattr(BulkRoomCreator, "ensure_rooms", outage)
    insert_rows(sqlite_meetings_db, [meeting("M1"), meeting("S1-1", series_id="S1")])
    planned = steps.plan(params={}, run_type="manual", logical_date=None)
    for index, bounds in enumerate(planned["bounds"]):
        with pytest.raises(Interrupted) as info:
            steps.provision_chunk(index=index, bounds=bounds, run=planned["run"])
        assert isinstance(info.value.cause, DailyServerError) and info.value.__cause__ is info.value.cause
        result = info.value.result
        assert result.index == index and result.counts.failed == 1
    rows = table_rows(sqlite_meetings_db)
    assert all(rows[m]["attempts"] == 0 for m in ("M1", "S1-1")), "an outage is no attempt"


def test_a_one_off_group_is_one_object_per_meeting():
    """A chunk holds its 1,000 one-off groups until the write-back, in a process whose heap is
    large (``airflow dags test``, a LocalExecutor worker): every object the pipeline adds per row
    is walked by each full collection. A one-off group is one tracked object - its row is its only
    member -, as the per-meeting item of the pipeline before was (a group, a member and two lists
    per row were the likely cause of +14 % CPU at 100,000 meetings on PostgreSQL in one A/B;
    ``docs/benchmarks.md``)."""
    import gc

    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.groups import ONE_OFF
    from daily_dialin.rows import MeetingRow

    config = ProvisioningConfig()
    rows = [MeetingRow.from_record({"meeting_id": f"M{i}", "status": "scheduled"}, config=config) for i in range(200)]
    gc.collect()
    gc.disable()
    try:
        alive = gc.get_objects()  # held: no id of them is reused by a new object
        before = {id(o) for o in alive}
        groups = ONE_OFF.groups(rows, config)
        after = gc.get_objects()
    finally:
        gc.enable()
    # other threads of the test process (event loops) may allocate meanwhile: only what holds our rows
    # counts - the objects referring to a row, and those referring to them (a group's lists, the group)
    added = [o for o in after if id(o) not in before and id(o) not in {id(groups), id(after), id(before), id(alive)}]
    rows_ids = {id(r) for r in rows}
    made = [o for o in added if any(id(x) in rows_ids for x in gc.get_referents(o))]
    made_ids = {id(o) for o in made}
    made += [o for o in added if id(o) not in made_ids and any(id(x) in made_ids for x in gc.get_referents(o))]
    kinds = sorted({type(o).__name__ for o in made})
    assert len(made) == len(rows), f"{len(made)} objects ({', '.join(kinds)}) for {len(rows)} meetings"
    # and it reads as any group does
    group = groups[0]
    assert (group.key, group.rows, group.members, group.policy) == ("M0", (rows[0],), (group,), ONE_OFF)
