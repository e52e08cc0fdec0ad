"""The invitations DAG's Params form (the meetings asset it listens to is named in
:mod:`daily_dialin.dags.defaults`).

Light on purpose (only ``airflow.sdk``): the DAG factory imports it while a DAG file is parsed.
"""

from __future__ import annotations

from airflow.sdk import Param

from daily_dialin.meeting_ids import meeting_ids_param

INVITATION_PARAMS = {
    "meeting_ids": meeting_ids_param(
        "Only these meetings. Empty: every meeting of the table and every one published before."
    ),
    "force": Param(
        False,
        type="boolean",
        title="Rewrite unchanged invites",
        description="Also rewrite the files of unchanged meetings, same SEQUENCE and stamp (self-signed host "
        "links come out byte-identical; api-minted ones get a new token).",
    ),
}
