"""Fixtures for the freshness tests: a SQLite meetings table, a log recorder, and a pump that runs a
trigger's async generator in a task so a test can wait for events with timeouts.

May import: the application (``daily_dialin``) and the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daily_dialin.provisioning.config import SOURCE_COLUMNS, ProvisioningConfig
from daily_dialin.provisioning.table import MeetingsTable

SQLITE_TS = "%Y-%m-%d %H:%M:%S"


@dataclass
class LogRecorder:
    """Stands in for a trigger's logger: ``(level, message)`` pairs, %-formatted."""

    lines: list[tuple[str, str]] = field(default_factory=list)

    def _record(self, level: str, msg: str, *args: Any, **_: Any) -> None:
        self.lines.append((level, msg % args if args else msg))

    def debug(self, msg: str, *args: Any, **kw: Any) -> None:
        self._record("debug", msg, *args, **kw)

    def info(self, msg: str, *args: Any, **kw: Any) -> None:
        self._record("info", msg, *args, **kw)

    def warning(self, msg: str, *args: Any, **kw: Any) -> None:
        self._record("warning", msg, *args, **kw)

    def error(self, msg: str, *args: Any, **kw: Any) -> None:
        self._record("error", msg, *args, **kw)

    def at(self, level: str) -> list[str]:
        return [line for lvl, line in self.lines if lvl == level]


def recorded(trigger: Any) -> LogRecorder:
    recorder = LogRecorder()
    trigger._log = recorder  # LoggingMixin keeps its logger in ``_log``
    return recorder


class Pump:
    """Runs ``trigger.run()`` in a task; its event payloads go to a queue."""

    def __init__(self, trigger: Any) -> None:
        self.trigger = trigger
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Pump:
        self.task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def _pump(self) -> None:
        async for event in self.trigger.run():
            await self.queue.put(event.payload)

    async def next(self, timeout: float) -> Any | None:
        """The next event's payload, or None if none comes within ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            assert self.task is not None
            if self.task.done():  # the trigger exited: surface why
                self.task.result()
                raise AssertionError("the trigger's run() returned") from None
            return None

    async def quiet(self, seconds: float) -> list[Any]:
        """Every event within ``seconds`` (expected: none)."""
        events = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            event = await self.next(left)
            if event is not None:
                events.append(event)
        return events


def run_async(coro: Any, *, timeout: float = 60) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


@dataclass
class SqliteMeetings:
    """A SQLite meetings table (shipped schema) behind connection ``daily_meetings_db``."""

    path: Path
    table: MeetingsTable

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def insert(self, meeting_id: str, *, starts_in: timedelta, minutes: int = 45, status: str = "scheduled") -> None:
        start = datetime.now(UTC).replace(microsecond=0) + starts_in
        values = {
            "meeting_id": meeting_id,
            "title": f"Freshness {meeting_id}",
            "starts_at": start.strftime(SQLITE_TS),
            "ends_at": (start + timedelta(minutes=minutes)).strftime(SQLITE_TS),
            "timezone": "UTC",
            "wait_for_meeting_start": 1,
            "status": status,
        }
        names = ", ".join(SOURCE_COLUMNS)
        marks = ", ".join("?" * len(SOURCE_COLUMNS))
        with contextlib.closing(self.connect()) as conn:
            conn.execute(
                f"INSERT INTO daily_meetings ({names}) VALUES ({marks})", [values.get(c) for c in SOURCE_COLUMNS]
            )
            conn.commit()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with contextlib.closing(self.connect()) as conn:
            conn.execute(sql, params)
            conn.commit()


@pytest.fixture
def sqlite_meetings(tmp_path, monkeypatch) -> SqliteMeetings:
    path = tmp_path / "meetings.db"
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    monkeypatch.delenv("AIRFLOW_VAR_DAILY_PROVISIONING", raising=False)
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    return SqliteMeetings(path=path, table=table)
