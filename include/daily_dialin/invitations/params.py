"""The invitations DAG's trigger: the meetings asset it listens to and its Params form.

Light on purpose (only ``airflow.sdk``): the DAG file imports it while being parsed.
"""

from __future__ import annotations

from airflow.sdk import Param

MEETINGS_ASSET_NAME = "daily_dialin_meetings"

INVITATION_PARAMS = {
    "meeting_ids": Param(
        [],
        type="array",
        items={"type": "string", "minLength": 1, "maxLength": 100},
        maxItems=10_000,
        title="Meeting ids",
        description="Only these meetings. Empty: every meeting of the table and every one published before.",
    ),
    "force": Param(
        False,
        type="boolean",
        title="Rewrite unchanged invites",
        description="Also rewrite the files of unchanged meetings, same SEQUENCE and stamp (self-signed host "
        "links come out byte-identical; api-minted ones get a new token).",
    ),
}
