"""The dial-in application's Airflow plugin: mounts the webhook receiver on Airflow's API server at
``/daily`` (``POST /daily/webhooks``), through ``fastapi_apps`` (Airflow 3.1+).

Registered through the package's ``airflow.plugins`` entry point (``daily_dialin_calls``), like the
provider's macros plugin. Mounted plugin apps get no Airflow authentication: the receiver's only
route authenticates by Daily's signature, and the app serves nothing else (:mod:`.receiver`).

May import: Airflow's plugin manager and :mod:`daily_dialin.calls.receiver`.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from daily_dialin.calls.receiver import create_app

URL_PREFIX = "/daily"


class DailyCallsPlugin(AirflowPlugin):
    name = "daily_dialin_calls"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Daily webhooks"}]
