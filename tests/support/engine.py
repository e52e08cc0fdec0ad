"""Run the provisioning steps without a DAG run (plan, every chunk, retire, summarize), the way
the DAG's tasks call them - for tests that need many runs quickly. Chunk errors are caught the
way Airflow would see them: the task fails, its partial result reaches ``summarize``."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

from daily_dialin.provisioning import steps
from daily_dialin.provisioning.table import MeetingsTable

DEFAULT_PARAMS = {"mode": "auto", "dry_run": False, "force": False}


def run_engine(*, params: dict[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """One provisioning run; returns the summary plus ``errors`` (chunk exceptions) and ``verdict``."""
    result = steps.plan(params={**DEFAULT_PARAMS, **(params or {})}, run_type="manual", logical_date=None, now=now)
    run = result["run"]
    chunk_results, errors = [], []
    for index, bounds in enumerate(result["bounds"]):
        try:
            chunk_results.append(steps.provision_chunk(index=index, bounds=bounds, run=run, now=now))
        except steps.ChunkInterrupted as exc:  # the task fails with the cause; summarize gets the result
            errors.append(exc.cause)
            chunk_results.append(exc.result.to_xcom())
        except Exception as exc:
            errors.append(exc)
            chunk_results.append(None)
    retired = steps.retire_cancelled(run=run)
    summary = steps.summarize(run=run, chunk_results=chunk_results, retired=retired)
    try:
        steps.verify(summary)
        verdict = "success"
    except Exception as exc:
        verdict = str(exc)
    return {**summary, "errors": errors, "verdict": verdict, "run": run}


def meeting(meeting_id: Any, *, days: float = 2, hours: float = 1, **overrides: Any) -> dict[str, Any]:
    """One source row with sensible defaults (SQLite text timestamps)."""
    start = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    row = {
        "meeting_id": meeting_id,
        "title": f"Meeting {meeting_id}",
        "starts_at": f"{start:%Y-%m-%d %H:%M:%S}",
        "ends_at": f"{start + timedelta(hours=hours):%Y-%m-%d %H:%M:%S}",
        "timezone": "UTC",
        "status": "scheduled",
    }
    row.update(overrides)
    return row


def insert_rows(table: MeetingsTable, rows: list[dict[str, Any]]) -> None:
    """Insert raw rows (any values, NULL ids included) with the physical column names."""
    with closing(table.hook.get_conn()) as conn:
        cur = conn.cursor()
        for row in rows:
            cols = list(row)
            sql = (
                f"INSERT INTO {table.table} ({', '.join(table.cols[c] for c in cols)}) "
                f"VALUES ({', '.join([table.ph] * len(cols))})"
            )
            cur.execute(sql, [row[c] for c in cols])
        conn.commit()


def table_rows(table: MeetingsTable) -> dict[Any, dict[str, Any]]:
    """Every row as stored (logical column names), keyed by its id as stored."""
    rows = [row if isinstance(row, dict) else dict(row.values) for row in table.read_all()]  # dicts or MeetingRow
    return {row["meeting_id"]: row for row in rows}


def settings_env(**settings: Any) -> str:
    return json.dumps(settings)
