"""Benchmark of the calls loop (issue 24): webhook ingest into the receiver and the fold's latency.
``python -m bench.calls --help``; results in ``bench/results/calls-ingest.{md,json}``.

May import: nothing at package import (the modules import what they need).
"""

from __future__ import annotations
