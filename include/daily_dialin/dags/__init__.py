"""DAG factories: functions that build the application's DAGs from explicit keyword arguments.

    from daily_dialin.dags import invitations_dag, provisioning_dag

    OPS = dict(meetings_conn_id="ops_db", table="ops_meetings", columns={"meeting_id": "id"},
               settings={"room_name_prefix": "ops"})
    ops = provisioning_dag(dag_id="ops_provisioning", **OPS)
    ops_invitations = invitations_dag(dag_id="ops_invitations", base_path="s3://invites/ops", **OPS)

Give the DAGs of one table the same identity and settings (the invitations DAG reads the table as
provisioning does, and listens to the asset derived from it).

* :func:`provisioning_dag`, :func:`reconcile_dag`, :func:`invitations_dag`,
  :func:`number_assignment_dag` - one per DAG; the files in ``dags/`` only call them;
* :mod:`.defaults` - the pool, the meetings asset's name, shared defaults (standard library only);
* :mod:`.layers` - how factory arguments rank against the Variables.

May import: ``airflow.sdk``, this application's Params forms and settings models, and (inside the
number-assignment factory) the provider's operators. Never the provider's hooks or HTTP code at
import time: each task imports its step module when it runs. The factories are loaded on first
use, so ``daily_dialin.dags.defaults`` stays cheap for the bootstrap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daily_dialin.dags.invitations import invitations_dag
    from daily_dialin.dags.number_assignment import number_assignment_dag
    from daily_dialin.dags.provisioning import provisioning_dag
    from daily_dialin.dags.reconcile import reconcile_dag

_FACTORIES = {
    "provisioning_dag": "daily_dialin.dags.provisioning",
    "reconcile_dag": "daily_dialin.dags.reconcile",
    "invitations_dag": "daily_dialin.dags.invitations",
    "number_assignment_dag": "daily_dialin.dags.number_assignment",
}
__all__ = ["invitations_dag", "number_assignment_dag", "provisioning_dag", "reconcile_dag"]


def __getattr__(name: str) -> Any:
    if name in _FACTORIES:
        return getattr(import_module(_FACTORIES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
