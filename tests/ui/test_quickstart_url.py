"""``bash .ci/ui`` opens on the Dial-in page: the URL it prints is Airflow's login (as Airflow's own
auth manager builds it) going on to the route where Airflow's UI frames the page - the plugin's
"Dial-in" navigation entry, whose ``href`` is the page's app. (The slow ``tests/deploy/test_ui_quickstart.py``
checks the same against a running Airflow: ``--check`` asks ``/api/v2/plugins`` and loads the page.)"""

from __future__ import annotations

import importlib.util
from urllib.parse import parse_qs, urlsplit

from tests.support.paths import REPO


def _quickstart():
    spec = importlib.util.spec_from_file_location("ci_ui_quickstart", REPO / ".ci" / "ui.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_quickstart_url_is_the_login_leading_to_the_dialin_page():
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    from daily_dialin.ui.plugin import URL_PREFIX, DailyDialinUIPlugin

    url = _quickstart().dialin_url("http://127.0.0.1:8080")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("http", "127.0.0.1:8080")
    next_path = parse_qs(parts.query)["next"][0]
    # Airflow's own login URL for that destination (the quickstart runs the simple auth manager)
    assert f"{parts.path}?{parts.query}" == SimpleAuthManager().get_url_login(next_url=next_path)
    # the destination is where Airflow's UI frames the plugin's nav view: /plugin/<url_route>
    nav = [view for view in DailyDialinUIPlugin.external_views if view["destination"] == "nav"]
    assert [f"/plugin/{view['url_route']}" for view in nav] == [next_path]
    assert nav[0]["href"] == f"{URL_PREFIX}/"
    assert [app["url_prefix"] for app in DailyDialinUIPlugin.fastapi_apps] == [URL_PREFIX]
