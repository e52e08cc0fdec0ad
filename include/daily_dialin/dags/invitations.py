"""The invitations DAG factory: ``invitations_dag(dag_id=..., table=..., base_path=...) -> DAG``.

Parse time imports only ``airflow.sdk``, this package and the Params form; the tasks import
:mod:`daily_dialin.invitations.run` when they run.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from airflow.sdk import DAG, get_current_context, task

from daily_dialin.dags.layers import Layers, given, invitation_layers
from daily_dialin.dags.options import TableRef, dag_options
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
    source: TableRef | None = None,
    settings: Mapping[str, Any] | None = None,
    base_path: str | None = None,
    storage_conn_id: str | None = None,
    invitation_settings: Mapping[str, Any] | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """Build the invitations DAG of one meetings table, run by that table's meetings asset.

    :param source, settings: as for :func:`~daily_dialin.dags.provisioning.provisioning_dag`: give
        both the same ones (this DAG reads the table with them: statuses, room names; it listens to
        the ``source``'s asset). The keywords of before (``table=``, ...) still work.
    :param base_path, storage_conn_id: where this DAG's files and manifest go (identity: beats the
        Variable ``daily_invitations``).
    :param invitation_settings: any other
        :class:`~daily_dialin.invitations.settings.InvitationSettings` field; the Variable
        overrides them per key.
    :param dag_kwargs: anything else ``DAG`` takes (e.g. ``schedule`` instead of the asset).
    """
    opts = dag_options(dag_id=dag_id, dag_kwargs=dag_kwargs, tags=TAGS, source=source, settings=settings)
    invite_layers = invitation_layers(
        identity=given(base_path=base_path, storage_conn_id=storage_conn_id), settings=invitation_settings
    )
    asset = opts.asset()
    defaults = {"schedule": [asset], "doc_md": DOC.format(asset=asset.name)}
    with opts.dag(defaults=defaults, params=copy.deepcopy(INVITATION_PARAMS)) as dag:
        _wire(config_layers=opts.layers, invite_layers=invite_layers)
    return dag


def _wire(*, config_layers: Layers, invite_layers: Layers) -> None:
    @task(multiple_outputs=False)
    def plan() -> dict:
        from daily_dialin.invitations import run as steps

        return steps.plan(
            params=dict(get_current_context()["params"]),
            config_overrides=config_layers.overrides(),
            settings_overrides=invite_layers.overrides(),
        ).to_xcom()

    @task(multiple_outputs=False)
    def write(plan_result: dict) -> dict:
        from daily_dialin.invitations import run as steps

        return steps.write(plan_result=plan_result).to_xcom()

    write(plan())
