"""The "Daily room" extra link: a button on the task instance that opens the room URL."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink

XCOM_ROOM_URL = "daily_room_url"


class DailyRoomLink(BaseOperatorLink):
    """Links a task that created or reused a room to that room's URL (never to its PIN)."""

    name = "Daily room"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=XCOM_ROOM_URL) or ""
