"""The room is the unit of work: a group is the rows one room serves, and every group goes through
one pipeline, whatever its kind (:data:`Group`).

A one-off meeting is a :class:`OneOffGroup`, one row that is its own only member; a recurring
series (:mod:`.series`) a :class:`RoomGroup` of n rows on one room. What truly differs between
the kinds is a small :class:`Policy`: how the room spec is planned (its name, ``nbf``, what
"beyond 365 days" means, which occurrence gives the settings), whether a member that already
holds the room as it is is left alone, and what follows the rooms (a series: the own rooms of
members joining it, the room's ``exp`` in its other rows). The rest is written once, here::

    groups (the table's selection) -> plan the spec (lazily, as the creator reads it)
      -> ensure the rooms (creating.ensure_rooms, the one creating path)
      -> record each member (recording.provisioned_for, recording.pin_changed)
      -> the policy's follow-up -> write back (one transaction) -> chunk_result (one builder)

May import: the provider's models, ``daily_dialin`` (errors, rows, interrupted) and the
provisioning modules below the steps (config, creating, handover, meetings, recording).
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_daily.models import RoomCreate
from daily_dialin.errors import BadMeetingRow
from daily_dialin.interrupted import Interrupted
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.creating import Ensured, ensure_rooms
from daily_dialin.provisioning.handover import LISTED, OUTCOMES, ChunkResult, Counts, Listed
from daily_dialin.provisioning.meetings import Meeting, WaitingForDailyWindow, room_name_for
from daily_dialin.provisioning.recording import Failure, Provisioned, pin_changed, provisioned_for
from daily_dialin.rows import MeetingRow

if TYPE_CHECKING:
    from daily_dialin.provisioning.table import MeetingsTable

__all__ = [
    "ONE_OFF",
    "Group",
    "Member",
    "OneOffGroup",
    "OneOffPolicy",
    "Policy",
    "RoomGroup",
    "chunk_result",
    "provision_groups",
]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Member:
    """One row on its way through a chunk: the room it gets, and what became of it."""

    row: MeetingRow
    meeting: Meeting | None = None
    provisioned: Provisioned | None = None
    outcome: str | None = None
    failure: Failure | None = None
    pin_changed: bool = False
    unchanged: bool = False  # holds the room as it is: not written (a series: only its room_exp may change)
    waiting: bool = False  # beyond Daily's 365 days: its reason is recorded, not as a failure
    deferred: bool = False  # its room is live: the change waits until it is empty (not a failure)
    held: bool = False  # joins a series, but keeps its own room until the deletion gate allows
    rewrite: bool = False  # written even if it holds the room as it is (it gives the room new settings)

    @property
    def meeting_id(self) -> str:
        return self.row.meeting_id

    @property
    def failed(self) -> Failure | None:
        """Its failure, if it is one of the run (waiting, deferred and held members are not)."""
        return None if self.waiting or self.held or self.deferred else self.failure

    def fail(self, reason: str, *, counts: bool) -> None:
        self.failure = Failure(meeting_id=self.meeting_id, reason=reason, counts=counts)

    def undo(self, reason: str) -> None:
        """Its room is not written after all (a join held or interrupted): it keeps its row as it was."""
        self.provisioned, self.outcome, self.pin_changed = None, None, False
        self.fail(reason, counts=False)


class _Planned:
    """The room's spec, planned once: what every kind of group shares (``spec``, ``planned`` and
    ``policy`` are the group's own)."""

    __slots__ = ()

    def plan(self: Group, config: ProvisioningConfig, now: datetime) -> RoomCreate | None:
        """The room's spec, planned once (a bad member fails alone and the group may have none)."""
        if not self.planned:
            self.planned = True
            self.spec = self.policy.plan(self, config, now)
        return self.spec


@dataclass(slots=True)
class RoomGroup(_Planned):
    """The rows one room serves: ``rows`` all of them (any status), ``members`` those this run
    writes (a series' provisionable occurrences not over), ``spec`` the room (``None``: none now)."""

    key: str
    rows: list[MeetingRow]
    members: list[Member]
    policy: Policy
    spec: RoomCreate | None = None
    planned: bool = False


@dataclass(slots=True)
class OneOffGroup(Member, _Planned):
    """A one-off meeting's group: its one row, which is also its only member - one object per
    meeting, not a group, a member and two lists. A chunk holds its 1,000 groups until the
    write-back, in a process (``airflow dags test``, a LocalExecutor worker) whose heap is large:
    every object a row adds is walked by each full collection (``docs/benchmarks.md``, the scale
    A/B)."""

    spec: RoomCreate | None = None
    planned: bool = False

    @property
    def key(self) -> str:
        return self.row.meeting_id

    @property
    def rows(self) -> tuple[MeetingRow]:
        return (self.row,)

    @property
    def members(self) -> tuple[Member]:
        return (self,)

    @property
    def policy(self) -> OneOffPolicy:
        return ONE_OFF


