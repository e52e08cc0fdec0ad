"""The invitations DAG factory: ``invitations_dag(dag_id=..., table=..., base_path=...) -> DAG``.

Parse time imports only ``airflow.sdk``, this package and the Params form; the tasks import
:mod:`daily_dialin.invitations.run` when they run.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, get_current_context, task

from daily_dialin.dags.defaults import START_DATE, dag_defaults, meetings_asset_name
from daily_dialin.dags.layers import Layers, given, invitation_layers, provisioning_layers
from daily_dialin.invitations.params import INVITATION_PARAMS

TAGS = ("daily", "dial-in", "invitations")

DOC = """
### Daily dial-in invitations

Runs whenever the asset `{asset}` is updated (by the provisioning and reconcile DAGs of its
table). For each meeting provisioned or changed since the last run it writes RFC 5545 calendar
files to its storage base (`base_path`: this DAG's argument, else the Variable `daily_invitations`,
default `<AIRFLOW_HOME>/daily_invitations`):

* `attendees/<room>.ics`: title, start/end in the meeting's zone, the room URL, every dial-in
  number (the meeting's own and Daily's global ones) with the PIN and one-tap `tel:+N,,PIN`;
* `hosts/<room>.ics` (setting `host_links`): the same with a host link carrying a meeting owner
  token that expires with the room. Give it to the host only.

Moved meetings get their files rewritten with a higher `SEQUENCE`, cancelled ones a
`METHOD:CANCEL` file; unchanged meetings are left alone (`force` rewrites them, same bytes).
`manifest.json` in the same base remembers what was published: give each table its own base.
PINs and tokens never reach logs or XCom.
"""


def invitations_dag(
    *,
    dag_id: str,
    daily_conn_id: str | None = None,
    meetings_conn_id: str | None = None,
    table: str | None = None,
    columns: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    base_path: str | None = None,
    storage_conn_id: str | None = None,
    invitation_settings: Mapping[str, Any] | None = None,
    asset_name: str | None = None,
    start_date: datetime = START_DATE,
    tags: Sequence[str] = TAGS,
    default_args: Mapping[str, Any] | None = None,
    doc_md: str | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """Build the invitations DAG of one meetings table, run by that table's meetings asset.

    :param daily_conn_id, meetings_conn_id, table, columns, settings: as for
        :func:`~daily_dialin.dags.provisioning.provisioning_dag`: give both the same ones (this DAG
        reads the table with them: statuses, room names; the asset it listens to is derived from
        ``meetings_conn_id`` and ``table``, or given as ``asset_name``).
    :param base_path, storage_conn_id: where this DAG's files and manifest go (identity: beats the
        Variable ``daily_invitations``).
    :param invitation_settings: any other
        :class:`~daily_dialin.invitations.settings.InvitationSettings` field; the Variable
        overrides them per key.
    :param dag_kwargs: anything else ``DAG`` takes (e.g. ``schedule`` instead of the asset).
    """
    identity = given(daily_conn_id=daily_conn_id, meetings_conn_id=meetings_conn_id, table=table, columns=columns)
    config_layers = provisioning_layers(identity=identity, settings=settings)
    invite_layers = invitation_layers(
        identity=given(base_path=base_path, storage_conn_id=storage_conn_id), settings=invitation_settings
    )
    asset = Asset(asset_name or meetings_asset_name(meetings_conn_id=meetings_conn_id, table=table))
    options = {"schedule": [asset], "catchup": False, "max_active_runs": 1, **dag_kwargs}
    with DAG(
        dag_id=dag_id,
        start_date=start_date,
        params=copy.deepcopy(INVITATION_PARAMS),
        default_args=dag_defaults(default_args),
        tags=list(tags),
        doc_md=doc_md or DOC.format(asset=asset.name),
        **options,
    ) as dag:
        _wire(config_layers=config_layers, invite_layers=invite_layers)
    return dag


def _wire(*, config_layers: Layers, invite_layers: Layers) -> None:
    @task(multiple_outputs=False)
    def plan() -> dict:
        from daily_dialin.invitations import run as steps

        return steps.plan(
            params=dict(get_current_context()["params"]),
            config_overrides=config_layers.overrides(),
            settings_overrides=invite_layers.overrides(),
        )

    @task(multiple_outputs=False)
    def write(plan_result: dict) -> dict:
        from daily_dialin.invitations import run as steps

        return steps.write(plan_result=plan_result)

    write(plan())
