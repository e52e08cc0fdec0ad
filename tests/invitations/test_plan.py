"""Which meetings get files: :func:`decide` over rows and a manifest, without Airflow or Daily."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daily_dialin.invitations.content import InviteContent
from daily_dialin.invitations.manifest import Manifest, ManifestEntry
from daily_dialin.invitations.plan import ROOM_NOT_UPDATED, decide
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.rows import MeetingRow
from tests.invitations.helpers import START, meeting_row, row, settings

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())


def published(meeting_id: str = "M1", *, state: str = "active", sequence: int = 0, host_file: bool = True, **changes):
    invite = InviteContent.from_row(meeting_row(meeting_id, **changes), settings=settings())
    return ManifestEntry(
        room_name=invite.room_name,
        state=state,
        fingerprint=invite.fingerprint(settings()),
        sequence=sequence,
        stamp=STAMP - 3600,
        title=invite.title,
        starts_at=invite.starts_at,
        ends_at=invite.ends_at,
        timezone=invite.timezone,
        room_url=invite.room_url,
        host_file=host_file,
    )


def run(rows, entries=None, *, present=True, **kwargs):
    decisions = decide(
        rows={r["meeting_id"]: MeetingRow.from_record(r, config=ProvisioningConfig()) for r in rows},
        manifest=Manifest(meetings=entries or {}),
        settings=kwargs.pop("settings", settings()),
        config=ProvisioningConfig(),
        now=kwargs.pop("now", NOW),
        files_present=lambda room_name, host: present,
        **kwargs,
    )
    return decisions, {a.group.key: a for a in decisions.actions}


def test_new_meeting_gets_sequence_zero_stamped_now():
    decisions, actions = run([row("M1")])
    assert actions["M1"].kind == "new"
    assert (actions["M1"].sequence, actions["M1"].stamp) == (0, STAMP)
    assert decisions.counts()["new"] == 1


def test_unchanged_meeting_is_left_alone():
    decisions, actions = run([row("M1")], {"M1": published("M1", sequence=2)})
    assert actions == {}
    assert decisions.unchanged == ["M1"]


@pytest.mark.parametrize("how", ["force", "missing"])
def test_rewrite_keeps_sequence_and_stamp(how):
    entry = published("M1", sequence=2)
    _, actions = run([row("M1")], {"M1": entry}, force=how == "force", present=how != "missing")
    assert actions["M1"].kind == "rewritten"
    assert (actions["M1"].sequence, actions["M1"].stamp) == (2, entry.stamp)


def test_moved_meeting_bumps_the_sequence():
    moved = START + timedelta(days=1)
    _, actions = run([row("M1", start=moved)], {"M1": published("M1", sequence=2)})
    assert actions["M1"].kind == "changed"
    assert (actions["M1"].sequence, actions["M1"].stamp) == (3, STAMP)
    assert actions["M1"].invite.starts_at == moved
    assert actions["M1"].previous == published("M1", sequence=2), "what was published travels with the action"


def test_moved_meeting_waits_for_its_room_to_be_updated():
    old = row("M1")
    moved = row("M1", start=START + timedelta(days=1), room_exp=old["room_exp"])
    decisions, actions = run([moved], {"M1": published("M1")})
    assert actions == {}
    assert decisions.waiting == {"M1": ROOM_NOT_UPDATED}


@pytest.mark.parametrize("gone", [False, True])
def test_cancelled_or_deleted_meeting_gets_a_cancellation(gone):
    rows = [] if gone else [row("M1", status="cancelled")]
    _, actions = run(rows, {"M1": published("M1", sequence=1)})
    action = actions["M1"]
    assert (action.kind, action.sequence, action.stamp, action.cancels) == ("cancelled", 2, STAMP, True)
    assert action.previous.room_name == "mtg-M1"


def test_cancellation_is_written_once():
    entries = {"M1": published("M1", state="cancelled", sequence=2)}
    decisions, actions = run([row("M1", status="cancelled")], entries)
    assert actions == {}
    assert decisions.unchanged == ["M1"]
    _, actions = run([row("M1", status="cancelled")], entries, present=False)
    assert (actions["M1"].kind, actions["M1"].sequence, actions["M1"].cancels) == ("rewritten", 2, True)


def test_never_published_cancelled_meeting_gets_nothing():
    decisions, actions = run([row("M1", status="cancelled")])
    assert actions == {}
    assert decisions.counts() == dict.fromkeys(decisions.counts(), 0)


def test_reinstated_meeting():
    _, actions = run([row("M1")], {"M1": published("M1", state="cancelled", sequence=3)})
    assert (actions["M1"].kind, actions["M1"].sequence) == ("reinstated", 4)


def test_not_provisioned_meeting_waits():
    decisions, _ = run([row("M1", dialin_pin=None, room_url=None, room_name=None)])
    assert "not provisioned" in decisions.waiting["M1"]


def test_past_meetings_are_frozen():
    later = START + timedelta(days=2)
    decisions, actions = run([row("M1"), row("M2", status="cancelled")], {"M2": published("M2")}, now=later)
    assert actions == {}
    assert sorted(decisions.past) == ["M1", "M2"]


def test_scope_limits_the_meetings():
    _, actions = run([row("M1"), row("M2")], scope=["M2"])
    assert set(actions) == {"M2"}


def test_host_links_turned_on_later_rewrites_the_missing_host_files():
    entry = published("M1", host_file=False)
    decisions = decide(
        rows={"M1": meeting_row("M1")},
        manifest=Manifest(meetings={"M1": entry}),
        settings=settings(host_links=True),
        config=ProvisioningConfig(),
        now=NOW,
        files_present=lambda room_name, host: not host,
    )
    assert [(a.kind, a.sequence) for a in decisions.actions] == [("rewritten", 0)]


@pytest.mark.parametrize("status", ["Scheduled", " scheduled ", "SCHEDULED\t"])
def test_status_is_compared_the_way_provisioning_compares_it(status):
    """The room of a 'Scheduled' row is live (provisioning compares LOWER(TRIM(status))): its
    invite is neither cancelled nor withheld."""
    decisions, actions = run([row("M1", status=status)], {"M1": published("M1")})
    assert actions == {}
    assert decisions.unchanged == ["M1"]
    _, actions = run([row("M1", status=status)])
    assert actions["M1"].kind == "new"


def test_status_case_of_a_cancelled_row_still_cancels():
    _, actions = run([row("M1", status=" Cancelled")], {"M1": published("M1")})
    assert (actions["M1"].kind, actions["M1"].cancels) == ("cancelled", True)


def test_meeting_ids_are_taken_exactly():
    """Provisioning names rooms from the exact id text; invitations must not strip it."""
    _, actions = run([row(" M1 "), row("M1")])
    assert set(actions) == {" M1 ", "M1"}
    assert actions[" M1 "].invite.meeting_id == " M1 "
    assert actions["M1"].invite.meeting_id == "M1"