Group = RoomGroup | OneOffGroup  # what the pipeline takes: the rows one room serves


class Policy(Protocol):
    """What differs between the kinds of group."""

    kind: str
    keeps_unchanged: bool  # a member already holding the room as it is is left alone

    def plan(self, group: Group, config: ProvisioningConfig, now: datetime) -> RoomCreate | None: ...

    def follow_up(self, groups: Sequence[Group], config: ProvisioningConfig, context: Any) -> Exception | None: ...

    def exp_updates(self, group: Group) -> list[tuple[str, str, int]]: ...


class OneOffPolicy:
    """A one-off meeting: its own room (``room_name_for``), ``nbf`` before its start, a room beyond
    Daily's 365 days waits (:class:`~.meetings.WaitingForDailyWindow`); a bad row fails alone."""

    kind = "meetings"
    keeps_unchanged = False  # a one-off row is selected only when it needs its room (or forced)

    def plan(self, group: Group, config: ProvisioningConfig, now: datetime) -> RoomCreate | None:
        member = group.members[0]
        if member.failure is not None:
            return None
        try:
            # the meeting itself is not kept: a chunk holds its members until the write-back
            return Meeting.from_row(member.row).room_spec(config, now=now.timestamp())
        except WaitingForDailyWindow as exc:
            # too early, not wrong: whichever run selected it (meeting ids name no horizon), it waits -
            # no attempt counted, never given up on, provisioned by the run that finds it within reach
            member.waiting = True
            member.fail(exc.reason, counts=False)
        except BadMeetingRow as exc:
            member.fail(exc.reason, counts=True)
        except Exception as exc:  # never let one row take its chunk down, whatever it holds
            member.fail(f"unreadable row ({type(exc).__name__}: {exc})", counts=True)
        return None

    def follow_up(self, groups: Sequence[Group], config: ProvisioningConfig, context: Any) -> Exception | None:
        return None

    def exp_updates(self, group: Group) -> list[tuple[str, str, int]]:
        return []

    @staticmethod
    def groups(rows: Iterable[MeetingRow], config: ProvisioningConfig) -> list[OneOffGroup]:
        """A group per row; two rows on one room name (one id twice in a table without a key; in
        theory a hash collision) both fail, before anything is sent: never two meetings on one room."""
        groups = [OneOffGroup(row=row) for row in rows]
        by_name: dict[str, list[Member]] = {}
        for group in groups:
            if group.key.strip():  # a blank id fails on its own, when planned
                by_name.setdefault(room_name_for(group.key, config.room_name_prefix), []).append(group)
        for name, sharing in by_name.items():
            if len(sharing) > 1:
                ids = ", ".join(repr(m.meeting_id) for m in sharing)
                for member in sharing:
                    member.fail(f"meetings {ids} map to one room name {name}: rename one of them", counts=True)
        return groups


ONE_OFF = OneOffPolicy()


# -- the pipeline ----------------------------------------------------------------------------------
def _lazy_specs(groups: Sequence[Group], config: ProvisioningConfig, now: datetime) -> Iterator[RoomCreate]:
    """The groups' specs, each planned when the creator asks for it (batch k+1 built during batch k's call)."""
    for group in groups:
        spec = group.plan(config, now)
        if spec is not None:
            yield spec


def ensure_groups(groups: Sequence[Group], config: ProvisioningConfig, now: datetime, *, label: str) -> Ensured:
    """Ensure every group's room and record each member's outcome; whatever an interruption left
    unplanned is planned afterwards, so every member still gets its reason."""
    specs = _lazy_specs(groups, config, now)
    first = next(specs, None)
    if first is None:
        return Ensured(hook=None)
    ensured = ensure_rooms(specs=itertools.chain([first], specs), config=config, label=label)
    for group in groups:  # the groups the interruption left unread
        group.plan(config, now)
    for group in groups:
        if group.spec is not None:
            record(group, ensured.outcomes.get(group.spec.name), ensured.error, ensured.fallback, config)
    return ensured


def record(
    group: Group, outcome: Any, error: Exception | None, fallback: str | None, config: ProvisioningConfig
) -> None:
    """Each member's outcome from its room's (``outcome``: the creator's, or ``None``: not reached)."""
    spec = group.spec
    assert spec is not None
    members = [m for m in group.members if m.failure is None]
    room = _room_of(outcome)
    if room is not None:
        exp = int(spec.properties.exp or 0)
        for member in members:
            provisioned = provisioned_for(
                member.row, room, room_name=spec.name, exp=exp, fallback=fallback, config=config
            )
            _written(member, provisioned, outcome.outcome or "created", group.policy.keeps_unchanged, config)
    else:
        for member in members:
            _not_written(member, outcome, error)


