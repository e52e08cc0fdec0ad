"""Plain-text tables for task logs and the demo (``tabulate``, which Airflow already brings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tabulate import tabulate


def format_table(rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table; the first row is the header."""
    return tabulate(rows[1:], headers=rows[0], tablefmt="psql")
