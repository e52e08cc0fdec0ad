"""The provider's macros plugin is registered through the provider (no plugins/ file needed) and
its macros compute the right values; the application's plugin (the webhook receiver) through the
package's second entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from airflow_provider_daily.get_provider_info import get_provider_info
from airflow_provider_daily.plugins import macros


def test_airflow_loads_the_macros_plugin_from_the_provider(tmp_path):
    airflow = Path(sys.executable).with_name("airflow")
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [str(airflow), "plugins", "-o", "json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout[result.stdout.index("[") :])}
    assert plugins["daily_dialin"]["macros"] == [
        "airflow_provider_daily.plugins.macros.room_name",
        "airflow_provider_daily.models.dial_string",
    ]
    # the application's plugin: the webhook receiver, mounted on the API server at /daily
    (app,) = plugins["daily_dialin_calls"]["fastapi_apps"]
    assert app["url_prefix"] == "/daily"
    # the dial-in page: its app at /daily-dialin, a nav entry and a DAG tab
    (page,) = plugins["daily_dialin_ui"]["fastapi_apps"]
    assert page["url_prefix"] == "/daily-dialin"


def test_the_package_registers_the_plugin_through_its_entry_point():
    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "daily_dialin"]
    assert entry.load() is macros.DailyDialinMacrosPlugin
    assert "plugins" not in get_provider_info()  # one registration, or Airflow reports a duplicate


def test_the_application_registers_the_webhook_receiver_through_its_entry_point():
    from fastapi.testclient import TestClient

    from daily_dialin.calls.plugin import DailyCallsPlugin

    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "daily_dialin_calls"]
    assert entry.load() is DailyCallsPlugin
    (app,) = DailyCallsPlugin.fastapi_apps
    assert app["url_prefix"] == "/daily"
    routes = [(route.path, sorted(route.methods)) for route in app["app"].routes]
    assert routes == [("/webhooks", ["POST"])], "nothing but the signed route is reachable on the app"
    client = TestClient(app["app"])
    assert client.get("/openapi.json").status_code == 404 and client.get("/docs").status_code == 404


def test_the_application_registers_the_dialin_page_through_its_entry_point():
    from daily_dialin.ui.plugin import DailyDialinUIPlugin

    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "daily_dialin_ui"]
    assert entry.load() is DailyDialinUIPlugin
    (app,) = DailyDialinUIPlugin.fastapi_apps
    assert app["url_prefix"] == "/daily-dialin"
    routes = sorted(route.path for route in app["app"].routes)
    assert routes == ["/", "/api/meetings", "/api/tiles"], "nothing but the authenticated routes is reachable"
    views = {view["destination"]: view for view in DailyDialinUIPlugin.external_views}
    assert views["nav"]["href"] == "/daily-dialin/" and views["nav"]["name"] == "Dial-in"
    assert views["dag"]["href"] == "/daily-dialin/?table={DAG_ID}"


def test_macros():
    assert macros.room_name("M1") == "mtg-M1"
    assert macros.room_name(4711, prefix="conf") == "conf-4711"
    assert macros.dial_string("12095038039", "12345678987") == "tel:+12095038039,,12345678987"
