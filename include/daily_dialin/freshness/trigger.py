"""The meetings-table watcher: an event trigger, run by the triggerer, that starts a provisioning run
when the table holds work (a new meeting, a moved one, a cancelled one with a room).

It polls :func:`~daily_dialin.freshness.pending.pending_work` every ``poll_seconds`` in a worker thread (the database
driver blocks) and yields a small :class:`TriggerEvent` - ``{"work", "new", "changed", "cancelled",
"refire"}``, counts only, no ids or PINs (``work`` is the token; a key named ``token`` would be
hidden by Airflow's secrets masker) - when there is work it has not fired for yet:

* **Level-triggered.** The table is the state; an event only says "look now". A lost event, a
  triggerer restart or a run that failed lose nothing: the next poll sees the same work again.
* **The token** (a digest of the work's identity, from the table) keeps the same pending work from
  firing on every poll while a run is queued or in flight. Different work, a different token: fire.
* **Re-fire.** Work whose token does not change after a fire (the run failed for an outage; no
  run could start) fires again after ``refire_seconds``, then after twice that, and so on up to
  ``refire_max_seconds``; new work resets the interval. Work no run can do at all (given up, an
  unchanged reported problem row, outside the horizon) is excluded by the table's query, so it never
  fires; this back-off bounds what is left to one event per ``refire_max_seconds``.
* **Outages.** A database outage, a missing connection, a malformed Variable ``daily_provisioning``
  (each poll reloads :class:`ProvisioningConfig`, so a fixed Variable takes effect by itself): the
  poll is retried with exponential back-off up to ``max_backoff_seconds``, logged once when it starts
  (and again only if the kind of error changes) and once when it recovers. The trigger never exits,
  so it never fails the triggerer or the watcher.

What Airflow 3.3 does with it (read in ``airflow/jobs/triggerer_job_runner.py``,
``airflow/models/trigger.py``, ``airflow/dag_processing/collection.py``,
``airflow/jobs/scheduler_job_runner.py`` and ``airflow/models/dag.py``):

* One trigger row per distinct ``(classpath, kwargs)`` (``BaseEventTrigger.hash``), kept across DAG
  re-parses while the kwargs stay equal; different kwargs replace it by a new row. The row exists only
  while the DAG is unpaused: a paused DAG's asset has no watcher, so nothing polls.
* The instance is **not** recreated per event: ``run()`` is one long-lived async generator; after a
  yield the triggerer keeps iterating it. A new instance (fresh in-memory state) appears only on a
  triggerer restart, a move to another triggerer, or new kwargs. So the fired token is also kept in the
  asset's state store (``asset_state_store``, injected by the triggerer), best effort, and a new
  instance resumes from it instead of firing at once for work it already fired for.
* **No deduplication of events.** ``Trigger.submit_event`` turns every yielded event into an asset
  event and an ``AssetDagRunQueue`` row; that queue holds one row per (asset, DAG), so events that
  arrive while a run is queued or running coalesce. Under ``max_active_runs=1``
  (``DagModel.dags_needing_dagruns`` defers asset-triggered DAGs at their limit, keeping the queue
  row) every event during a run yields **one** follow-up run after it, never a pile.
* ``supports_triggerer_queue`` is False for event triggers; this trigger shares no stream.
* Inside the triggerer, the sync SDK calls of a poll (``Variable.get``, the connection lookup) run in
  the worker thread and reach the supervisor through ``run_coroutine_threadsafe``; checked with a
  real ``airflow triggerer``: one event -> an asset event and a queued run, the state saved, and a
  restarted triggerer not firing again for the same work.

May import at module level: the standard library and :mod:`airflow.triggers.base` only (the
triggerer imports this module; the provisioning code, and :mod:`daily_dialin.settings_layers` for the
settings ranking, are imported inside the poll, in its thread).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

__all__ = ["STATE_KEY", "FireGate", "MeetingsTableTrigger", "backoff_delay"]

CLASSPATH = "daily_dialin.freshness.trigger.MeetingsTableTrigger"
STATE_KEY = "daily_dialin_freshness"  # key of the fired token in the watched asset's state store
TABLE_MAX_AGE_SECONDS = 300.0  # re-read the connection (a changed host or password) at least this often


class Work(Protocol):
    """What :func:`~daily_dialin.freshness.pending.pending_work` returns, as far as the trigger cares."""

    new: int
    changed: int
    cancelled: int
    token: str

    @property
    def any(self) -> bool: ...


@dataclass
class FireGate:
    """When pending work fires an event: new token at once; the same token again only after the
    re-fire interval, which doubles with each re-fire up to ``refire_max_seconds``.

    Times are wall-clock seconds (``time.time()``) so the state survives in the asset state store."""

    refire_seconds: float
    refire_max_seconds: float
    token: str | None = None
    fired_at: float = 0.0
    refires: int = 0

    def interval(self) -> float:
        return min(self.refire_seconds * 2 ** min(self.refires, 30), self.refire_max_seconds)

    def decide(self, *, token: str, pending: bool, now: float) -> bool:
        """True when this poll's work should fire an event (and records the fire)."""
        if not pending:
            # done: the same work showing up again later (e.g. a status flipped back) is new again
            self.token, self.fired_at, self.refires = None, 0.0, 0
            return False
        if token != self.token:
            self.token, self.fired_at, self.refires = token, now, 0
            return True
        if now - self.fired_at >= self.interval() or now < self.fired_at:  # (a clock set back: fire)
            self.fired_at, self.refires = now, self.refires + 1
            return True
        return False

    def snapshot(self) -> dict[str, Any] | None:
        if self.token is None:
            return None
        return {"work": self.token, "fired_at": self.fired_at, "refires": self.refires}

    def restore(self, saved: Any) -> None:
        """Resume from :meth:`snapshot` output; anything else (missing, malformed) is ignored."""
        if not isinstance(saved, dict) or not isinstance(saved.get("work"), str):
            return
        try:
            fired_at, refires = float(saved.get("fired_at", 0.0)), int(saved.get("refires", 0))
        except (TypeError, ValueError):
            return
        if math.isfinite(fired_at) and refires >= 0:
            self.token, self.fired_at, self.refires = saved["work"], fired_at, refires


