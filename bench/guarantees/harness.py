"""Shared by ``soak.py`` and ``kill9.py``: a throwaway Airflow home, the emulator, a meetings table,
the chunk engine run as the DAG runs it, and the audit of the table against Daily.

Import this module before anything that imports Airflow: Airflow reads its configuration when
first imported, so the environment is set here, at import time (as ``tests/conftest.py`` does).
Nothing here imports ``tests/``: what the tests and the benchmarks share is in ``daily_devtools``; from
``bench.harness`` only the Airflow settings and the throwaway PostgreSQL (standard library at import).
No metadata database is needed: the engine's steps are called directly, connections and the
``daily_provisioning`` Variable come from ``AIRFLOW_CONN_*`` / ``AIRFLOW_VAR_*``.

Log level of the engine: env ``GUARANTEES_LOG_LEVEL`` (default ``ERROR``: only interrupted
chunks are logged, not every retried request).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
for _path in (str(REPO), str(REPO / "include")):  # without the editable install: bench/ and the packages
    if _path not in sys.path:
        sys.path.insert(0, _path)
from bench.harness.run import airflow_env, postgres_database  # noqa: E402  (the standard library only)

HOME = Path(tempfile.mkdtemp(prefix="daily-guarantees-airflow-home-"))
atexit.register(shutil.rmtree, HOME, ignore_errors=True)
os.environ.update(airflow_env(HOME))
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = os.environ.get("GUARANTEES_LOG_LEVEL", "ERROR")
for _key in [k for k in os.environ if k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))]:
    del os.environ[_key]

from airflow_provider_daily.errors import DailyError  # noqa: E402
from daily_demo.sample import insert_meetings, sample_meetings  # noqa: E402
from daily_devtools.audit import Audit, audit, is_due  # noqa: E402
from daily_dialin.errors import ProvisioningFailed  # noqa: E402
from daily_dialin.provisioning import steps  # noqa: E402
from daily_dialin.provisioning.config import ProvisioningConfig  # noqa: E402
from daily_dialin.provisioning.handover import RetireResult  # noqa: E402
from daily_dialin.provisioning.table import MeetingsTable  # noqa: E402
from daily_emulator import EmulatorServer, EmulatorSettings  # noqa: E402
from daily_emulator.faults import FAULT_KINDS  # noqa: E402

API_KEY = "guarantees-key-5d1c"
PIN_NUMBER = "+12095550100"
OTHER_NUMBER = "+12095550101"
PREFIX = "mtg"
UNLIMITED = {"default": [[1_000_000, 1]], "delete": [[1_000_000, 1]]}


# -- the emulator -------------------------------------------------------------------------------
def start_emulator(*, unlimited: bool = False) -> EmulatorServer:
    """The emulator on a loopback port, with Daily's documented rate limits (or none)."""
    settings = EmulatorSettings(
        api_keys=[API_KEY],
        domain="soak",
        purchased_numbers=[PIN_NUMBER, OTHER_NUMBER],
        pin_dialin_numbers=[PIN_NUMBER],
        **({"rate_limits": {}} if unlimited else {}),
    )
    return EmulatorServer(settings=settings).start()


def fault_settings(rate: float, *, seed: int, hang_seconds: float) -> dict[str, Any]:
    """``rate`` of all API requests faulted, split evenly over every kind the emulator knows."""
    share = rate / len(FAULT_KINDS)
    return {
        "seed": seed,
        "hang_seconds": hang_seconds,
        **{f"rate_{kind}": share for kind in FAULT_KINDS},
    }


def connect_daily(server: EmulatorServer, *, timeout: float = 3.0, unlimited: bool = False) -> None:
    """``daily_default`` -> the emulator; short backoffs (correctness is measured, not patience)."""
    extra: dict[str, Any] = {
        "timeout": timeout,
        "retry_min_wait": 0.05,
        "retry_max_wait": 1.0,
        "max_attempts": 8,
        "retry_deadline": 120,
    }
    if unlimited:
        extra["rate_limits"] = UNLIMITED
    conn = {"conn_type": "daily", "host": server.base_url, "password": API_KEY, "extra": extra}
    os.environ["AIRFLOW_CONN_DAILY_DEFAULT"] = json.dumps(conn)


def configure_engine(**settings: Any) -> dict[str, Any]:
    """The ``daily_provisioning`` Variable; serial chunks get the whole rate budget."""
    values = {"api_concurrency": 1, **settings}
    os.environ["AIRFLOW_VAR_DAILY_PROVISIONING"] = json.dumps(values)
    return values


# -- the meetings table -------------------------------------------------------------------------
def sqlite_table(folder: Path) -> MeetingsTable:
    """A fresh table (shipped schema) in ``folder``, behind ``daily_meetings_db``."""
    path = folder / "meetings.db"
    path.unlink(missing_ok=True)
    os.environ["AIRFLOW_CONN_DAILY_MEETINGS_DB"] = json.dumps({"conn_type": "sqlite", "host": str(path)})
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    return table


