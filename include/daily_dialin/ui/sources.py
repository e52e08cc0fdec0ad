"""Which provisioning DAG serves which meetings table, for the dial-in page.

Each table has its own provisioning DAG (:func:`daily_dialin.dags.provisioning_dag`), and access
to the page's data is access to that DAG. The shipped deployment has one: ``daily_dialin_provisioning``
on the table of the Variable ``daily_provisioning`` (:meth:`ProvisioningConfig.load`). A
deployment serving more tables passes its own mapping to :func:`daily_dialin.ui.app.create_app`.

Settings are read again after :data:`TTL_SECONDS` (a changed Variable takes effect within a
minute, as for the webhook receiver); a table object is kept while its settings do not change
(each pools its connections).

May import: ``daily_dialin.provisioning`` (config, table).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.table import MeetingsTable

__all__ = ["DEFAULT_DAG_ID", "TTL_SECONDS", "Sources", "shipped_sources"]

DEFAULT_DAG_ID = "daily_dialin_provisioning"
TTL_SECONDS = 60.0


def shipped_sources() -> dict[str, ProvisioningConfig]:
    """The shipped deployment: one DAG, the table of the Variable ``daily_provisioning``."""
    return {DEFAULT_DAG_ID: ProvisioningConfig.load()}


class Sources:
    """DAG id -> its :class:`MeetingsTable`, from ``load`` (called on first use)."""

    def __init__(
        self,
        *,
        load: Callable[[], Mapping[str, ProvisioningConfig]] = shipped_sources,
        ttl_seconds: float = TTL_SECONDS,
    ) -> None:
        self._load, self._ttl = load, ttl_seconds
        self._tables: dict[str, MeetingsTable] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def tables(self) -> dict[str, MeetingsTable]:
        with self._lock:
            if self._loaded_at is None or time.monotonic() - self._loaded_at >= self._ttl:
                old, self._tables = self._tables, {}
                for dag_id, config in self._load().items():
                    kept = old.get(dag_id)
                    self._tables[dag_id] = kept if kept and kept.config == config else MeetingsTable.from_config(config)
                self._loaded_at = time.monotonic()
            return self._tables

    def dag_ids(self) -> list[str]:
        return sorted(self.tables())

    def get(self, dag_id: str) -> MeetingsTable | None:
        return self.tables().get(dag_id)
