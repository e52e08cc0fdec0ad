"""A benchmark run's surroundings: the repository, the machine and commit (``meta``, ``run_meta``), a commit's
code as a compiled ``git archive`` snapshot, a clean subprocess environment, Airflow's settings for a benchmark's
process, a database on a throwaway PostgreSQL server, percentiles, polling (``until``). May import the standard
library; ``daily_devtools.postgres`` and psycopg2 only inside ``postgres_database``; never Airflow, never ``tests/``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CODE = ("include", "dags", "plugins")  # what a snapshot holds: the code under test
DROPPED_ENV = ("AIRFLOW", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "DAILY_")


def git(*cmd: str, check: bool = False) -> str:
    done = subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, check=check)
    return done.stdout.rstrip()


def machine() -> dict[str, Any]:
    """CPU count and model, Python, Airflow and the system: where a figure was measured."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "airflow": metadata.version("apache-airflow"),
        "system": platform.platform(),
    }


def meta(args: Any, *, src: Path | None = None) -> dict[str, Any]:
    """When, on which commit and machine, with which arguments; ``src``: a snapshot (its ``COMMIT``),
    else the working tree (its uncommitted changes to the code are listed)."""
    snapshot = src is not None and (src / "COMMIT").exists()
    changes = git("status", "--porcelain", "--", *CODE).splitlines() if not snapshot else []
    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": (src / "COMMIT").read_text()[:7] if snapshot and src else git("rev-parse", "--short", "HEAD"),
        "code_under_test": "snapshot of the commit (git archive)" if snapshot else "working tree",
        "uncommitted_changes_in": [line[3:] for line in changes],
        "machine": machine(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }


def run_meta(args: Any, prog: str, **figures: Any) -> dict[str, Any]:
    """:func:`meta` plus what a report's header prints: the host, CPUs, load averages, the command; and ``figures``."""
    base, load = meta(args), ", ".join(f"{x:.2f}" for x in os.getloadavg())
    command = f"python -m {prog} " + " ".join(sys.argv[1:])
    return base | {"host": platform.node(), "cpus": base["machine"]["cpus"], "load": load, "command": command} | figures


def until(done: Callable[[], Any], timeout: float, *, every: float = 2.0) -> bool:
    """Poll ``done`` every ``every`` s until it is true (True) or ``timeout`` s have passed (False)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def snapshot(dest: Path, commit: str = "HEAD") -> Path:
    """The committed code under test (``git archive <commit>``), compiled to bytecode: other work in the
    working tree cannot change it halfway through a run. ``dest/COMMIT`` names the commit."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    full = git("rev-parse", "--verify", f"{commit}^{{commit}}", check=True)
    archive = subprocess.run(["git", "archive", "--format=tar", full, *CODE], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest)], check=True, stdout=subprocess.DEVNULL)
    (dest / "COMMIT").write_text(full)
    return dest


def clean_env(src: Path, *first: Path) -> dict[str, str]:
    """This process's environment without Airflow settings, proxies or connections (loopback only);
    the code under test imported from ``src/include`` (ahead of the editable install), after ``first``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(DROPPED_ENV)}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in first), str(src / "include"), str(REPO)])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def airflow_env(home: Path, *, metadata: str | None = None, **conns: dict[str, Any]) -> dict[str, str]:
    """Airflow's settings for a process of the benchmark: its own ``home``, no examples, the metadata DB
    (default: SQLite in ``home``) and each of ``conns`` (``daily_default={...}``) as ``AIRFLOW_CONN_*``."""
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata or f"sqlite:///{home / 'airflow.db'}",
    }
    return env | {f"AIRFLOW_CONN_{name.upper()}": json.dumps(conn) for name, conn in conns.items()}


def postgres_database(stack: ExitStack, name: str) -> dict[str, Any]:
    """A new database ``name`` on a throwaway PostgreSQL server (``daily_devtools.postgres``, stopped when
    ``stack`` closes), as an Airflow connection."""
    import psycopg2

    from daily_devtools.postgres import ThrowawayPostgres

    server = stack.enter_context(ThrowawayPostgres())
    with closing(psycopg2.connect(server.uri)) as admin:
        admin.autocommit = True
        admin.cursor().execute(f"CREATE DATABASE {name}")
    return {"conn_type": "postgres", "host": "127.0.0.1", "port": server.port, "login": "postgres", "schema": name}


def percentiles(values: list[float], *, unit: str = "s", scale: float = 1.0) -> dict[str, Any]:
    """``n``, p50, p95 (nearest rank), max and mean of ``values`` times ``scale``, as ``p50_<unit>``, ...
    (``unit=""``: ``p50``, ...)."""
    if not values:
        return {"n": 0}
    ordered = sorted(scale * v for v in values)
    figures = {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }
    return {"n": len(ordered), **{f"{k}_{unit}" if unit else k: v for k, v in figures.items()}}
