"""The approval of a mass deletion in the real Airflow UI (headless Chromium, as ``test_ui.py``).

Cancels more meetings than ``max_deletions_without_approval`` allows, opens the waiting
``approve_deletions`` task's "required actions" page - in the approval DAG
``daily_dialin_provisioning_deletions``: the provisioning run never waits -, checks it shows the
count, the share of live rooms, the budget's window total, the reason and the first rooms, takes a
screenshot (``tests/browser/screenshots/``, not
committed: the folder is in ``.gitignore``), approves with the button and sees the rooms deleted.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_ui import browser, page, shot  # noqa: F401 (fixtures)
from tests.cluster.test_deletion_gate import (  # noqa: F401
    APPROVALS,
    _cancel_and_wait,
    _finished,
    _live,
    _provisioned,
    _settings,
    _states,
    gate,
)
from tests.support.cluster import read_meetings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]


def test_the_approval_page_shows_the_deletion_and_approves_it(page: Page, gate) -> None:  # noqa: F811
    cluster, api = gate
    _settings(api, max_deletions_without_approval=2, approval_timeout_minutes=60)
    ids = ["UI-GATE-1", "UI-GATE-2", "UI-GATE-3"]
    _provisioned(cluster, api, ids)
    run_id = _cancel_and_wait(cluster, api, ids)

    page.goto(f"/dags/{APPROVALS}/runs/{run_id}/tasks/approve_deletions/required_actions")
    expect(page.get_by_text("Delete 3 Daily rooms").first).to_be_visible()
    expect(page.get_by_text("deleted without approval in the last 24 hours").first).to_be_visible()
    expect(page.get_by_text("cancelled meetings").first).to_be_visible()
    expect(page.get_by_text("mtg-UI-GATE-1").first).to_be_visible()
    shot(page, "approval-mass-deletion", full_page=True)
    page.get_by_role("button", name="Approve").first.click()

    assert _finished(cluster, api, run_id)["state"] in ("success", "failed")
    states = _states(api, APPROVALS, run_id)
    assert states["delete_approved"] == "success", states
    assert not {f"mtg-{i}" for i in ids} & _live(cluster)
    assert all(read_meetings(cluster)[i]["dialin_pin"] is None for i in ids)
