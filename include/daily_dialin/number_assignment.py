"""The Params form of the ``daily_pin_dialin_number_assignment`` DAG (validated by Airflow's API
server before a run), kept here so the DAG file only wires tasks."""

from __future__ import annotations

from airflow.sdk import Param

NUMBER_ASSIGNMENT_PARAMS = {
    "phone_number": Param(
        "",
        type="string",
        pattern=r"^\+?[0-9][0-9 ()-]{6,20}$",
        title="Purchased phone number (E.164)",
    ),
    "name_prefix": Param(None, type=["null", "string"], maxLength=100, title="Name prefix"),
    "ivr_greeting": Param(
        None,
        type=["null", "string"],
        maxLength=500,
        title="IVR greeting",
        description="Read to callers before the PIN.",
    ),
    "move": Param(
        False,
        type="boolean",
        title="Move from the pinless flow",
        description="If the number is on the pinless flow, delete that config and put it on the PIN flow.",
    ),
}
