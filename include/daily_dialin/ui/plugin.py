"""The dial-in page's Airflow plugin: the app of :mod:`daily_dialin.ui.app` at ``/daily-dialin``
(``fastapi_apps``), a "Dial-in" entry in Airflow's navigation and a "Dial-in" tab on the shipped
provisioning DAG (``external_views``; Airflow 3.1+ shows both inside its UI's frame; Airflow 3.3
shows the tab on every DAG, and the page answers a DAG without a table with a short explanation).

Registered through the package's ``airflow.plugins`` entry point ``daily_dialin_ui``. The app is
mounted without Airflow's authentication; every route adds it (:mod:`daily_dialin.ui.access`).
Building the app reads nothing (the table is looked up on the first request).

May import: Airflow's plugin manager and :mod:`daily_dialin.ui` (app, sources).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from daily_dialin.ui.app import create_app

URL_PREFIX = "/daily-dialin"
NAV_ROUTE = "daily-dialin"  # the page in Airflow's frame: /plugin/<NAV_ROUTE> (the UI's route of a nav view)


def ui_path() -> str:
    """Where Airflow's UI shows the page in its frame (the "Dial-in" entry of the navigation)."""
    return f"/plugin/{NAV_ROUTE}"


class DailyDialinUIPlugin(AirflowPlugin):
    name = "daily_dialin_ui"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Daily dial-in page"}]
    external_views = [
        {"name": "Dial-in", "href": f"{URL_PREFIX}/", "destination": "nav", "url_route": NAV_ROUTE},
        {
            # the tab on a DAG: {DAG_ID} is filled in by Airflow's UI, which shows the tab on every DAG
            # (no filter exists): a DAG serving no table gets a page saying so (daily_dialin.ui.app)
            "name": "Dial-in",
            "href": URL_PREFIX + "/?table={DAG_ID}",
            "destination": "dag",
            "url_route": "daily-dialin-dag",
        },
    ]
