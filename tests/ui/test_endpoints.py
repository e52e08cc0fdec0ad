"""The dial-in page's endpoints over a real SQLite table: the tiles and the list agree with the
table module's own answers, paging/filtering/sorting, PIN masking by permission, and Airflow's
auth manager on every route (401 anonymous, 403 without access to the DAG)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from daily_dialin.provisioning.window import Selection
from tests.ui.conftest import DAG_ID, LISTED, NOW, PIN

ROUTES = ["/", "/api/meetings", "/api/tiles"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def all_rows(client, token: str, size: int = 3, **params) -> list[dict]:
    """Every page of the list, following each page's ``next`` cursor."""
    rows, cursor = [], ""
    while True:
        response = client.get("/api/meetings", params={"size": size, "cursor": cursor, **params}, headers=bearer(token))
        body = response.json()
        assert response.status_code == 200, body
        assert (
            len(body["rows"]) <= size or len({r["meeting_id"] for r in body["rows"][size - 1 :]}) == 1
        )  # a run of ties
        rows += body["rows"]
        if body["next"] is None:
            return rows
        cursor = body["next"]


def test_the_tiles_count_what_the_table_module_decides(client, tokens, meetings):
    tiles = client.get("/api/tiles", headers=bearer(tokens["viewer"])).json()
    assert {k: tiles[k] for k in ("ready", "pending", "problems", "missed", "deferred", "given_up", "at_risk")} == {
        "ready": 2,
        "pending": 2,
        "problems": 3,
        "missed": 1,
        "deferred": 1,
        "given_up": 1,
        "at_risk": 1,
    }
    assert tiles["within_horizon"] == 8
    # against the table module's own answers
    within = timedelta(minutes=meetings.config.alert_within_minutes)
    assert (tiles["at_risk"], tiles["at_risk_ids"]) == meetings.not_ready_soon(now=NOW, within=within, limit=20)
    assert tiles["given_up"] == len(meetings.given_up(Selection(ends_after=NOW)))
    failing = 1  # F1: Daily refused its room
    assert tiles["problems"] == len(meetings.problem_rows(NOW)) + failing
    # the chart: the coming days' provisionable meetings, ready vs not (R1, R2 ready; P1, S1, F1, G1 not)
    assert sum(d["ready"] for d in tiles["days"]) == 2
    assert sum(d["not_ready"] for d in tiles["days"]) == 4
    assert len(tiles["days"]) == 14


def test_the_list_pages_through_every_listed_meeting_once_in_start_order(client, tokens):
    rows = all_rows(client, tokens["viewer"])
    ids = [r["meeting_id"] for r in rows]
    assert sorted(ids) == sorted(LISTED)
    starts = [r["starts_at"] for r in rows if r["starts_at"]]
    assert starts == sorted(starts)
    backwards = [r["meeting_id"] for r in all_rows(client, tokens["viewer"], sort="-starts_at")]
    assert [i for i in backwards if i != "B2"] == [i for i in reversed(ids) if i != "B2"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "problems"}, {"F1", "B1", "B2"}),
        ({"status": "ready"}, {"R1", "R2"}),
        ({"status": "deferred"}, {"D1"}),
        ({"status": "cancelled"}, {"C1"}),
        ({"q": "R"}, {"R1", "R2"}),
        ({"q": "eeting P"}, {"P1"}),
        ({"q": "%"}, set()),  # a LIKE wildcard is searched for literally
    ],
)
def test_filters(client, tokens, params, expected):
    assert {r["meeting_id"] for r in all_rows(client, tokens["viewer"], **params)} == expected


