"""The command line the benchmarks share: ``--out``, ``--workdir``, ``--keep-workdir``, ``--report-from``
(rewrite the report from a JSON result) and ``--ab COMMIT`` / ``--ab-rounds`` (:mod:`bench.harness.ab`);
comma-separated lists of known values (``listed``); where results go by default; the scratch folder's life.

May import: the standard library and ``bench.harness.run``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.harness.run import REPO

RESULTS = REPO / "bench" / "results"


def add_common(parser: argparse.ArgumentParser, *, name: str) -> None:
    parser.add_argument("--out", type=Path, help=f"output prefix (default bench/results/{name}[-quick|-custom|-ab])")
    parser.add_argument("--workdir", type=Path, help="scratch space (default: a new temporary folder)")
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs and databases afterwards")
    parser.add_argument("--report-from", type=Path, help="only rewrite the Markdown and PNG from this JSON result")
    parser.add_argument(
        "--ab",
        metavar="COMMIT",
        help="A/B: also run COMMIT's code (a git archive snapshot) interleaved with this tree's, on the same "
        "machine, data and emulator; one table with both and the difference in %%",
    )
    parser.add_argument(
        "--ab-rounds", type=int, default=1, help="A/B rounds (A B, then B A, ...; the median per side; default 1)"
    )


def listed(parser: argparse.ArgumentParser, text: str, known: Sequence[str], *, what: str) -> list[str]:
    """A comma-separated option's values (blanks dropped); a usage error naming any not in ``known``."""
    values = [part.strip() for part in text.split(",") if part.strip()]
    if unknown := [value for value in values if value not in known]:
        parser.error(f"unknown {what} {unknown}; known: {', '.join(known)}")
    return values


def default_out(name: str, *, full: bool, quick: bool, ab: str | None = None) -> Path:
    """``bench/results/<name>``: only the full default run replaces the committed one."""
    if ab:
        return RESULTS / f"{name}-ab"
    return RESULTS / (name if full and not quick else f"{name}-quick" if quick else f"{name}-custom")


def rewrite(
    args: argparse.Namespace,
    write: Callable[[dict[str, Any], Path], list[Path]],
    markdown: Callable[[dict[str, Any]], str],
) -> int:
    """``--report-from``: the Markdown and PNG written again from a JSON result, beside it."""
    results = json.loads(args.report_from.read_text())
    published(write(results, args.report_from.with_suffix("")), markdown(results))
    return 0


def published(paths: list[Path], markdown: str) -> None:
    print(markdown)
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)


def scratch(args: argparse.Namespace, prefix: str) -> Path:
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=prefix))
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def done_with(args: argparse.Namespace, workdir: Path, paths: list[Path], markdown: str) -> int:
    """The report ``published``; the scratch folder kept when asked (or when it was given), else removed; 0."""
    published(paths, markdown)
    if args.keep_workdir or args.workdir:
        print(f"logs and databases kept in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
