"""The ``/meetings`` fallback's part of the calls benchmark: K ended meetings in the emulator (real
HTTP, Daily's documented rate limits, joins under 10 s not recorded) read by
:func:`daily_dialin.calls.meetings_api.read_meetings` and folded; its time and what it filled.

May import: the standard library, SQLAlchemy, the emulator, the provider and ``daily_dialin.calls``.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

KEY = "bench-key"


def _rooms_with_ended_meetings(server: Any, k: int, prefix: str) -> list[str]:
    from airflow_provider_daily.hooks.daily import DailyHook
    from airflow_provider_daily.models import RoomCreate, RoomProperties

    hook = DailyHook()
    names = [f"{prefix}-fb{n:04d}" for n in range(k)]
    exp = int(time.time() + 86400 * 30)
    for start in range(0, k, 50):
        hook.create_rooms_batch(
            [RoomCreate(name=n, properties=RoomProperties(exp=exp)) for n in names[start : start + 50]]
        )
    admin = server.admin
    for name in names:
        host = admin.join(name, user_name="Host")
        guest = admin.join(name, user_name="Guest")
        admin.advance_clock(30)
        admin.leave(name, guest)
        admin.advance_clock(30)
        admin.leave(name, host)
    return names


def insert_meetings(table: Any, meetings: list[tuple[str, datetime, datetime, str]]) -> None:
    """One scheduled row per ``(meeting_id, starts_at, ends_at, room_name)`` (the id is the title too)."""
    rows = []
    for meeting_id, starts, ends, room in meetings:
        values = {
            "meeting_id": meeting_id,
            "title": meeting_id,
            "starts_at": table.ts(starts),
            "ends_at": table.ts(ends),
        }
        values |= {"timezone": "UTC", "status": "scheduled", "room_name": room}
        rows.append({table.cols[key]: value for key, value in values.items()})
    with table.engine.begin() as conn:
        conn.execute(sa.insert(table.meetings), rows)


def run_fallback(table: Any, *, k: int, prefix: str) -> dict[str, Any]:
    """Read K ended meetings from the emulator's ``/meetings`` and fold them; times and counts."""
    from daily_dialin.calls import meetings_api, process
    from daily_dialin.calls.settings import CallsSettings
    from daily_dialin.calls.store import CallsStore
    from daily_emulator import EmulatorServer
    from daily_emulator.settings import EmulatorSettings

    settings = EmulatorSettings(api_keys=[KEY], domain="bench", meetings_min_participation_seconds=10)
    with EmulatorServer(settings=settings) as server:
        conn = {"conn_type": "daily", "host": server.base_url, "password": KEY}
        os.environ["AIRFLOW_CONN_DAILY_DEFAULT"] = json.dumps(conn)
        names = _rooms_with_ended_meetings(server, k, prefix)
        now = datetime.now(UTC)
        insert_meetings(table, [(f"FB{n}", now, now, name) for n, name in enumerate(names)])
        from airflow_provider_daily.hooks.daily import DailyHook

        calls = CallsSettings(calls_source="meetings_api")
        store = CallsStore(engine=table.engine, settings=calls)
        start = time.perf_counter()
        summary = meetings_api.read_meetings(hook=DailyHook(), store=store, prefix=prefix, settings=calls)
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        process.fold_events(settings_overrides={"calls_source": "meetings_api"})
        fold_s = time.perf_counter() - start
    with table.engine.connect() as conn:
        query = f"SELECT COUNT(*) FROM {table.table} WHERE meeting_id LIKE :p AND participants = 2"
        filled = conn.execute(sa.text(query + " AND actual_end_at IS NOT NULL"), {"p": "FB%"}).scalar()
        phone = conn.execute(
            sa.text(f"SELECT COUNT(*) FROM {table.table} WHERE meeting_id LIKE :p AND phone_callers IS NOT NULL"),
            {"p": "FB%"},
        ).scalar()
    return {
        "meetings": k,
        "api_requests": -(-(k + 1) // 100) + k,  # list pages (a short one ends) + one participants page each
        "read_s": read_s,
        "fold_s": fold_s,
        "events_stored": summary["events_stored"],
        "meetings_with_participants_and_end": int(filled),
        "meetings_with_phone_figures": int(phone),
    }
