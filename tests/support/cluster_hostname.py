"""Moved to :mod:`daily_devtools.cluster_hostname` (the native cluster's ``[core] hostname_callable``);
re-exported for anything still naming this path."""

from __future__ import annotations

from daily_devtools.cluster_hostname import hostname

__all__ = ["hostname"]
