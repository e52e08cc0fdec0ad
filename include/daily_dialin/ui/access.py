"""Airflow's auth manager on the dial-in page's routes (plugin apps are mounted without it).

The user comes from Airflow's own dependency (:func:`airflow.api_fastapi.core_api.security.get_user`:
the ``Authorization: Bearer`` header, else the UI's ``_token`` cookie; none or an expired token:
401). Access to a table's data is access to its provisioning DAG (``GET``: else 403); editing the
DAG shows the full dial string, triggering it offers "provision now" (the run itself goes through
Airflow's REST API with the user's own token, so Airflow decides again).

May import: FastAPI and Airflow's auth manager API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep
from airflow.configuration import conf
from fastapi import Depends, HTTPException, Query, status

__all__ = ["DagAccess", "DagAccessDep", "readable"]


@dataclass(frozen=True)
class DagAccess:
    """What the signed-in user may do with the provisioning DAG ``dag_id`` (read is checked)."""

    dag_id: str
    username: str
    can_edit: bool
    can_trigger: bool
    user: BaseUser | None = None  # who asked (None: a benchmark's or test's override)


def _details(dag_id: str) -> DagDetails:
    team = None
    if conf.getboolean("core", "multi_team", fallback=False):
        from airflow.models.dag import DagModel

        team = DagModel.get_team_name(dag_id)
    return DagDetails(id=dag_id, team_name=team)


def readable(user: BaseUser, dag_ids: list[str]) -> list[str]:
    """The DAG ids of ``dag_ids`` the user may read (for links to other tables' pages)."""
    manager = get_auth_manager()
    return [
        dag_id
        for dag_id in dag_ids
        if manager.is_authorized_dag(method="GET", access_entity=None, details=_details(dag_id), user=user)
    ]


def dag_access(user: GetUserDep, table: Annotated[str, Query(max_length=250)] = "") -> DagAccess:
    """401 without a valid token (Airflow's ``get_user``), 403 without read access to the DAG."""
    from daily_dialin.ui.sources import DEFAULT_DAG_ID

    dag_id = table or DEFAULT_DAG_ID
    manager, details = get_auth_manager(), _details(dag_id)

    def allowed(method: str, entity: DagAccessEntity | None = None) -> bool:
        return manager.is_authorized_dag(method=method, access_entity=entity, details=details, user=user)

    if not allowed("GET"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    return DagAccess(
        dag_id=dag_id,
        user=user,
        username=user.get_name(),
        can_edit=allowed("PUT"),
        can_trigger=allowed("POST", DagAccessEntity.RUN),
    )


DagAccessDep = Annotated[DagAccess, Depends(dag_access)]
