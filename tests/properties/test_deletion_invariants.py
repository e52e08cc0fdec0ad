"""Property: whatever rows are deleted, inserted again or flipped between cancelled and scheduled
across runs - and rooms deleted in Daily behind our back - deletions stay safe.

Each example is a table of a few meetings and a list of rounds; a round applies its edits, then runs
provisioning (plan, chunks, ``retire_cancelled`` through the gate) and reconcile with its orphan
sweep (a clock the rounds advance, so the grace period passes or not). After every round:

* no room of a provisionable row is ever deleted: a provisionable row that had a room and was not
  edited (nor its room deleted behind our back) keeps the same room with the same PIN;
* every provisionable row has exactly its room in Daily, with the row's PIN - never two rooms for
  one meeting, so a row flipped cancelled -> scheduled converges on one new room;
* a cancelled row holds no PIN and its room is gone.

After two quiet rounds a grace period apart: no room under the prefix is left without an owning row.

And the budget over time (pure, no emulator): whatever slices arrive, whatever a person answers, and
a budget ledger garbled now and then, the rooms deleted without a person within any window never
pass the limit, and at most one approval waits per reason.

Deterministic unless ``PROPERTY_RANDOM=1``; ``PROPERTY_EXAMPLES`` (default 12) sets the examples.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from daily_dialin.provisioning.reconcile import MemoryLedger, is_ours, reconcile, sweep_orphans
from tests.support.daily import daily_connection_uri
from tests.support.engine import meeting, run_engine

IDS = [f"M{i}" for i in range(6)]
GRACE_MINUTES = 60
EDITS = ("delete_row", "insert_row", "cancel", "schedule", "delete_room")

rounds = st.lists(
    st.tuples(
        st.lists(st.tuples(st.sampled_from(EDITS), st.sampled_from(IDS)), max_size=4),
        st.sampled_from([0, 10, 59, 61, 120]),  # minutes the clock moves before the round's runs
    ),
    min_size=1,
    max_size=4,
)


class World:
    """The emulator (reset per example) and a SQLite meetings table (emptied per example)."""

    def __init__(self, server: Any, table: Any) -> None:
        self.server = server
        self.table = table
        self.ledger = MemoryLedger()
        self.now = datetime.now(UTC)

    def reset(self) -> None:
        self.server.admin.reset()
        self.ledger = MemoryLedger()
        self.now = datetime.now(UTC)
        self.sql("DELETE FROM daily_meetings")
        for meeting_id in IDS:
            self.insert(meeting_id)

    def sql(self, statement: str, params: tuple = ()) -> None:
        with self.table.engine.begin() as conn:
            conn.exec_driver_sql(statement, params)

    def insert(self, meeting_id: str) -> None:
        row = meeting(meeting_id)
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        self.sql(f"INSERT OR IGNORE INTO daily_meetings ({columns}) VALUES ({marks})", tuple(row.values()))

    def rows(self) -> dict[str, dict[str, Any]]:
        with self.table.engine.connect() as conn:
            result = conn.exec_driver_sql("SELECT * FROM daily_meetings")
            return {r["meeting_id"]: dict(r) for r in result.mappings()}

    def rooms(self) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in self.server.admin.snapshot()["rooms"] if not r.get("expired")}

    def apply(self, edit: str, meeting_id: str) -> None:
        if edit == "delete_row":
            self.sql("DELETE FROM daily_meetings WHERE meeting_id = ?", (meeting_id,))
        elif edit == "insert_row":
            self.insert(meeting_id)
        elif edit in ("cancel", "schedule"):
            status = "cancelled" if edit == "cancel" else "scheduled"
            self.sql("UPDATE daily_meetings SET status = ? WHERE meeting_id = ?", (status, meeting_id))
        else:
            name = f"mtg-{meeting_id}"
            if name in self.rooms():
                self.server.admin.delete_room(name)

    def run(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        summary = run_engine()
        assert not summary["errors"], summary["errors"]
        report = reconcile(now=self.now, ledger=self.ledger)
        sweep_orphans(deletions=report.deletions, ledger=self.ledger)


@pytest.fixture(scope="module")
def world(emulator_server, tmp_path_factory):
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable

    db = tmp_path_factory.mktemp("deletions") / "meetings.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_DAILY_DEFAULT", daily_connection_uri(emulator_server.base_url))
        mp.setenv("AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
        mp.setenv("AIRFLOW_VAR_DAILY_PROVISIONING", json.dumps({"orphan_grace_minutes": GRACE_MINUTES}))
        table = MeetingsTable.from_config(ProvisioningConfig())
        table.create_schema()
        yield World(emulator_server, table)


EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "12"))


@settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("PROPERTY_RANDOM") != "1",
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=rounds)
def test_deletions_never_hit_a_provisionable_room_and_leave_no_orphan(world: World, plan: list) -> None:
    world.reset()
    world.run(0)
    for edits, minutes in plan:
        before_rows, before_rooms = world.rows(), world.rooms()
        touched = {meeting_id for _, meeting_id in edits}
        for edit, meeting_id in edits:
            world.apply(edit, meeting_id)
        note(f"round: edits={edits} minutes={minutes}")
        world.run(minutes)
        _assert_kept(before_rows, before_rooms, world.rows(), world.rooms(), touched)
        _assert_converged(world.rows(), world.rooms())
    world.run(0)  # quiet: every orphan is seen
    world.run(GRACE_MINUTES + 1)  # quiet, past the grace period: the sweep
    rows, rooms = world.rows(), world.rooms()
    _assert_converged(rows, rooms)
    owned = {row["room_name"] for row in rows.values() if row["room_name"]}
    orphans = sorted(name for name in rooms if is_ours(name, "mtg") and name not in owned)
    assert orphans == [], "rooms left without an owning row after the grace period and one run"


def _assert_kept(before_rows, before_rooms, rows, rooms, touched) -> None:
    """A provisionable row with a room, not edited: same room, same PIN (never deleted)."""
    for meeting_id, old in before_rows.items():
        if meeting_id in touched or old["status"] != "scheduled" or not old["dialin_pin"]:
            continue
        name = old["room_name"]
        assert name in rooms, f"{meeting_id}: its room {name} was deleted"
        assert rooms[name]["config"]["dialin_code"] == old["dialin_pin"] == before_rooms[name]["config"]["dialin_code"]
        assert rows[meeting_id]["dialin_pin"] == old["dialin_pin"], f"{meeting_id}: its PIN changed"


def _assert_converged(rows, rooms) -> None:
    """One room per provisionable row with the row's PIN; no room or PIN for a cancelled one."""
    for meeting_id, row in rows.items():
        name = f"mtg-{meeting_id}"
        if row["status"] == "scheduled":
            assert row["room_name"] == name and name in rooms, f"{meeting_id} has no room"
            assert rooms[name]["config"]["dialin_code"] == row["dialin_pin"], f"{meeting_id}: PIN differs"
        else:
            assert row["dialin_pin"] is None, f"cancelled {meeting_id} keeps its PIN"
            assert name not in rooms, f"cancelled {meeting_id} keeps its room"
    pins = [room["config"].get("dialin_code") for room in rooms.values()]
    assert len(pins) == len(set(pins)), "two rooms share a PIN"


