"""Keyset paging of the dial-in page's list: following ``next`` cursors lists every row once, in the
order of one big page, for every sort in both directions - with rows that tie on the sort column and
rows without an id (SQLite lets a TEXT primary key hold NULL) - and the rare states' lists (looked
up by id from the latest snapshot) drop a row that left the state at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from daily_dialin.ui.keyset import Cursor
from tests.support.engine import insert_rows
from tests.ui.conftest import DAY, row
from tests.ui.test_endpoints import all_rows, bearer

SORTS = ["starts_at", "-starts_at", "meeting_id", "-meeting_id", "status", "-status"]


@pytest.fixture
def ties(meetings):
    """Three meetings starting at the same second, and two rows without an id at that second too."""
    same = [row(f"T{i}", 2 * DAY) for i in (3, 1, 2)]
    nameless = [{**row("", 2 * DAY), "meeting_id": None, "title": f"nameless {i}"} for i in (1, 2)]
    insert_rows(meetings, [*same, *nameless])
    return meetings


def _key(r: dict) -> tuple:
    return (r["meeting_id"], r["title"])


def _order(rows: list[dict], sort: str) -> list[tuple]:
    """What the order decides: the sort column and the id (rows without an id tie, in any order)."""
    column = {"starts_at": "starts_at", "meeting_id": "meeting_id", "status": "status"}[sort.lstrip("-")]
    return [(r[column], r["meeting_id"]) for r in rows]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("size", [1, 2, 4])
def test_following_the_cursors_lists_every_row_once_in_the_order_of_one_page(client, tokens, ties, sort, size):
    token = tokens["viewer"]
    listed = client.get("/api/tiles", headers=bearer(token)).json()["listed"]  # the tiles' snapshot: the total
    whole = client.get("/api/meetings", params={"size": 200, "sort": sort}, headers=bearer(token)).json()
    assert whole["next"] is None
    paged = all_rows(client, token, size=size, sort=sort)
    assert _order(paged, sort) == _order(whole["rows"], sort)
    assert len({_key(r) for r in paged}) == len(paged) == whole["total"] == listed


def test_a_state_filter_pages_too(client, tokens, ties):
    token = tokens["viewer"]
    whole = client.get("/api/meetings", params={"size": 200, "status": "problems"}, headers=bearer(token)).json()
    paged = all_rows(client, token, size=1, status="problems")
    assert _order(paged, "starts_at") == _order(whole["rows"], "starts_at")
    assert len({_key(r) for r in paged}) == len(paged)
    # B1 (an unknown status), B2 (no time), F1 (failing) and the two rows without an id
    assert {r["meeting_id"] for r in paged} == {"B1", "B2", "F1", None}
    assert len(paged) == whole["total"] == 5


def test_the_total_is_counted_only_where_cheap(client, tokens):
    token = tokens["viewer"]
    # before any tiles: no count of every row's state on the list's request
    assert client.get("/api/meetings", headers=bearer(token)).json()["total"] is None
    assert client.get("/api/meetings", params={"q": "R"}, headers=bearer(token)).json()["total"] is None  # no count
    tiles = client.get("/api/tiles", headers=bearer(token)).json()
    assert client.get("/api/meetings", headers=bearer(token)).json()["total"] == tiles["listed"] == 11
    ready = client.get("/api/meetings", params={"status": "ready"}, headers=bearer(token)).json()
    assert ready["total"] == tiles["ready"] == 2


def test_a_row_that_left_a_rare_state_leaves_its_list_at_once(client, tokens, meetings):
    from contextlib import closing

    token = tokens["viewer"]
    before = client.get("/api/meetings", params={"status": "problems"}, headers=bearer(token)).json()
    assert "B1" in {r["meeting_id"] for r in before["rows"]}
    with closing(meetings.hook.get_conn()) as conn:  # the snapshot still names B1: its state is checked again
        conn.execute("UPDATE daily_meetings SET status = 'scheduled' WHERE meeting_id = 'B1'")
        conn.commit()
    after = client.get("/api/meetings", params={"status": "problems"}, headers=bearer(token)).json()
    assert "B1" not in {r["meeting_id"] for r in after["rows"]}
    pending = client.get("/api/meetings", params={"status": "pending", "q": "B1"}, headers=bearer(token)).json()
    assert [r["meeting_id"] for r in pending["rows"]] == ["B1"]


def test_the_tiles_take_the_next_snapshot_for_new_rare_rows(client, tokens, meetings):
    token = tokens["viewer"]
    client.get("/api/meetings", params={"status": "cancelled"}, headers=bearer(token))
    insert_rows(meetings, [row("C2", DAY + timedelta(hours=2), status="cancelled")])
    view = client.app.state.views["daily_dialin_provisioning"]
    view.snapshots._latest = None  # as after its minute: the next list request takes a new one
    listed = client.get("/api/meetings", params={"status": "cancelled"}, headers=bearer(token)).json()
    assert {r["meeting_id"] for r in listed["rows"]} == {"C1", "C2"}
    assert listed["total"] == 2


@pytest.mark.parametrize("text", ["", "x", "eyJhIjoxfQ", Cursor(value=1, key="a", seen=0).encode()])
def test_a_cursor_of_no_page_is_422(client, tokens, text):
    if not text:
        return
    response = client.get("/api/meetings", params={"cursor": text}, headers=bearer(tokens["viewer"]))
    assert response.status_code == 422


def test_a_cursor_round_trips_datetimes_and_ids_of_any_type():
    from datetime import UTC, datetime

    for value in (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02 03:04:05", 7, None):
        for key in ("M1", 12, None):
            cursor = Cursor(value=value, key=key, seen=2)
            assert Cursor.decode(cursor.encode()) == cursor


def test_the_tiles_show_a_new_row_once_the_background_pass_has_read_it(client, tokens, meetings):
    import dataclasses
    import time

    token = tokens["viewer"]
    before = client.get("/api/tiles", headers=bearer(token)).json()
    insert_rows(meetings, [row("P9", DAY + timedelta(hours=5))])
    snapshots = client.app.state.views["daily_dialin_provisioning"].snapshots
    snapshots._latest = dataclasses.replace(snapshots._latest, taken=snapshots._latest.taken - 10)  # 10 s old
    stale = client.get("/api/tiles", headers=bearer(token)).json()  # served at once; a pass starts behind it
    assert stale["pending"] == before["pending"] and stale["as_of_seconds"] >= 10
    deadline = time.monotonic() + 60
    while (now := client.get("/api/tiles", headers=bearer(token)).json())["pending"] == before["pending"]:
        assert time.monotonic() < deadline, "the background pass never delivered"
        time.sleep(0.1)
    assert now["pending"] == before["pending"] + 1 and now["as_of_seconds"] < 10


def test_a_rare_state_of_more_rows_than_one_in_list_is_looked_up_whole(client, tokens, meetings):
    token = tokens["viewer"]
    insert_rows(meetings, [row(f"K{i:04d}", DAY + timedelta(minutes=i), status="cancelled") for i in range(700)])
    client.get("/api/tiles", headers=bearer(token))  # the snapshot: 701 cancelled ids
    rows = all_rows(client, token, size=200, status="cancelled")
    assert len(rows) == len({r["meeting_id"] for r in rows}) == 701


@pytest.fixture
def pg_client(postgres_server, monkeypatch, auth_manager):
    """The page's app over the shipped PostgreSQL schema (timestamps, NOT NULL keys), same rows but
    the unreadable time (a timestamp column cannot hold one), and three meetings at the same second."""
    import json
    import uuid
    from contextlib import closing

    import psycopg2
    from fastapi.testclient import TestClient

    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.provisioning.table import MeetingsTable
    from daily_dialin.ui.app import create_app
    from daily_dialin.ui.sources import Sources
    from tests.ui.conftest import DAG_ID, NOW, ROWS

    name = f"ui_{uuid.uuid4().hex[:10]}"
    with closing(psycopg2.connect(postgres_server.uri)) as admin:
        admin.autocommit = True
        admin.cursor().execute(f"CREATE DATABASE {name}")
    conn = {"conn_type": "postgres", "host": "127.0.0.1", "port": postgres_server.port, "login": "postgres"}
    monkeypatch.setenv("AIRFLOW_CONN_DAILY_MEETINGS_DB", json.dumps({**conn, "schema": name}))
    table = MeetingsTable.from_config(ProvisioningConfig())
    table.create_schema()
    rows = [r for r in ROWS if r["meeting_id"] != "B2"] + [row(f"T{i}", 2 * DAY) for i in (3, 1, 2)]
    insert_rows(table, [{k: v for k, v in r.items() if v is not None} for r in rows])
    app = create_app(sources=Sources(load=lambda: {DAG_ID: table.config}), clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client
    table.engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("sort", SORTS)
def test_keyset_pages_on_postgresql(pg_client, tokens, sort):
    token = tokens["viewer"]
    whole = pg_client.get("/api/meetings", params={"size": 200, "sort": sort}, headers=bearer(token)).json()
    paged = all_rows(pg_client, token, size=2, sort=sort)
    assert [_key(r) for r in paged] == [_key(r) for r in whole["rows"]]
    assert len(paged) == 13  # LISTED without B2, and T1-T3
    problems = all_rows(pg_client, token, size=1, status="problems")
    assert {r["meeting_id"] for r in problems} == {"B1", "F1"}
