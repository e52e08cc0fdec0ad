"""Report writing the benchmarks share: number formats, Markdown tables (``columns``: one ``(header, cell)``
pair per column), verdicts, a header's run line, failed steps, and ``write`` -> ``<prefix>.json``, ``.md``
(and ``.png`` when matplotlib is installed). May import the standard library (matplotlib only for a chart).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

Column = tuple[str, Callable[[Any], str]]


def num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float) and abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:,.1f} min"
    return f"{seconds:,.1f} s"


def table(headers: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(headers) - 1)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def columns(spec: Sequence[Column], items: Iterable[Any], align: str | None = None) -> str:
    """A Markdown table with one column per ``(header, cell)`` of ``spec``: ``cell(item)`` for each item."""
    return table([header for header, _ in spec], [[cell(item) for _, cell in spec] for item in items], align)


def fig(key: str, digits: int = 1) -> Callable[[dict[str, Any]], str]:
    """A cell: ``num`` of ``row[key]`` (``-`` when missing)."""
    return lambda row: num(row.get(key), digits)


def failed_steps(results: dict[str, Any]) -> list[str]:
    """The "Steps that failed" section (nothing when every step ran)."""
    errors = results.get("errors") or []
    return ["", "## Steps that failed", "", *(f"- {e['step']}: {e['error']}" for e in errors)] if errors else []


def verdict(ok: bool | None) -> str:
    return {True: "**met**", False: "**missed**", None: "not measured"}[ok]


def ok(good: bool) -> str:
    return "met" if good else "**missed**"


def run_header(meta: dict[str, Any], *, loads: list[float], when: str, changes: Callable | None = None) -> str:
    """A report's "Run ... on commit ... CPUs ..." line from :func:`bench.harness.run.meta` (missing keys: ``-``):
    ``changes(paths)`` words the uncommitted changes (default: listed); the largest of ``loads``, taken ``when``."""
    machine, dirty = meta.get("machine", {}), meta.get("uncommitted_changes_in") or []
    changes = changes or (lambda paths: f" with uncommitted changes in {', '.join(f'`{p}`' for p in paths)}")
    return (
        f"Run {meta.get('started', '-')} on commit `{meta.get('commit', '-')}` ({meta.get('code_under_test', '-')})"
        + (changes(dirty) if dirty else "")
        + f"; {machine.get('cpus', '-')} CPUs ({machine.get('cpu', '-')}), Python {machine.get('python', '-')}, "
        f"Airflow {machine.get('airflow', '-')}; whole run {meta.get('seconds', 0) / 60:,.1f} min"
        + (f"; 1-min load average up to {max(loads):.1f} {when}." if loads else ".")
    )


def run_line(meta: dict[str, Any]) -> str:
    """When, where and on which commit, from :func:`bench.harness.run.run_meta`: a calls report's first words."""
    return (
        f"Run {meta['started']} on `{meta['host']}` ({meta['cpus']} CPUs, load average {meta['load']} at start, "
        f"shared with other jobs), commit `{meta['commit']}`"
    )


def pyplot() -> Any:
    """matplotlib's pyplot (headless), or ``None`` when the ``bench`` extra is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_figure(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def save_json(results: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str))
    return path


def write(
    results: dict[str, Any],
    prefix: Path,
    *,
    markdown: Callable[[dict[str, Any]], str],
    chart: Callable[[dict[str, Any], Path], Path | None] | None = None,
) -> list[Path]:
    paths = [save_json(results, prefix.with_suffix(".json")), prefix.with_suffix(".md")]
    paths[1].write_text(markdown(results))
    png = chart(results, prefix.with_suffix(".png")) if chart else None
    return [*paths, *([png] if png is not None else [])]