@contextmanager
def postgres_table() -> Iterator[MeetingsTable]:
    """A fresh table in a throwaway PostgreSQL server (:func:`bench.harness.run.postgres_database`)."""
    with ExitStack() as stack:
        os.environ["AIRFLOW_CONN_DAILY_MEETINGS_DB"] = json.dumps(postgres_database(stack, "meetings"))
        table = MeetingsTable.from_config(ProvisioningConfig())
        table.create_schema()
        yield table


def meetings(count: int, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """``count`` scheduled meetings over the next 28 days; every 50th id is not a plain one
    (spaces, unicode, ``__``), so hashed room names are part of every soak.

    The benches count every one of them as due: that is checked here with the audit's own rule
    (``is_due`` at ``now`` with the engine's horizon), so a meeting the rolling run would not select
    stops the bench before it runs instead of showing as "not provisioned"."""
    now = now or datetime.now(UTC)
    rows = sample_meetings(count=count, now=now, days=28, pin_number=PIN_NUMBER)
    odd = (" {}", "{} ", "{} \u00fc", "{}__x", "{} x y")
    for index, row in enumerate(rows):
        row["status"] = "scheduled"
        if index % 50 == 7:
            row["meeting_id"] = odd[(index // 50) % len(odd)].format(row["meeting_id"])
    horizon = ProvisioningConfig().horizon_days
    not_due = [row["meeting_id"] for row in rows if not is_due(row, now=now, horizon_days=horizon)]
    if not_due:
        raise RuntimeError(f"{len(not_due)} sample meeting(s) not due within {horizon} days of {now}: {not_due[:5]}")
    return rows


def seed_table(table: MeetingsTable, rows: Sequence[dict[str, Any]]) -> None:
    insert_meetings(table, rows)


def execute(table: MeetingsTable, sql: str, params: Sequence[Any] = ()) -> None:
    """One statement in its own transaction (``?`` placeholders become the table's)."""
    with closing(table.hook.get_conn()) as conn:
        conn.cursor().execute(sql.replace("?", table.ph), list(params))
        conn.commit()


# -- the engine ---------------------------------------------------------------------------------
@dataclass
class RunResult:
    """One run: its chunks, the errors that ended chunk tasks, and the verdict of ``verify``."""

    chunks: int = 0
    chunk_errors: list[str] = field(default_factory=list)
    verdict: str = "success"
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.chunk_errors and self.verdict == "success"


def run_engine(params: dict[str, Any] | None = None) -> RunResult:
    """``plan``, every chunk in turn (an error ends that chunk task, as in Airflow), ``summarize``,
    ``verify``. Errors that are not the provider's own are raised: they are bugs."""
    started = time.monotonic()
    result = RunResult()
    plan = steps.plan(params=params or {}, run_type="manual", logical_date=None)
    result.chunks = len(plan["bounds"])
    chunk_results: list[dict[str, Any] | None] = []
    for index, bounds in enumerate(plan["bounds"]):
        try:
            chunk_results.append(steps.provision_chunk(index=index, bounds=bounds, run=plan["run"]))
        except steps.ChunkInterrupted as exc:  # the task fails with the cause; summarize gets the result
            if not isinstance(exc.cause, DailyError):
                raise
            result.chunk_errors.append(f"chunk {index}: {type(exc.cause).__name__}: {exc.cause}")
            chunk_results.append(exc.result.to_xcom())
        except DailyError as exc:
            result.chunk_errors.append(f"chunk {index}: {type(exc).__name__}: {exc}")
            chunk_results.append(None)
    # this engine runs the chunks only (no cancellations are made): an empty deletion result says
    # so, where a missing one would mean the deletion task failed
    nothing_retired = RetireResult().to_xcom()
    result.summary = steps.summarize(run=plan["run"], chunk_results=chunk_results, retired=nothing_retired)
    try:
        steps.verify(result.summary)
    except ProvisioningFailed as exc:
        result.verdict = f"failed: {exc}"
    result.seconds = time.monotonic() - started
    return result


def read_rows(table: MeetingsTable) -> list[dict[str, Any]]:
    """Every row as stored, keyed by logical column names (``read_all`` gives ``MeetingRow`` objects)."""
    return [dict(row.values) for row in table.read_all()]


def audit_table(table: MeetingsTable, server: EmulatorServer, *, horizon_days: int | None = None) -> Audit:
    """The table against Daily's rooms, now, with the engine's horizon unless told otherwise."""
    return audit(
        read_rows(table),
        server.admin.snapshot()["rooms"],
        now=datetime.now(UTC),
        horizon_days=horizon_days or ProvisioningConfig().horizon_days,
        prefix=PREFIX,
    )


def pins_by_id(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Meeting id -> PIN of every row that holds one."""
    return {r["meeting_id"]: str(r["dialin_pin"]).strip() for r in rows if r.get("dialin_pin")}


def daily_pins(server: EmulatorServer) -> dict[str, str]:
    """Room name -> PIN of every live room of ours that has one."""
    return {
        r["name"]: r["config"]["dialin_code"]
        for r in server.admin.snapshot()["rooms"]
        if not r.get("expired") and r["name"].startswith(f"{PREFIX}-") and r["config"].get("dialin_code")
    }


def progress(message: str, *args: Any) -> None:
    """Progress goes to stderr; the results table to stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] " + (message % args if args else message), file=sys.stderr, flush=True)
