"""The Dial-in page in the real Airflow UI (headless Chromium, as ``test_ui.py``), against the native cluster.

Opens the "Dial-in" entry of Airflow's navigation (``/plugin/daily-dialin``: the page in the UI's
frame) and checks the tiles against the meetings table (read directly, polled until they agree:
the cluster's runs may provision meanwhile, and the tiles show a pass a few seconds old); opens the
"Dial-in" tab of a DAG that provisions nothing (Airflow shows it on every DAG) and finds it says
so; inserts a meeting broken on purpose (a status in no list) and finds it under "problems" with
its reason; ticks a pending meeting, presses "Provision now" (a run through Airflow's REST API with
the signed-in user's token) and sees it ready; checks an anonymous browser is refused (401).
Screenshots, light and dark: ``tests/browser/screenshots/dialin-light.png`` and ``dialin-dark.png``,
copied to ``docs/images/`` where ``docs/operators-page.md`` shows them (commit them when the page changes)
(linked from ``docs/operators-page.md``; the folder is not committed).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_ui import (  # noqa: F401 (fixtures)
    CHROMIUM_ARGS,
    EXAMPLE_DAG,
    UI_TIMEOUT_MS,
    browser,
    page,
    shot,
)
from tests.support.cluster import DAG_ID, NativeCluster, read_meetings
from tests.support.paths import REPO

DOC_IMAGES = REPO / "docs" / "images"


def publish(path: Any) -> None:
    """Copy a screenshot to the docs, which show the page as the code draws it."""
    DOC_IMAGES.mkdir(exist_ok=True)
    shutil.copyfile(path, DOC_IMAGES / path.name)


pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

BROKEN = "UI-DIALIN-BROKEN"
PENDING = "UI-DIALIN-NOW"
PAGE = "/daily-dialin/"


def _insert(cluster: NativeCluster, meeting_id: str, start: datetime, *, status: str = "scheduled") -> None:
    import psycopg2

    with contextlib.closing(psycopg2.connect(cluster.meetings_uri)) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO daily_meetings (meeting_id, title, starts_at, ends_at, timezone, status)"
            " VALUES (%s, %s, %s, %s, 'Europe/Berlin', %s)",
            (meeting_id, f"Dial-in page {meeting_id}", start, start + timedelta(minutes=45), status),
        )
        conn.commit()


def _ready_in_table(cluster: NativeCluster, horizon_days: int) -> int:
    """Scheduled meetings with a room, not over a day ago, starting within the horizon: read directly."""
    now = datetime.now(UTC)
    return sum(
        1
        for row in read_meetings(cluster).values()
        if row["status"] == "scheduled"
        and row["provisioned_at"] is not None
        and not (row.get("last_error") or "").startswith("deferred: ")
        and row["ends_at"] > now - timedelta(days=1)
        and row["starts_at"] < now + timedelta(days=horizon_days)
    )


def _eventually(check, *, what: str, timeout: float = UI_TIMEOUT_MS / 1000) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        ok, seen = check()
        if ok:
            return seen
        assert time.monotonic() < deadline, f"{what}: last seen {seen!r}"
        time.sleep(1)


def test_the_dialin_page(page: Page, browser: Browser, native_cluster: NativeCluster) -> None:  # noqa: F811
    cluster = native_cluster
    page.on("console", lambda message: print(f"browser console {message.type}: {message.text}"))
    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    _insert(cluster, BROKEN, today + timedelta(days=1, hours=2), status="on hold")

    # from Airflow's navigation: the page inside the UI's frame
    page.goto("/plugin/daily-dialin")  # where the "Dial-in" entry of the navigation leads (url_route)
    frame = page.frame_locator("iframe").first
    expect(frame.locator('[data-tile="ready"] b')).to_be_visible()
    horizon = page.request.get(f"{PAGE}api/tiles").json()["horizon_days"]

    def tiles_agree() -> tuple[bool, Any]:
        page.reload()
        shown = page.frame_locator("iframe").first.locator('[data-tile="ready"] b').inner_text()
        expected = _ready_in_table(cluster, horizon)
        return shown == str(expected), (shown, expected)

    _eventually(tiles_agree, what="the ready tile matches the table")
    frame = page.frame_locator("iframe").first
    expect(frame.locator("#pageinfo")).to_contain_text("rows 1")  # keyset pages: "rows 1-50 of N"
    publish(shot(page, "dialin-light", full_page=True))

    # the Dial-in tab of a DAG that provisions nothing (Airflow shows the tab on every DAG)
    page.goto(f"/dags/{EXAMPLE_DAG}/plugin/daily-dialin-dag")
    tab = page.frame_locator("iframe").first
    expect(tab.locator("#no-table")).to_contain_text(f"{EXAMPLE_DAG} provisions no dial-in meetings")
    expect(tab.locator(f'a[href="./?table={DAG_ID}"]')).to_be_visible()

    # the broken meeting under problems, with the table module's reason
    page.goto(PAGE)
    page.locator('[data-tile="problems"]').click()
    broken = page.locator(f'tr[data-id="{BROKEN}"]')
    expect(broken).to_be_visible()
    expect(broken).to_contain_text("problem")
    expect(broken).to_contain_text("status 'on hold' is none of")

    # provision now: a pending meeting, a run through Airflow's REST API with the user's token
    api = cluster.api()
    if api.get(f"/dags/{DAG_ID}")["is_paused"]:
        api.patch(f"/dags/{DAG_ID}", {"is_paused": False})
    _insert(cluster, PENDING, today + timedelta(days=1, hours=3))
    page.goto(PAGE)
    page.locator("#q").fill(PENDING)
    row = page.locator(f'tr[data-id="{PENDING}"]')
    expect(row).to_be_visible()
    if "ready" not in row.inner_text():  # the table watch may have been quicker than the button
        row.locator("input[type=checkbox]").check()
        page.locator("#provision").click()
        expect(page.locator("#msg")).to_contain_text("started for", timeout=UI_TIMEOUT_MS * 2)
    _eventually(
        lambda: (read_meetings(cluster)[PENDING]["provisioned_at"] is not None, read_meetings(cluster)[PENDING]),
        what="the meeting provisioned",
        timeout=300,
    )
    page.reload()
    page.locator("#q").fill(PENDING)
    expect(page.locator(f'tr[data-id="{PENDING}"] .st-ready')).to_be_visible()

    def ready_tile_agrees() -> tuple[bool, Any]:
        page.reload()
        shown = page.locator('[data-tile="ready"] b').inner_text()
        expected = _ready_in_table(cluster, horizon)
        return shown == str(expected) and expected >= 1, (shown, expected)

    _eventually(ready_tile_agrees, what="the ready tile counts the provisioned meetings of the table")

    # dark, as the browser asks for it
    dark = browser.new_context(
        viewport={"width": 1280, "height": 900},
        base_url=cluster.api_url,
        color_scheme="dark",
        storage_state=page.context.storage_state(),
    )
    try:
        dark_page = dark.new_page()
        dark_page.goto(f"{PAGE}?theme=dark")
        expect(dark_page.locator('[data-tile="ready"] b')).to_be_visible()
        expect(dark_page.locator("#pageinfo")).to_contain_text("rows")  # the list too: it arrives on its own
        publish(shot(dark_page, "dialin-dark", full_page=True))
    finally:
        dark.close()

    # an anonymous browser is refused, on the page and on its data
    anonymous = browser.new_context(base_url=cluster.api_url)
    try:
        assert anonymous.new_page().goto(PAGE).status == 401
        assert anonymous.request.get(f"{PAGE}api/meetings").status == 401
    finally:
        anonymous.close()