def test_a_row_shows_its_zone_its_state_and_the_help_for_its_error(client, tokens):
    rows = {r["meeting_id"]: r for r in all_rows(client, tokens["viewer"])}
    assert rows["R1"]["state"] == "ready" and rows["R1"]["room_url"].endswith("/mtg-R1")
    assert rows["R1"]["starts_local"].endswith(("CET", "CEST"))  # the meeting's own zone, Europe/Berlin
    assert rows["F1"]["state"] == "failing"
    assert rows["F1"]["help"] == "troubleshooting#a-meeting-without-a-room-last-error-badmeetingrow"
    assert rows["D1"]["help"] == "troubleshooting#live-rooms-deferred"
    assert rows["P1"]["help"] is None
    # a row problem stores no last_error: the table module says why
    assert rows["B1"]["state"] == "problem" and rows["B1"]["last_error"].startswith("status 'weird' is none of")
    assert "starts_at 'not a time'" in rows["B2"]["last_error"]


def test_the_pin_is_masked_and_the_dial_string_is_only_for_editors(client, tokens):
    viewer = client.get("/api/meetings", params={"status": "ready"}, headers=bearer(tokens["viewer"]))
    assert PIN not in viewer.text
    assert {r["pin"] for r in viewer.json()["rows"]} == {"•" * 9 + PIN[-2:]}
    assert {r["dial_string"] for r in viewer.json()["rows"]} == {None}
    editor = client.get("/api/meetings", params={"status": "ready"}, headers=bearer(tokens["editor"])).json()
    assert {r["dial_string"] for r in editor["rows"]} == {f"tel:+12095550100,,{PIN}"}


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_is_refused_with_401(client, route):
    assert client.get(route).status_code == 401
    assert client.get(route, headers=bearer("not-a-jwt")).status_code in (401, 403)


@pytest.mark.parametrize("route", ROUTES)
def test_a_user_without_access_to_the_dag_gets_403(client, tokens, route):
    assert client.get(route, headers=bearer(tokens["nobody"])).status_code == 403


@pytest.mark.parametrize("route", ROUTES)
def test_the_uis_cookie_is_accepted(client, tokens, route):
    client.cookies.set("_token", tokens["viewer"])
    try:
        assert client.get(route).status_code == 200
    finally:
        client.cookies.clear()


def test_a_dag_that_serves_no_table_is_404_after_the_access_check(client, tokens):
    assert client.get("/api/tiles", params={"table": "other"}, headers=bearer(tokens["viewer"])).status_code == 404
    assert client.get("/api/tiles", params={"table": "other"}, headers=bearer(tokens["nobody"])).status_code == 403


def test_bad_parameters_are_422(client, tokens):
    for params in ({"size": 0}, {"sort": "title; drop"}, {"status": "nope"}, {"cursor": "not-a-cursor"}):
        assert client.get("/api/meetings", params=params, headers=bearer(tokens["viewer"])).status_code == 422


def test_the_page_offers_provision_now_only_to_users_who_may_trigger(client, tokens):
    viewer = client.get("/", headers=bearer(tokens["viewer"]))
    editor = client.get("/", headers=bearer(tokens["editor"]))
    assert viewer.headers["content-type"].startswith("text/html")
    assert '"can_trigger": false' in viewer.text and '"can_trigger": true' in editor.text
    assert f'"dag_id": "{DAG_ID}"' in viewer.text
    assert PIN not in editor.text  # the page carries no data: the script fetches it


def test_the_calls_loops_figures_show_where_the_table_has_them(client, tokens, meetings):
    from contextlib import closing

    with closing(meetings.hook.get_conn()) as conn:
        conn.execute("ALTER TABLE daily_meetings ADD COLUMN phone_callers INTEGER")
        conn.execute("ALTER TABLE daily_meetings ADD COLUMN phone_minutes REAL")
        conn.execute("UPDATE daily_meetings SET phone_callers = 3, phone_minutes = 12.5 WHERE meeting_id = 'D1'")
        conn.commit()
    body = client.get("/api/meetings", params={"status": "deferred"}, headers=bearer(tokens["viewer"])).json()
    assert body["figures"] == ["phone_callers", "phone_minutes"]
    assert (body["rows"][0]["phone_callers"], body["rows"][0]["phone_minutes"]) == (3, 12.5)
