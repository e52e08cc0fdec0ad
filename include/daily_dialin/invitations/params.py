"""The invitations DAG's Params form (the meetings asset it listens to is named in
:mod:`daily_dialin.dags.defaults`).

Light on purpose (only ``airflow.sdk``): the DAG factory imports it while a DAG file is parsed.
"""

from __future__ import annotations

from airflow.sdk import Param

INVITATION_PARAMS = {
    "meeting_ids": Param(
        [],
        type=["null", "array"],  # optional: without "null" the form marks it required
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
