"""Bulk work in a task process whose heap is already large: fewer garbage collections during it.

A chunk task makes a few objects per row (the row, its group, its room spec, its result) for
thousands of rows. Every 700 such objects CPython runs a young collection, and every hundred or
so of those a full one, which walks every object of the process - Airflow, SQLAlchemy, pydantic's
schemas, the parsed DAG. :func:`bulk_work` raises the young threshold to :data:`YOUNG_THRESHOLD`
for the block and puts the thresholds back after it (errors too): the same objects are collected,
in fewer, larger passes.

Measured (``airflow dags test``, one process): at 30,000 one-off meetings on SQLite collections
took 5.2 s of 16.7 s of CPU, 3.1 s of 15.5 s with a threshold of 20,000. At 100,000, A/B against
the code before the one pipeline (three rounds, ``bench/results/scale-ab-3rounds-20k.md``), 20,000
gave CPU -21 % on SQLite and -12 % on PostgreSQL, but peak memory +15 MiB on SQLite (309 MiB, over
the 300 MiB target): garbage waits in the young generation for up to that many allocations. 5,000
keeps it near the default (+3 MiB at 30,000) and still runs 7 times fewer young collections.

Tried and dropped: :func:`gc.freeze` for the block (as Airflow's executors do around a fork) saved
more CPU, but a process that runs many tasks (``dags test``) froze the garbage of the tasks before
each chunk, again and again: +43 MiB peak memory at 100,000 on SQLite, over the 300 MiB target.

May import the standard library only.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_THRESHOLD", "bulk_work"]

YOUNG_THRESHOLD = 5_000  # allocations between young collections in bulk work (CPython's default: 700)


@contextmanager
def bulk_work() -> Iterator[None]:
    """Young collections every :data:`YOUNG_THRESHOLD` allocations until the block ends (a higher
    threshold set by someone else is kept); the thresholds as they were afterwards, errors too."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], YOUNG_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
