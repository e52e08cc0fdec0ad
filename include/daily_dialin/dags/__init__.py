"""DAG factories: functions that build the application's DAGs from explicit keyword arguments.

    from daily_dialin.dags import TableRef, invitations_dag, provisioning_dag

    OPS = TableRef(meetings_conn_id="ops_db", table="ops_meetings", columns={"meeting_id": "id"})
    SETTINGS = {"room_name_prefix": "ops"}
    ops = provisioning_dag(dag_id="ops_provisioning", source=OPS, settings=SETTINGS)
    ops_invitations = invitations_dag(dag_id="ops_invitations", source=OPS, settings=SETTINGS,
                                      base_path="s3://invites/ops")

Give the DAGs of one table the same :class:`~.options.TableRef` and settings (the invitations DAG
reads the table as provisioning does, and listens to the table's asset). The keywords of before
(``table="ops_meetings"``, ...) still work, mapped onto a ``TableRef``.

* :func:`provisioning_dag`, :func:`reconcile_dag`, :func:`invitations_dag`,
  :func:`number_assignment_dag` - one per DAG; the files in ``dags/`` only call them;
* :mod:`.options` - :class:`~.options.TableRef` and the factories' one prologue (:func:`~.options.dag_options`);
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
    from daily_dialin.dags.options import TableRef
    from daily_dialin.dags.provisioning import provisioning_dag
    from daily_dialin.dags.reconcile import reconcile_dag

_FACTORIES = {
    "provisioning_dag": "daily_dialin.dags.provisioning",
    "reconcile_dag": "daily_dialin.dags.reconcile",
    "invitations_dag": "daily_dialin.dags.invitations",
    "number_assignment_dag": "daily_dialin.dags.number_assignment",
    "TableRef": "daily_dialin.dags.options",
}
__all__ = ["TableRef", "invitations_dag", "number_assignment_dag", "provisioning_dag", "reconcile_dag"]


def __getattr__(name: str) -> Any:
    if name in _FACTORIES:
        return getattr(import_module(_FACTORIES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
