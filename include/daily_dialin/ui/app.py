"""The dial-in page's FastAPI app, mounted on Airflow's API server at ``/daily-dialin``.

Routes (each behind :func:`daily_dialin.ui.access.dag_access`: 401 anonymous, 403 without access
to the provisioning DAG of ``?table=``, default ``daily_dialin_provisioning``; the JSON routes answer
404 for a DAG id that serves no table):

* ``GET /`` - the page (:mod:`.page`); for a DAG that serves no table (Airflow shows the plugin's
  DAG tab on every DAG: a tab cannot be limited to some DAGs) a short page saying so, with links to
  the pages of the tables the user may read;
* ``GET /api/meetings?table=&cursor=&size=&q=&sort=&status=`` - one page of meetings (:mod:`.data`;
  ``cursor``: the ``next`` of the page before);
* ``GET /api/tiles?table=`` - the tiles and the per-day counts.

No OpenAPI or docs routes: the app serves nothing but these. Environment: ``DAILY_DIALIN_DOCS_URL``
(the published docs' base URL, for the troubleshooting links; unset: the page names the file).

May import: FastAPI and ``daily_dialin.ui`` (access, data, page, sources).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from daily_dialin.ui.access import DagAccessDep, readable
from daily_dialin.ui.data import MeetingsQuery, View, meetings_page, tiles
from daily_dialin.ui.page import render_no_table, render_page
from daily_dialin.ui.sources import Sources

__all__ = ["create_app"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def view_of(request: Request, access: DagAccessDep) -> View:
    """The :class:`View` of the table the DAG of ``?table=`` serves (built once per DAG id); 404 for none."""
    state = request.app.state
    table = state.sources.get(access.dag_id)
    if table is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meetings table is served by DAG {access.dag_id!r}")
    view = state.views.get(access.dag_id)
    if view is None or view.table is not table:  # new settings: a new table object
        view = state.views[access.dag_id] = View.of(table)
    return view


ViewDep = Annotated[View, Depends(view_of)]


def create_app(*, sources: Sources | None = None, clock: Callable[[], datetime] = _utcnow) -> FastAPI:
    """The app; ``sources`` (default: the shipped deployment) and ``clock`` are for tests and other deployments."""
    app = FastAPI(title="Daily dial-in page", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.sources, app.state.views = sources or Sources(), {}

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request, access: DagAccessDep) -> HTMLResponse:
        sources: Sources = request.app.state.sources
        if sources.get(access.dag_id) is None:  # Airflow shows the DAG tab on every DAG: say so, link the tables
            others = readable(access.user, sources.dag_ids()) if access.user is not None else []
            return HTMLResponse(
                render_no_table(dag_id=access.dag_id, tables=others), headers={"Cache-Control": "no-store"}
            )
        body = render_page(
            dag_id=access.dag_id,
            can_edit=access.can_edit,
            can_trigger=access.can_trigger,
            docs=os.environ.get("DAILY_DIALIN_DOCS_URL", ""),
        )
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})

    @app.get("/api/meetings")
    async def meetings(access: DagAccessDep, view: ViewDep, query: Annotated[MeetingsQuery, Query()]) -> dict[str, Any]:
        return await run_in_threadpool(meetings_page, view, query, now=clock(), can_edit=access.can_edit)

    @app.get("/api/tiles")
    async def tile_counts(_access: DagAccessDep, view: ViewDep) -> dict[str, Any]:
        return await run_in_threadpool(tiles, view, now=clock())

    return app
