"""The audit of the table against Daily lives in :mod:`daily_devtools.audit` (shared with ``bench/``)."""

from __future__ import annotations

from daily_devtools.audit import Audit, audit, is_due, label, live_rooms, row_changes, status_kind  # noqa: F401
