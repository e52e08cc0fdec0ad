"""What the tasks of a provisioning run hand each other, as typed models.

Between tasks everything travels through XCom as JSON: a task returns ``model.to_xcom()``
(``model_dump(mode="json")``) and the next validates what it pulled with ``Model.from_xcom``.
Every hand-over stays small whatever the run's size - counts, and at most :data:`LISTED` ids
(and reasons) per list - and carries no PIN, URL or key.

* :class:`RunPlan` - ``plan`` -> every later task: the run's settings, its selection and the
  plan's report (:class:`PlanReport`: unknown ids, rows no run can select, meetings given up on).
* :class:`ChunkResult` - one chunk (of meetings, or of recurring series) -> ``summarize``.
* :class:`RetireResult` - ``retire_cancelled`` -> ``summarize``.
* :class:`Summary` - ``summarize`` -> ``verify``.

May import: pydantic, :mod:`.config` and :mod:`.window` (and the standard library).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.window import Selection

__all__ = [
    "LISTED",
    "OUTCOMES",
    "AlertScope",
    "ChunkResult",
    "Counts",
    "DeletionResult",
    "Listed",
    "PlanReport",
    "Problem",
    "ProblemKind",
    "RetireResult",
    "RunPlan",
    "Summary",
]

LISTED = 50  # ids (and reasons) a hand-over carries at most: XCom stays small whatever the run's size
OUTCOMES = ("created", "reused", "updated", "skipped", "failed")

ProblemKind = Literal["id", "time", "series", "status"]


class Handover(BaseModel):
    """A frozen model that travels through XCom as JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_xcom(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any] | Self) -> Self:
        return cls.model_validate(data)


class Listed(Handover):
    """How many there are, and the first :data:`LISTED` of them by id."""

    count: int = Field(default=0, ge=0)
    ids: list[str] = Field(default_factory=list, max_length=LISTED)

    @classmethod
    def of(cls, ids: Sequence[str], *, count: int | None = None) -> Listed:
        return cls(count=len(ids) if count is None else count, ids=list(ids[:LISTED]))


class Counts(Handover):
    """Meetings per outcome."""

    created: int = 0
    reused: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{name: getattr(self, name) + getattr(other, name) for name in OUTCOMES})


class Problem(Handover):
    """A row no run can select. ``kind`` comes from the table's own classification: ``id`` (NULL,
    blank or not text), ``time`` (a start or end the table cannot compare), ``series`` (a
    ``series_id`` that names no series) - these fail the run - or ``status`` (in none of the
    configured lists: reported, not failed)."""

    kind: ProblemKind
    meeting_id: str | None
    reason: str

    @property
    def unreadable(self) -> bool:
        """A provisionable row the table cannot select (as opposed to an unknown status)."""
        return self.kind != "status"


class PlanReport(Handover):
    """What ``plan`` found besides the due meetings."""

    unknown: Listed = Field(default_factory=Listed, description="requested ids not in the table")
    problems: list[Problem] = Field(default_factory=list, max_length=LISTED, description="the first rows found")
    problem_counts: dict[ProblemKind, int] = Field(default_factory=dict, description="all rows found, per kind")
    given_up: Listed = Field(default_factory=Listed, description="meetings left after max_attempts failures")

    @property
    def unreadable_count(self) -> int:
        return sum(count for kind, count in self.problem_counts.items() if kind != "status")

    @property
    def unknown_status_count(self) -> int:
        return self.problem_counts.get("status", 0)


class AlertScope(Handover):
    """The meetings a run's alerts may name: those ``plan`` saw without a room, started or starting
    within ``alert_within_minutes`` of its ``planned_at`` (``reach``). A meeting booked later is
    the next run's: its plan selects it. ``ids`` holds them all when ``count`` fits in
    :data:`LISTED`; beyond that, every meeting starting before ``reach`` is in scope."""

    planned_at: datetime
    reach: datetime
    count: int = Field(default=0, ge=0)
    ids: list[str] = Field(default_factory=list, max_length=LISTED)

    @property
    def complete(self) -> bool:
        return self.count <= len(self.ids)