def _room_of(outcome: Any) -> Any:
    """The room Daily confirmed with its PIN (``None``: no room, or one without a PIN)."""
    room = outcome.room if outcome is not None and outcome.ok else None
    return room if room is not None and room.pin else None


def _not_written(member: Member, outcome: Any, error: Exception | None) -> None:
    if outcome is not None and outcome.error:
        # a live room whose exp was kept (creating.defer_live): the meeting is running in it, so the
        # run is not failed for it - the row says why and a later run moves exp once it is empty
        member.deferred = bool(getattr(outcome, "deferred", None))
        member.fail(outcome.error, counts=outcome.counts)
    else:  # not reached: the chunk ended early. Not this meeting's fault: not an attempt.
        reason = f"not provisioned: {type(error).__name__}: {error}" if error else "not provisioned: no room returned"
        member.fail(reason, counts=False)


def _written(
    member: Member, provisioned: Provisioned, outcome: str, keeps_unchanged: bool, config: ProvisioningConfig
) -> None:
    row = member.row
    if keeps_unchanged and not member.rewrite and _holds(row, provisioned, config):
        member.unchanged = True
        return
    member.pin_changed = pin_changed(row, provisioned.pin)
    member.provisioned = provisioned
    member.outcome = outcome


def _holds(row: MeetingRow, provisioned: Provisioned, config: ProvisioningConfig) -> bool:
    """The row already holds this room as it is (the cheap comparisons first: a row new to the
    room stops at the first)."""
    return (
        row.get("room_name") == provisioned.room_name
        and row.pin == provisioned.pin
        and row.get("room_url") == provisioned.room_url
        and row.get("dial_string") == provisioned.dial_string
        and not row.needs_room(config)
    )


def members_of(groups: Iterable[Group]) -> list[Member]:
    return [member for group in groups for member in group.members]


def chunk_result(index: int, members: Sequence[Member]) -> ChunkResult:
    """The one chunk result, for every kind: counts per outcome, the first failures (waiting,
    deferred and held members are not failures), and the ids whose PIN changed, waiting, deferred."""
    outcomes = Counter(m.outcome for m in members if m.outcome)
    failures = [m.failure for m in members if m.failed]
    counts = Counts(**{k: outcomes[k] for k in OUTCOMES if k != "failed"}, failed=len(failures))
    return ChunkResult(
        index=index,
        counts=counts,
        failures={f.meeting_id: f.reason for f in failures[:LISTED]},
        pin_changed=_listed(members, "pin_changed"),
        waiting=_listed(members, "waiting"),
        deferred=_listed(members, "deferred"),
    )


def _listed(members: Sequence[Member], flag: str) -> Listed:
    return Listed.of([m.meeting_id for m in members if getattr(m, flag)])


@dataclass(kw_only=True)
class Chunk:
    """One chunk task's groups (all of one kind), where they are written, and what follows the rooms."""

    index: int
    policy: Policy
    groups: Sequence[Group]
    table: MeetingsTable
    context: Any = None  # the policy's follow-up needs (a series chunk: the deletion gate)
    label: str = field(default="")


def provision_groups(chunk: Chunk, config: ProvisioningConfig, now: datetime) -> ChunkResult:
    """The pipeline: ensure and record, the policy's follow-up, write every member back in one
    transaction, one result. An error that ended the calls early is raised after the write-back,
    as :class:`~daily_dialin.interrupted.Interrupted` carrying the result."""
    label = chunk.label or f"Chunk {chunk.index}"
    ensured = ensure_groups(chunk.groups, config, now, label=label)
    error = ensured.error or chunk.policy.follow_up(chunk.groups, config, chunk.context)
    members = write_back(chunk, now)
    result = chunk_result(chunk.index, members)
    log.info(
        "%s: %d room(s), %d meeting(s): %s, waiting for the 365-day window=%d (API calls: %s)",
        label,
        len(chunk.groups),
        len(members),
        ", ".join(f"{k}={getattr(result.counts, k)}" for k in OUTCOMES),
        result.waiting.count,
        ensured.calls,
    )
    if error is not None:
        raise Interrupted(result=result, cause=error, what=f"chunk {chunk.index}") from error
    return result


def write_back(chunk: Chunk, now: datetime) -> list[Member]:
    """Every member's room or reason, and the room's ``exp`` into the group's other rows, in one
    transaction each; returns the members."""
    members = members_of(chunk.groups)
    chunk.table.write_results(
        provisioned=[m.provisioned for m in members if m.provisioned],
        failed=[m.failure for m in members if m.failure],
        now=now,
    )
    chunk.table.write_room_exp([update for group in chunk.groups for update in chunk.policy.exp_updates(group)])
    return members
