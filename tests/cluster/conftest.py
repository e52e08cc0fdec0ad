"""The native cluster of ``tests/support/cluster.py``; ``tests/browser`` imports the same session fixture."""

from __future__ import annotations

from tests.support.cluster import cluster_meetings, native_cluster

__all__ = ["cluster_meetings", "native_cluster"]
