"""The "Dial-in" tab on a DAG's page. Airflow 3.3 shows a plugin's ``destination: "dag"`` view on
every DAG (its UI lists the views by destination and fills ``{DAG_ID}`` into ``href``: no filter per
DAG exists), so the page answers for any DAG: a provisioning DAG's tab is its table's page, any
other DAG's tab says that DAG provisions no meetings and links the pages the user may open."""

from __future__ import annotations

from tests.ui.conftest import DAG_ID
from tests.ui.test_endpoints import bearer


def test_the_tab_of_a_dag_without_a_table_says_so_and_links_the_tables(client, tokens):
    response = client.get("/", params={"table": "example_other_dag"}, headers=bearer(tokens["viewer"]))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "example_other_dag</b> provisions no dial-in meetings" in response.text
    assert f'<a href="./?table={DAG_ID}">{DAG_ID}</a>' in response.text
    assert '"dag_id"' not in response.text  # not the page: no script asking for data


def test_the_tab_of_a_provisioning_dag_is_its_page(client, tokens):
    response = client.get("/", params={"table": DAG_ID}, headers=bearer(tokens["viewer"]))
    assert response.status_code == 200 and f'"dag_id": "{DAG_ID}"' in response.text


def test_the_tab_of_another_dag_still_needs_access_to_it(client, tokens):
    assert client.get("/", params={"table": "example_other_dag"}).status_code == 401
    assert client.get("/", params={"table": "example_other_dag"}, headers=bearer(tokens["nobody"])).status_code == 403


def test_the_tab_is_a_dag_view_airflow_fills_with_the_dag_id():
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    from daily_dialin.ui.plugin import DailyDialinUIPlugin

    views = [ExternalViewResponse(**view) for view in DailyDialinUIPlugin.external_views]
    tab = next(view for view in views if view.destination == "dag")
    assert tab.href == "/daily-dialin/?table={DAG_ID}"  # Airflow's UI replaces {DAG_ID} with the DAG's id
    assert {view.destination for view in views} == {"nav", "dag"}
