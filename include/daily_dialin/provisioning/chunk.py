"""One chunk task: its bounds (a typed value), its room groups from the table, the one pipeline.

``plan`` cuts the run's work into chunks of one kind each - ``meetings`` (one-off meetings by id
range) or ``series`` (whole series by key range: one task writes a series' room) - and leaves
each chunk's :class:`ChunkBounds` under its own XCom key (``chunk_<i>``, a few dozen bytes). A
chunk task reads its bounds, loads its groups (the table re-checks that they are still due), and
runs them through :func:`.groups.provision_groups`; its :class:`~.handover.ChunkResult` goes to
``summarize``, also when the chunk ends early (:class:`~daily_dialin.interrupted.Interrupted`).

Idempotency: the room name is the key (injective in the meeting id, and in the series key), so
whatever happened before - a lost response, a killed task, an overlapping run - a repeat finds the
room by its name and reuses it with its PIN.

May import: pydantic, ``daily_dialin`` (interrupted, rows) and the provisioning modules below the
steps (config, groups, handover, series, table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Self

from daily_dialin.interrupted import keep_partial
from daily_dialin.provisioning.groups import ONE_OFF, Chunk, Group, provision_groups
from daily_dialin.provisioning.handover import ChunkResult, Handover, RunPlan
from daily_dialin.provisioning.series import SERIES, JoinGate, cap_ends_by, row_key, series_group
from daily_dialin.provisioning.table import MeetingsTable
from daily_dialin.rows import MeetingRow

__all__ = ["ChunkBounds", "chunk_inputs", "chunk_key", "chunk_task", "provision_chunk", "run_chunk"]

ChunkKind = Literal["meetings", "series"]


def chunk_key(index: int) -> str:
    """The XCom key under which ``plan`` leaves chunk ``index``'s bounds."""
    return f"chunk_{index}"


class ChunkBounds(Handover):
    """A chunk's kind and its first and last key (meeting ids, or series keys), both inclusive."""

    kind: ChunkKind = "meetings"
    first: str
    last: str

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any] | Sequence[str] | Self) -> Self:
        """Also the list a plan made before this type (``[first, last]`` or ``[first, last, "series"]``):
        a run in flight during an upgrade still provisions its chunks."""
        if isinstance(data, list | tuple):
            kind = "series" if len(data) == 3 and data[2] == "series" else "meetings"
            return cls(kind=kind, first=data[0], last=data[1])
        return cls.model_validate(data)


def _meeting_groups(table: MeetingsTable, planned: RunPlan, bounds: ChunkBounds, now: datetime) -> list[Group]:
    return ONE_OFF.groups(table.fetch_range(planned.selection, bounds.first, bounds.last), planned.config)


def _series_groups(table: MeetingsTable, planned: RunPlan, bounds: ChunkBounds, now: datetime) -> list[Group]:
    """The due series of the chunk's key range (due re-checked now), each a group."""
    config, selection = planned.config, planned.selection
    key_range = (bounds.first, bounds.last)
    due = table.due_series_keys(selection, now=now, cap_ends_by=cap_ends_by(now, config), key_range=key_range)
    rows: dict[str, list[tuple[MeetingRow, bool]]] = {}
    for row, writable in table.fetch_series(bounds.first, bounds.last, force=selection.force):
        rows.setdefault(row_key(row), []).append((row, writable))
    return [series_group(key, found) for key, found in rows.items() if key in due]


_LOADERS = {"meetings": (ONE_OFF, _meeting_groups, "Chunk"), "series": (SERIES, _series_groups, "Series chunk")}


def run_chunk(
    *,
    index: int,
    bounds: ChunkBounds | Mapping[str, Any] | Sequence[str],
    run: Mapping[str, Any] | RunPlan,
    now: datetime | None = None,
    deletions: dict[str, Any] | None = None,
) -> ChunkResult:
    """Provision one chunk and return its :class:`ChunkResult`. ``deletions``: the gate's judged
    plan, for a series chunk's joins (``None``: judged in the chunk by the per-run limit; ``{}``:
    every join waits). An error that ends the chunk early still writes back every room made and
    the reason on the rest, without counting it as an attempt of theirs, then raises
    :class:`~daily_dialin.interrupted.Interrupted` with the result so far and the error."""
    now = now or datetime.now(UTC)
    planned = RunPlan.from_xcom(run)
    chunk_bounds = ChunkBounds.from_xcom(bounds)
    table = MeetingsTable.from_config(planned.config)
    policy, load, label = _LOADERS[chunk_bounds.kind]
    chunk = Chunk(
        index=index,
        policy=policy,
        groups=load(table, planned, chunk_bounds, now),
        table=table,
        context=JoinGate(deletions=deletions, live=table.live_room_count),
        label=f"{label} {index}",
    )
    return provision_groups(chunk, planned.config, now)


def provision_chunk(
    *,
    index: int,
    bounds: ChunkBounds | Mapping[str, Any] | Sequence[str],
    run: dict[str, Any],
    now: datetime | None = None,
    deletions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """:func:`run_chunk`, its result as JSON (what the task returns)."""
    return run_chunk(index=index, bounds=bounds, run=run, now=now, deletions=deletions).to_xcom()


def chunk_inputs(ti: Any, index: int) -> dict[str, Any]:
    """What a chunk task reads besides the run: its bounds (its own XCom key) and the gate's
    judged plan - a one-off joining a series leaves its own room only when it allows (none handed
    over - the branch failed -: ``{}`` holds every join)."""
    return {
        "bounds": ti.xcom_pull(task_ids="plan", key=chunk_key(index)),
        "deletions": ti.xcom_pull(task_ids="deletions_plan", key="deletions_plan") or {},
    }


def chunk_task(*, ti: Any, index: int, run: dict[str, Any]) -> dict[str, Any]:
    """The mapped task's body as one call: provision the chunk (:func:`chunk_inputs`); one that
    ended early still hands ``summarize`` what it did, as this try's return value
    (:func:`~daily_dialin.interrupted.keep_partial`), and the task fails with the error that ended it."""
    inputs = chunk_inputs(ti, index)
    return keep_partial(
        lambda: run_chunk(index=index, run=run, **inputs),
        push=lambda key, value: ti.xcom_push(key=key, value=value),
    )