class RunPlan(Handover):
    """``plan``'s hand-over to every later task. The chunks' id ranges are not in it: each
    travels under its own XCom key, so a chunk task reads O(1) whatever the run's size."""

    config: ProvisioningConfig
    selection: Selection
    mode: str
    window: str = Field(description="the window, described for people")
    dry_run: bool = False
    selected: int = Field(default=0, ge=0, description="meetings due")
    chunk_count: int = Field(default=0, ge=0)
    series: int = Field(default=0, ge=0, description="recurring series due (their chunks follow the meetings' ones)")
    report: PlanReport = Field(default_factory=PlanReport)
    alert_scope: AlertScope | None = Field(default=None, description="what the run's alerts may name (None: all)")
    force_live_deletions: bool = Field(
        default=False, description="a person asked to delete rooms even with people in them (run parameter)"
    )


class ChunkResult(Handover):
    """What one chunk did (also when it ended early: then it is handed over by the failed task)."""

    index: int = Field(ge=0)
    counts: Counts = Field(default_factory=Counts)
    failures: dict[str, str] = Field(default_factory=dict, description="the first LISTED: meeting id -> reason")
    pin_changed: Listed = Field(default_factory=Listed, description="provisioned before, now with another PIN")
    waiting: Listed = Field(
        default_factory=Listed, description="series occurrences beyond Daily's 365 days: a later run adds them"
    )
    deferred: Listed = Field(
        default_factory=Listed,
        description="meetings whose room is live (people in it): its exp or its deletion waits until it is empty",
    )


class DeletionResult(Handover):
    """What a step that deletes rooms through the gate did: :class:`RetireResult` (the rooms of
    cancelled meetings), :class:`daily_dialin.provisioning.orphans.SweepResult` (orphans)."""

    deleted: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0, description="rooms that could not be deleted")
    failures: dict[str, str] = Field(default_factory=dict, description="the first LISTED: meeting id or room -> reason")
    held: int = Field(default=0, ge=0, description="not deleted for want of approval (the gate)")
    approval: str | None = Field(default=None, description="the gate's verdict: automatic, approved, rejected")
    deferred: int = Field(
        default=0, ge=0, description="rooms not deleted: people in them, or presence unknown (the next run tries again)"
    )
    deferred_rooms: dict[str, str] = Field(
        default_factory=dict, description="the first LISTED: room -> 'deferred: live (N participants, M on the phone)'"
    )


class RetireResult(DeletionResult):
    """What ``retire_cancelled`` did with the rooms of cancelled meetings (``held``: of the failed)."""

    pending: int = Field(default=0, ge=0, description="left for the next run (the task ended first)")
    detached: int = Field(default=0, ge=0, description="rows cleared whose room stays (another row still uses it)")


class Summary(Handover):
    """The run's true totals, and everything ``verify`` fails the run for."""

    plan_failed: bool = False
    mode: str | None = None
    window: str | None = None
    dry_run: bool = False
    selected: int = 0
    counts: Counts = Field(default_factory=Counts)
    failures: dict[str, str] = Field(default_factory=dict, description="the first LISTED: meeting id -> reason")
    lost_chunks: int = Field(default=0, ge=0, description="chunk tasks that handed over nothing")
    unreadable: int = Field(default=0, ge=0, description="provisionable rows no run can select")
    unknown_status: int = Field(default=0, ge=0, description="rows whose status is in none of the lists")
    unknown: Listed = Field(default_factory=Listed)
    given_up: Listed = Field(default_factory=Listed)
    pin_changed: Listed = Field(default_factory=Listed)
    waiting: Listed = Field(default_factory=Listed, description="series occurrences waiting for the 365-day window")
    deferred: Listed = Field(
        default_factory=Listed, description="meetings whose live room waits (people in it): not a failure"
    )
    retired: RetireResult = Field(default_factory=RetireResult)
    retire_lost: bool = Field(
        default=False, description="the deletion of cancelled meetings' rooms handed over nothing (it failed)"
    )
    alert_within_minutes: int = 0
    not_ready_soon: Listed = Field(default_factory=Listed, description="starting soon, still without a room")
    missed: Listed = Field(default_factory=Listed, description="started without ever having had a room")
    freshness_error: str | None = Field(default=None, description="why the two checks above could not run")
