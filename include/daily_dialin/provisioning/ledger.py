"""The deletion ledgers: the rolling budget of automatic deletions and the decisions people made.

Two small JSON records per deployment (``daily_conn_id`` and ``room_name_prefix``) and reason
(``cancelled``: the provisioning DAG; ``orphan``: the reconcile DAG), each written by one DAG (and
its approval DAG) only, so two DAGs never race on one record:

* **the budget** (``daily_dialin_deletions__<conn>__<prefix>__budget_<reason>``):
  ``{"entries": [[ISO time, count], ...], "restarted_at": ISO time | null}`` - the rooms runs
  deleted *without* asking, entries older than the window dropped on each write. The window's
  total is the sum of both reasons' entries within ``deletion_budget_window_hours``. A record that
  cannot be read restarts the window: it is replaced by an empty one with ``restarted_at`` = now,
  and until a whole window has passed the total is *unknown* - every deletion asks a person
  (deletions wait, never hurry).
* **the decisions** (``daily_dialin_deletions__<conn>__<prefix>__decisions_<reason>``):
  ``pending`` - the plan handed to the approval DAG and not answered yet (one at a time; stale
  after its timeout plus :data:`PENDING_SLACK`, so a lost approval run never silences the gate),
  and ``rejected`` - the rooms a person rejected (names, digest, who, when): no one is asked
  about them again until the set grows or a run asks to re-decide (``redecide_deletions``).
  An unreadable record is treated as empty: the gate then asks, it never deletes.

In the DAGs the records are Airflow Variables (:class:`VariableStore`, readable in *Admin ->
Variables*); tests and library callers may use :class:`MemoryStore`.

May import: pydantic, :mod:`.config`, :mod:`.handover`; Airflow's Variable inside
:class:`VariableStore` only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import Field

from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.handover import Handover

__all__ = [
    "REASONS",
    "Budget",
    "Decisions",
    "DeletionLedger",
    "MemoryStore",
    "Pending",
    "Rejected",
    "Store",
    "VariableStore",
]

log = logging.getLogger(__name__)

REASONS = ("cancelled", "orphan")
PENDING_SLACK = timedelta(minutes=60)  # a pending approval older than its timeout plus this is stale


class Store(Protocol):
    """Where the ledgers live: text values by key."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, description: str) -> None: ...


