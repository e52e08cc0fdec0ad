"""
### Example: one PIN dial-in room, created and (optionally) deleted

Shows the operators on their own, outside the bulk provisioning DAG: create (or reuse) a room
with PIN dial-in that expires `hours` from now, then delete it if `delete` is set. Trigger it
with the form; re-running with the same room name reuses the room and its PIN. The create task
has a "Daily room" link to the room.

This file is also a system test: the test suite runs it with `dag.test()` against the local Daily
emulator, and the provider's docs include its operator snippets (between the `[START howto_...]`
and `[END howto_...]` markers) from here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_daily.operators.daily import DailyCreateDialinRoomOperator, DailyDeleteRoomOperator


@dag(
    dag_id="example_daily_room_lifecycle",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "room_name": Param("example-room", type="string", pattern=r"^[A-Za-z0-9_-]{1,128}$"),
        "display_name": Param("Example call", type="string", maxLength=100),
        "hours": Param(2, type="integer", minimum=1, maximum=24 * 300),
        "delete": Param(False, type="boolean", title="Delete the room afterwards"),
    },
    default_args={"retries": 2},
    tags=["daily", "dial-in", "example"],
    doc_md=__doc__,
)
def example_daily_room_lifecycle():
    @task
    def expires_at(params=None) -> str:
        """When the room expires: ``hours`` from now, as an ISO-8601 time in UTC."""
        return (datetime.now(UTC) + timedelta(hours=params["hours"])).isoformat()

    # [START howto_operator_daily_create_dialin_room]
    create = DailyCreateDialinRoomOperator(
        task_id="create_room",
        daily_conn_id="daily_default",
        room_name="{{ params.room_name }}",
        display_name="{{ params.display_name }}",
        exp=expires_at(),  # unix seconds, a datetime or ISO-8601; within 365 days
    )
    # [END howto_operator_daily_create_dialin_room]

    @task.short_circuit
    def delete_requested(params=None) -> bool:
        return bool(params["delete"])

    # [START howto_operator_daily_delete_room]
    delete = DailyDeleteRoomOperator(task_id="delete_room", room_name="{{ params.room_name }}")
    # [END howto_operator_daily_delete_room]

    create >> delete_requested() >> delete


example_daily_room_lifecycle()
