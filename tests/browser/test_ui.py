"""The real Airflow UI, in headless Chromium (Debian's package, driven by Playwright), against the native cluster.

Logs in with the simple auth manager login the bootstrap wrote; opens the trigger form of
``daily_dialin_provisioning`` and checks every Param renders with its title and description; triggers
a window dry run and then a real run from the form (with "Unpause on trigger" unticked: the DAG is
unpaused consciously, with its toggle, only if it is still paused); sees both succeed and the report
tables in the task logs; opens "Add connection", picks Daily and checks every extra field of the client
settings model; runs ``example_daily_room_lifecycle`` and follows the "Daily room" extra link of its
create-room task. The room's host is answered inside the browser (no network here): the check is that
the browser goes to the emulator's room URL. Screenshots: ``tests/browser/screenshots/`` (printed).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.cluster import DAG_ID, NativeCluster, pins_by_room, read_meetings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

SHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = os.environ.get("DAILY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXAMPLE_DAG = "example_daily_room_lifecycle"
# What the page must show once the API says it is so, on a loaded 2-core machine: actions, navigation
# and every ``expect`` (Playwright's own default for assertions is 5 s, which a busy machine misses).
UI_TIMEOUT_MS = 30_000
expect.set_options(timeout=UI_TIMEOUT_MS)  # for every browser test (test_approval.py imports this module)


def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def page(browser: Browser, native_cluster: NativeCluster) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=native_cluster.api_url)
    context.set_default_timeout(UI_TIMEOUT_MS)
    # Daily's room pages are not reachable here: answer them inside the browser, to see where links lead
    context.route(
        re.compile(r"https://[^/]+\.daily\.co/.*"),
        lambda route: route.fulfill(
            status=200, content_type="text/html", body=f"<h1>Daily room (stub)</h1><p>{route.request.url}</p>"
        ),
    )
    page = context.new_page()
    page.goto("/")
    page.get_by_label("Username").fill(native_cluster.username)
    page.get_by_label("Password").fill(native_cluster.password)
    shot(page, "01-login")
    page.get_by_role("button", name="Sign in").click()
    # the nav link by its test id: the home page's own "Failed Dags", "Running Dags"... links also match "Dags"
    expect(page.get_by_test_id("nav-dags-link")).to_be_visible()
    try:
        yield page
    finally:
        context.close()


def open_trigger_form(page: Page, dag_id: str):
    page.goto(f"/dags/{dag_id}")
    page.get_by_role("button", name=re.compile("^Trigger")).first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Run Parameters")).to_be_visible()
    return dialog


def trigger_window_run(page: Page, day: str, *, dry_run: bool, name: str) -> str:
    """Fill the form (window = one day, dry run or not), untick "Unpause on trigger", trigger; the run id."""
    dialog = open_trigger_form(page, DAG_ID)
    unpause = dialog.get_by_label(re.compile(r"Unpause .* on trigger"))
    if unpause.count() and unpause.is_checked():
        dialog.get_by_text(re.compile(r"Unpause .* on trigger")).click()
        expect(unpause).not_to_be_checked()
    dialog.locator("#element_window_start").fill(day)
    dialog.locator("#element_window_end").fill(day)
    dry = dialog.locator("[name=element_dry_run]")
    if dry.is_checked() != dry_run:
        dry.locator("xpath=..").click()
    assert dry.is_checked() == dry_run
    shot(page, name, full_page=True)
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    page.wait_for_url(re.compile(r".*/runs/[^/]+$"))
    return unquote(page.url.rsplit("/runs/", 1)[1])


def unpause_consciously(page: Page, cluster: NativeCluster, dag_id: str) -> None:
    if not cluster.api().get(f"/dags/{dag_id}")["is_paused"]:
        return
    page.goto(f"/dags/{dag_id}")
    toggle = page.locator("[data-testid=toggle-pause]").first
    toggle.click()
    deadline = time.monotonic() + 30
    while cluster.api().get(f"/dags/{dag_id}")["is_paused"]:
        assert time.monotonic() < deadline, "the pause toggle did not unpause the DAG"
        time.sleep(1)
    shot(page, "04-unpaused-consciously")


def wait_success_in_ui(page: Page, cluster: NativeCluster, dag_id: str, run_id: str, name: str) -> None:
    run = cluster.api().wait_for_runs(dag_id, {run_id}, timeout=300)[run_id]
    assert run["state"] == "success", run
    page.goto(f"/dags/{dag_id}/runs/{run_id}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    shot(page, name)


def task_log(page: Page, dag_id: str, run_id: str, task_id: str):
    page.goto(f"/dags/{dag_id}/runs/{run_id}/tasks/{task_id}")
    log = page.get_by_role("main") if page.get_by_role("main").count() else page.locator("body")
    expect(log.get_by_text("Post Execute")).to_be_visible()
    return log


def test_trigger_form_renders_every_param_with_its_description(page: Page):
    from daily_dialin.provisioning.params import PROVISIONING_PARAMS

    dialog = open_trigger_form(page, DAG_ID)
    for name, param in PROVISIONING_PARAMS.items():
        title, description = param.schema.get("title") or name, param.description
        expect(dialog.get_by_text(re.compile(rf"^{re.escape(title)}\s*\*?$"))).to_be_visible()  # "*": required
        assert description, f"param {name} has no description"
        expect(dialog.get_by_text(description, exact=True)).to_be_visible()
    shot(page, "02-trigger-form", full_page=True)
    page.keyboard.press("Escape")


def test_window_dry_run_then_real_run_from_the_form(page: Page, native_cluster: NativeCluster, cluster_meetings):
    cluster = native_cluster
    day = str(cluster_meetings["browser"][0]["starts_at"].date())  # the seeded day, not today's clock
    ids = [m["meeting_id"] for m in cluster_meetings["browser"]]

    dry_id = trigger_window_run(page, day, dry_run=True, name="03-dry-run-form")
    unpause_consciously(page, cluster, DAG_ID)
    wait_success_in_ui(page, cluster, DAG_ID, dry_id, "05-dry-run-success")
    log = task_log(page, DAG_ID, dry_id, "plan")
    expect(log.get_by_text("Dry run: nothing is created or written.")).to_be_visible()
    for meeting_id in ids:
        expect(
            log.get_by_text(re.compile(rf"\|\s*{meeting_id}\s*\|.*\|\s*mtg-{meeting_id}\s*\|\s*create"))
        ).to_be_visible()
    shot(page, "06-dry-run-plan-log")
    rows = read_meetings(cluster)
    assert all(rows[m]["room_name"] is None and rows[m]["dialin_pin"] is None for m in ids), "the dry run wrote"
    assert not {f"mtg-{m}" for m in ids} & set(pins_by_room(cluster.emulator_state())), "the dry run made rooms"

    real_id = trigger_window_run(page, day, dry_run=False, name="07-real-run-form")
    wait_success_in_ui(page, cluster, DAG_ID, real_id, "08-real-run-success")
    log = task_log(page, DAG_ID, real_id, "summarize")
    expect(log.get_by_text(re.compile(rf"\|\s*provisioned \(new room\)\s*\|\s*{len(ids)}\s*\|"))).to_be_visible()
    shot(page, "09-real-run-summary-log")
    rows, pins = read_meetings(cluster), pins_by_room(cluster.emulator_state())
    for meeting_id in ids:
        assert rows[meeting_id]["dialin_pin"] and rows[meeting_id]["dialin_pin"] == pins[f"mtg-{meeting_id}"]


def test_add_connection_form_has_every_daily_extra(page: Page):
    from airflow_provider_daily.client_settings import DailyClientSettings
    from airflow_provider_daily.get_provider_info import conn_fields

    page.goto("/connections")
    page.get_by_role("button", name=re.compile("Add Connection", re.IGNORECASE)).click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[name=connection_id]").fill("daily_ui_check")
    combo = dialog.get_by_role("combobox")
    combo.click()
    combo.fill("Daily")
    page.get_by_role("option", name="Daily", exact=True).click()
    expect(dialog.get_by_text("Daily API key")).to_be_visible()
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    fields = conn_fields()
    assert set(fields) == set(DailyClientSettings.model_fields)
    for name, field in fields.items():
        expect(dialog.get_by_text(field["label"], exact=True)).to_be_visible()
        expect(dialog.get_by_text(field["description"], exact=True)).to_be_visible()
        if "object" not in field["schema"]["type"]:  # objects get a JSON editor instead of an input
            expect(dialog.locator(f"[name=element_{name}]")).to_have_count(1)
    expect(dialog.locator("[name=element_max_attempts]")).to_have_value("6")
    shot(page, "10-add-connection-daily")
    dialog.get_by_text(fields["default_dialin_number"]["description"], exact=True).scroll_into_view_if_needed()
    shot(page, "10b-add-connection-daily-more")
    page.keyboard.press("Escape")


def test_daily_room_link_of_the_example_dag(page: Page, native_cluster: NativeCluster):
    cluster, room = native_cluster, "ui-check-room"
    dialog = open_trigger_form(page, EXAMPLE_DAG)  # no schedule: "Unpause on trigger" runs only this run
    dialog.locator("[name=element_room_name]").fill(room)
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    page.wait_for_url(re.compile(r".*/runs/[^/]+$"))
    run_id = unquote(page.url.rsplit("/runs/", 1)[1])
    wait_success_in_ui(page, cluster, EXAMPLE_DAG, run_id, "11-example-run-success")

    url = next(r["url"] for r in cluster.emulator_state()["rooms"] if r["name"] == room)
    page.goto(f"/dags/{EXAMPLE_DAG}/runs/{run_id}/tasks/create_room/details")
    link = page.get_by_role("link", name="Daily room", exact=True)
    expect(link).to_have_attribute("href", url)
    shot(page, "12-create-room-extra-link")
    with page.context.expect_page() as opened:
        link.click()
    room_page = opened.value
    room_page.wait_for_load_state()
    assert room_page.url == url
    shot(room_page, "13-daily-room-followed")
    room_page.close()