@dataclass
class MemoryStore:
    """A store in memory (tests, library callers without Airflow)."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str, description: str) -> None:
        self.values[key] = value


class VariableStore:
    """Airflow Variables (only inside a task, or wherever Airflow's Variable works)."""

    def get(self, key: str) -> str | None:
        from airflow.sdk import Variable

        return Variable.get(key, default=None)

    def set(self, key: str, value: str, description: str) -> None:
        from airflow.sdk import Variable

        Variable.set(key, value, description=description)


class Budget(Handover):
    """Automatic deletions of one reason: ``(time, count)`` entries, and when the record was restarted."""

    entries: list[tuple[datetime, int]] = Field(default_factory=list)
    restarted_at: datetime | None = None


class Pending(Handover):
    """A plan handed to the approval DAG, not answered yet."""

    digest: str
    requested_at: datetime
    stale_at: datetime
    plan: dict[str, Any]


class Rejected(Handover):
    """Rooms a person rejected deleting."""

    digest: str
    rooms: list[str]
    at: datetime
    by: str | None = None


class Decisions(Handover):
    pending: Pending | None = None
    rejected: Rejected | None = None


@dataclass(frozen=True)
class Window:
    """Rooms deleted without asking within the window (``None``: unknown - the ledger was restarted)."""

    total: int | None
    hours: int


@dataclass(frozen=True)
class DeletionLedger:
    """The budget and decisions of one deployment (``daily_conn_id``, ``room_name_prefix``)."""

    store: Store
    base: str
    window_hours: int

    @classmethod
    def for_config(cls, config: ProvisioningConfig, store: Store | None = None) -> DeletionLedger:
        base = f"daily_dialin_deletions__{config.daily_conn_id}__{config.room_name_prefix}"
        return cls(store=store or VariableStore(), base=base, window_hours=config.deletion_budget_window_hours)

    def key(self, kind: str, reason: str) -> str:
        return f"{self.base}__{kind}_{reason}"

    # -- the budget ---------------------------------------------------------------------------
    def _budget(self, reason: str, now: datetime) -> Budget:
        raw = self.store.get(self.key("budget", reason))
        if not raw:
            return Budget()
        try:
            data = json.loads(raw)
            entries = [(datetime.fromisoformat(when), int(count)) for when, count in data["entries"]]
            restarted = data.get("restarted_at")
            return Budget(entries=entries, restarted_at=datetime.fromisoformat(restarted) if restarted else None)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning(
                "Variable %s is not a deletion budget; the window restarts: every deletion asks a person "
                "for the next %d hour(s)",
                self.key("budget", reason),
                self.window_hours,
            )
            budget = Budget(restarted_at=now)
            self._save_budget(reason, budget)
            return budget

    def _save_budget(self, reason: str, budget: Budget) -> None:
        value = {
            "entries": [[when.isoformat(), count] for when, count in budget.entries],
            "restarted_at": budget.restarted_at.isoformat() if budget.restarted_at else None,
        }
        self.store.set(
            self.key("budget", reason),
            json.dumps(value),
            description="Daily rooms deleted without approval, per time (the rolling deletion budget)",
        )

    def window(self, now: datetime) -> Window:
        """The rooms deleted without asking within the window, over both reasons."""
        since = now - timedelta(hours=self.window_hours)
        total = 0
        for reason in REASONS:
            budget = self._budget(reason, now)
            if budget.restarted_at is not None and budget.restarted_at > since:
                return Window(total=None, hours=self.window_hours)
            total += sum(count for when, count in budget.entries if when > since)
        return Window(total=total, hours=self.window_hours)

    def spend(self, reason: str, count: int, now: datetime) -> None:
        """Record ``count`` rooms deleted without asking (entries out of the window are dropped)."""
        if count <= 0:
            return
        since = now - timedelta(hours=self.window_hours)
        budget = self._budget(reason, now)
        entries = [(when, n) for when, n in budget.entries if when > since] + [(now, count)]
        restarted = budget.restarted_at if budget.restarted_at and budget.restarted_at > since else None
        self._save_budget(reason, Budget(entries=entries, restarted_at=restarted))

    # -- the decisions ------------------------------------------------------------------------
    def decisions(self, reason: str) -> Decisions:
        raw = self.store.get(self.key("decisions", reason))
        if not raw:
            return Decisions()
        try:
            return Decisions.model_validate_json(raw)
        except ValueError:
            log.warning(
                "Variable %s is not a deletion decision record; treated as empty", self.key("decisions", reason)
            )
            return Decisions()

    def save_decisions(self, reason: str, decisions: Decisions) -> None:
        self.store.set(
            self.key("decisions", reason),
            decisions.model_dump_json(),
            description="Daily room deletions waiting for a person, and those a person rejected",
        )

    def request(self, reason: str, *, plan: dict[str, Any], digest: str, now: datetime, timeout_minutes: int) -> None:
        """Hand a plan to the approval DAG: it becomes the pending one."""
        stale_at = now + timedelta(minutes=timeout_minutes) + PENDING_SLACK
        pending = Pending(digest=digest, requested_at=now, stale_at=stale_at, plan=plan)
        self.save_decisions(reason, self.decisions(reason).model_copy(update={"pending": pending}))

    def settle(self, reason: str, *, rejected: Rejected | None) -> None:
        """The approval DAG is done with the pending plan; a person's Reject is remembered."""
        current = self.decisions(reason)
        update: dict[str, Any] = {"pending": None}
        if rejected is not None:
            update["rejected"] = rejected
        self.save_decisions(reason, current.model_copy(update=update))

    def forget_rejection(self, reason: str) -> None:
        current = self.decisions(reason)
        if current.rejected is not None:
            self.save_decisions(reason, current.model_copy(update={"rejected": None}))


def names_digest(names: Sequence[str]) -> str:
    """A short, order-free digest of a set of room names."""
    import hashlib

    return hashlib.sha256("\n".join(sorted(set(names))).encode()).hexdigest()[:16]
