"""Variant (d) of the scale benchmark: the plain-Airflow way, one mapped task per meeting.

``list_meetings`` reads the due meetings with a plain SQL query; ``create_room`` is the provider's
``DailyCreateDialinRoomOperator`` mapped over them (one task instance, one ``ensure_room`` per
meeting, paced by the hook). No write-back to the table: it does less than our DAG. Airflow refuses
to map more than ``[core] max_map_length`` (1,024) task instances, so this way stops there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
from airflow.sdk import dag, task

from airflow_provider_daily.operators.daily import DailyCreateDialinRoomOperator


def _exp(ends_at: object) -> int:
    value = datetime.fromisoformat(ends_at) if isinstance(ends_at, str) else ends_at
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int((value + timedelta(hours=1)).timestamp())


@dag(
    dag_id="bench_plain_mapped_rooms",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bench"],
)
def bench_plain_mapped_rooms():
    @task
    def list_meetings() -> list[dict]:
        from airflow.providers.common.sql.hooks.sql import DbApiHook

        hook = DbApiHook.get_hook("daily_meetings_db")
        rows = hook.get_records(
            "SELECT meeting_id, title, ends_at FROM daily_meetings "
            "WHERE status = 'scheduled' AND provisioned_at IS NULL ORDER BY meeting_id"
        )
        return [
            {"room_name": f"plain-{meeting_id}".lower(), "exp": _exp(ends_at), "display_name": title}
            for meeting_id, title, ends_at in rows
        ]

    DailyCreateDialinRoomOperator.partial(task_id="create_room", retries=0).expand_kwargs(list_meetings())


bench_plain_mapped_rooms()