def backoff_delay(failures: int, *, poll_seconds: float, max_backoff_seconds: float) -> float:
    """Seconds to wait after ``failures`` consecutive failed polls: doubling from ``poll_seconds``, capped."""
    return min(poll_seconds * 2 ** min(max(failures, 1), 30), max_backoff_seconds)


def _first_line(exc: BaseException) -> str:
    """An error's first line, clipped (SQLAlchemy appends the statement and a link)."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else repr(exc))[:300]


def _positive(name: str, value: Any) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive number of seconds/hours, not {value!r}")
    return number


class MeetingsTableTrigger(BaseEventTrigger):
    """Fire when the meetings table has provisioning work; see the module docstring.

    :param identity: the factory's identity arguments (``meetings_conn_id``, ``table``, ``columns``,
        ``daily_conn_id``): they beat the Variable, as in the DAG's runs.
    :param settings: the factory's other settings: the Variable overrides them key by key, as in the
        DAG's runs (:mod:`daily_dialin.settings_layers`, the one ranking rule, is what computes this).
    :param config_overrides: keys of :class:`ProvisioningConfig` on top of everything (like a run's
        params); all three are JSON-serializable dicts.
    :param poll_seconds: seconds between polls while the table is reachable.
    :param look_ahead_hours: how far ahead moved (provisioned, changed) meetings are looked for; later
        ones are left to the safety schedule.
    :param horizon_days: the horizon of new meetings; None: the config's ``horizon_days`` (what a
        rolling run provisions).
    :param refire_seconds: first re-fire interval for unchanged pending work.
    :param refire_max_seconds: the cap of the doubling re-fire interval.
    :param max_backoff_seconds: the cap of the doubling wait between failed polls.
    """

    def __init__(
        self,
        *,
        identity: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        config_overrides: dict[str, Any] | None = None,
        poll_seconds: float = 10.0,
        look_ahead_hours: float = 48.0,
        horizon_days: int | None = None,
        refire_seconds: float = 300.0,
        refire_max_seconds: float = 3600.0,
        max_backoff_seconds: float = 300.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.identity = dict(identity or {})
        self.settings = dict(settings or {})
        self.config_overrides = dict(config_overrides or {})
        self.poll_seconds = _positive("poll_seconds", poll_seconds)
        self.look_ahead_hours = _positive("look_ahead_hours", look_ahead_hours)
        self.horizon_days = None if horizon_days is None else int(horizon_days)
        self.refire_seconds = _positive("refire_seconds", refire_seconds)
        self.refire_max_seconds = max(_positive("refire_max_seconds", refire_max_seconds), self.refire_seconds)
        self.max_backoff_seconds = max(_positive("max_backoff_seconds", max_backoff_seconds), self.poll_seconds)
        self._table: Any = None  # the MeetingsTable of the last poll, and when it was opened
        self._table_opened = 0.0
        if self.horizon_days is not None and self.horizon_days < 1:
            raise ValueError(f"horizon_days must be at least 1, not {horizon_days!r}")

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            CLASSPATH,
            {
                "identity": self.identity,
                "settings": self.settings,
                "config_overrides": self.config_overrides,
                "poll_seconds": self.poll_seconds,
                "look_ahead_hours": self.look_ahead_hours,
                "horizon_days": self.horizon_days,
                "refire_seconds": self.refire_seconds,
                "refire_max_seconds": self.refire_max_seconds,
                "max_backoff_seconds": self.max_backoff_seconds,
            },
        )

    # -- one poll (in a worker thread) ----------------------------------------------------------
    def load_config(self) -> Any:
        """The settings a run of the watched DAG would get (defaults, settings, Variable, identity,
        overrides, ranked as :mod:`daily_dialin.settings_layers` says). Blocking: reads the Variable."""
        from daily_dialin.provisioning.config import ProvisioningConfig

        if self.identity or self.settings:
            from daily_dialin.settings_layers import provisioning_layers

            layers = provisioning_layers(identity=self.identity, settings=self.settings)
            return ProvisioningConfig.load(layers.overrides(self.config_overrides))
        return ProvisioningConfig.load(self.config_overrides)

    def poll(self) -> Work:
        """Load the settings and ask the table what is pending. Blocking (run in a thread).

        The table (and its connection pool) is kept while the settings stay equal, for at most
        :data:`TABLE_MAX_AGE_SECONDS`; a failed poll drops it, so the next one reconnects (and
        re-reads the connection) from scratch."""
        from datetime import UTC, datetime, timedelta

        config = self.load_config()
        table = self._table_for(config)
        from daily_dialin.freshness.pending import pending_work

        try:
            return pending_work(
                table,
                now=datetime.now(UTC),
                horizon_days=self.horizon_days or config.horizon_days,
                look_ahead=timedelta(hours=self.look_ahead_hours),
            )
        except BaseException:
            self._drop_table()
            raise

    def _table_for(self, config: Any) -> Any:
        fresh = time.monotonic() - self._table_opened < TABLE_MAX_AGE_SECONDS
        if self._table is not None and fresh and self._table.config == config:
            return self._table
        from daily_dialin.provisioning.table import MeetingsTable

        self._drop_table()
        self._table, self._table_opened = MeetingsTable.from_config(config), time.monotonic()
        return self._table

    def _drop_table(self) -> None:
        table, self._table = self._table, None
        engine = getattr(table, "__dict__", {}).get("engine")  # only if the table opened one
        if engine is not None:
            try:
                engine.dispose()
            except Exception as exc:
                self.log.debug("Meetings table watch: engine not disposed (%s)", exc)

    async def cleanup(self) -> None:
        """The triggerer is done with this instance: close its connections."""
        await asyncio.to_thread(self._drop_table)

    # -- the loop -------------------------------------------------------------------------------
    async def run(self) -> AsyncIterator[TriggerEvent]:
        gate = FireGate(refire_seconds=self.refire_seconds, refire_max_seconds=self.refire_max_seconds)
        saved = await self._load_state()
        gate.restore(saved)
        saved = gate.snapshot()
        failures, failing_as = 0, ""
        while True:
            try:
                work = await asyncio.to_thread(self.poll)
                fire = gate.decide(token=str(work.token), pending=bool(work.any), now=time.time())
                payload = self._payload(work, gate) if fire else None
            except Exception as exc:  # an outage, a bad Variable, a missing table: keep polling
                failures += 1
                kind = type(exc).__name__
                if kind != failing_as:
                    self.log.warning(
                        "Meetings table watch: cannot poll (%s: %s); retrying with back-off up to %ss, "
                        "not logged again until it recovers",
                        kind,
                        _first_line(exc),
                        self.max_backoff_seconds,
                    )
                    failing_as = kind
                await asyncio.sleep(backoff_delay(failures, **self._backoff))
                continue
            if failures:
                self.log.info("Meetings table watch: polling again after %d failed poll(s)", failures)
                failures, failing_as = 0, ""
            if payload is not None:
                self.log.info(
                    "Meetings table has work (new %s, changed %s, cancelled %s%s): firing",
                    payload["new"],
                    payload["changed"],
                    payload["cancelled"],
                    f", re-fire {payload['refire']}" if payload["refire"] else "",
                )
                yield TriggerEvent(payload)
            if gate.snapshot() != saved:
                saved = gate.snapshot()
                await self._save_state(saved)
            await asyncio.sleep(self.poll_seconds)

    @property
    def _backoff(self) -> dict[str, float]:
        return {"poll_seconds": self.poll_seconds, "max_backoff_seconds": self.max_backoff_seconds}

    @staticmethod
    def _payload(work: Work, gate: FireGate) -> dict[str, Any]:
        return {
            "work": str(work.token),
            "new": int(work.new),
            "changed": int(work.changed),
            "cancelled": int(work.cancelled),
            "refire": gate.refires,
        }

    # -- the fired token across instances (best effort) -----------------------------------------
    async def _load_state(self) -> Any:
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return None
        try:
            return await store.aget(STATE_KEY)
        except Exception as exc:
            self.log.info("Meetings table watch: no saved state (%s: %s)", type(exc).__name__, exc)
            return None

    async def _save_state(self, state: dict[str, Any] | None) -> None:
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return
        try:
            if state is None:
                await store.adelete(STATE_KEY)
            else:
                await store.aset(STATE_KEY, state)
        except Exception as exc:
            self.log.debug("Meetings table watch: state not saved (%s: %s)", type(exc).__name__, exc)