# -- the budget over time ------------------------------------------------------------------------
slices = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=6 * 60),  # minutes since the previous slice
        st.integers(min_value=0, max_value=30),  # rooms the slice would delete
        st.sampled_from(["cancelled", "orphan"]),
        st.sampled_from(["none", "approve", "reject", "timeout", "garble"]),  # what happens next
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=max(EXAMPLES * 8, 50), derandomize=os.environ.get("PROPERTY_RANDOM") != "1", deadline=None)
@given(steps=slices, limit=st.integers(min_value=0, max_value=25), hours=st.integers(min_value=1, max_value=48))
def test_automatic_deletions_never_pass_the_budget_in_any_window(steps: list, limit: int, hours: int) -> None:
    """Whatever the slices, the answers and a ledger garbled now and then: the rooms deleted without
    a person within any window of ``deletion_budget_window_hours`` never pass the limit; a rejected
    set is never deleted automatically; at most one approval waits per reason."""
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.deletions import Candidate, DeletionPlan, rejection, settle
    from daily_dialin.provisioning.ledger import DeletionLedger, MemoryStore

    config = ProvisioningConfig(max_deletions_without_approval=limit, deletion_budget_window_hours=hours)
    store = MemoryStore()
    ledger = DeletionLedger.for_config(config, store)
    now, automatic, rejected = datetime(2030, 1, 1, tzinfo=UTC), [], {}
    for n, (minutes, count, reason, then) in enumerate(steps):
        now += timedelta(minutes=minutes)
        rooms = [Candidate(room_name=f"mtg-{reason}-{n}-{i}") for i in range(count)]
        plan = settle(DeletionPlan.build(reason=reason, rooms=rooms, live=10_000, config=config), ledger, now=now)
        note(f"{now:%d %H:%M} {reason} {count} -> {plan.verdict}")
        if plan.verdict == "auto":
            automatic.append((now, plan.count))
            assert not set(plan.names()) & rejected.get(reason, set()), "a rejected room deleted automatically"
        since = now - timedelta(hours=hours)
        assert sum(c for when, c in automatic if when > since) <= limit, "the budget was passed"
        pending = ledger.decisions(reason).pending
        if plan.verdict == "ask":
            assert pending is not None and pending.digest == plan.digest
        if pending is not None and then in ("approve", "reject", "timeout"):
            user = None if then == "timeout" else {"name": "ops"}
            answer = {"chosen_options": ["Approve" if then == "approve" else "Reject"], "responded_by_user": user}
            handed = DeletionPlan.from_xcom(pending.plan)
            remembered = rejection(handed, answer, now=now)
            ledger.settle(reason, rejected=remembered)
            if remembered is not None:
                rejected[reason] = set(remembered.rooms)
        if then == "garble":
            store.set(ledger.key("budget", reason), "{not json", "")
