"""The A/B runner's shared parts (issue 22's "no regression" check): this tree (A) and another commit (B, a
``git archive`` snapshot) run interleaved in one sitting (A B, then B A, ...), one table with both and
``Δ % = (A - B) / B`` (positive: this tree is slower or bigger). The benchmarks decide what is measured.
May import: the standard library and the rest of ``bench.harness``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.harness import report
from bench.harness.run import git, snapshot

SIDES = ("A", "B")


def order(rounds: int) -> list[str]:
    """The sides in the order they run: ``A B``, then ``B A``, ... (drift hits both alike)."""
    return [side for r in range(max(1, rounds)) for side in (SIDES if r % 2 == 0 else SIDES[::-1])]


def trees(workdir: Path, commit: str, *, live: bool) -> dict[str, Any]:
    """``{"A": src, "B": src, "names": {...}}``: this tree (the working tree with ``live``, else a snapshot
    of HEAD) and ``commit``'s snapshot."""
    a = Path(git("rev-parse", "--show-toplevel")) if live else snapshot(workdir / "src-A")
    b = snapshot(workdir / "src-B", commit)
    head = "working tree" if live else (a / "COMMIT").read_text()[:7]
    return {"A": a, "B": b, "names": {"A": f"this tree ({head})", "B": (b / "COMMIT").read_text()[:7]}}


def delta_pct(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b:
        return None
    return 100.0 * (a - b) / b


def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def table(lines: list[tuple[str, float | None, float | None]], names: dict[str, str], unit: str = "") -> str:
    """One row per figure: A, B and the difference in %."""
    rows = []
    for label, a, b in lines:
        change = delta_pct(a, b)
        rows.append([label, report.num(a, 2), report.num(b, 2), "-" if change is None else f"{change:+.1f} %"])
    unit = f" ({unit})" if unit else ""
    headers = ["figure", f"A: {names['A']}{unit}", f"B: {names['B']}{unit}", "Δ % (A vs B)"]
    return report.table(headers, rows)


def paired(rows: list[dict[str, Any]], key: tuple[str, ...], figure: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """``rows`` of both trees (each with ``tree``) -> key -> side -> the median of ``figure`` over the rounds."""
    found: dict[tuple[Any, ...], dict[str, list[float | None]]] = {}
    for row in rows:
        if row.get("tree") in SIDES:
            found.setdefault(tuple(row.get(k) for k in key), {}).setdefault(row["tree"], []).append(row.get(figure))
    return {k: {side: median(values) for side, values in sides.items()} for k, sides in found.items()}
