"""Recurring meetings: one calendar file per series, parsed back with icalendar and expanded with
recurring-ical-events to exactly the occurrences that have the series' room.

Rows are built as the provisioning DAG writes a series back (one room, one PIN, one exp covering
the last occurrence, each row its own times): the invitations only read rows. Decisions, files
and the manifest go through the real ``decide``, ``_Writer`` and ``InviteStore`` (a local
folder), without Airflow runs; the last tests read the rows from a SQLite meetings table.
"""

from __future__ import annotations

import json
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import recurring_ical_events
from icalendar import Calendar

from daily_dialin.invitations.manifest import Manifest, ManifestEntry
from daily_dialin.invitations.plan import IN_SERIES_ROOM, decide
from daily_dialin.invitations.run import _apply_all, _Writer
from daily_dialin.invitations.series import DUPLICATE_START, ROOM_NOT_COVERED, ROOMS_DISAGREE
from daily_dialin.invitations.store import InviteStore
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import parse_utc, room_exp_for
from daily_dialin.rows import MeetingRow
from tests.invitations.helpers import CA, OWN_NUMBER, PIN, SERIES_ROOM, START, US, WEEK, row, series_rows, settings

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())
NY = "America/New_York"


class FakeMinter:
    """Owner tokens without Daily: deterministic, and every call remembered."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def mint(self, *, room_name: str, exp: int, issued_at: int) -> str:
        self.calls.append({"room_name": room_name, "exp": exp, "issued_at": issued_at})
        return f"tok.{room_name}.{exp}.{issued_at}"


class Harness:
    """Decide and write like one invitations run, the manifest kept (as JSON) between runs."""

    def __init__(self, base: Path, **values) -> None:
        from airflow.sdk import ObjectStoragePath

        self.base = base
        self.store = InviteStore(base=ObjectStoragePath(f"file://{base}"))
        self.settings = settings(**values)
        self.minter = FakeMinter()

    @property
    def manifest(self) -> Manifest:
        return self.store.read_manifest()

    def run(self, rows, *, now=NOW, force=False, scope=None, series_scope=None):
        manifest = self.manifest
        decisions = decide(
            rows={r["meeting_id"]: MeetingRow.from_record(r, config=ProvisioningConfig()) for r in rows},
            manifest=manifest,
            settings=self.settings,
            config=ProvisioningConfig(),
            now=now,
            files_present=self.store.listing().has_files,
            force=force,
            scope=scope,
            series_scope=series_scope,
        )
        writer = _Writer(settings=self.settings, config=ProvisioningConfig(), store=self.store)
        writer._minter = self.minter
        _apply_all(writer, decisions, manifest, [])
        self.store.write_manifest(manifest)
        self.tokens = writer.tokens
        return decisions

    def file(self, folder: str = "attendees", room: str = SERIES_ROOM) -> bytes:
        return (self.base / folder / f"{room}.ics").read_bytes()

    def files(self) -> dict[str, bytes]:
        return {p.relative_to(self.base).as_posix(): p.read_bytes() for p in sorted(self.base.rglob("*.ics"))}


@pytest.fixture
def h(tmp_path) -> Harness:
    return Harness(tmp_path / "invites")


def expand(data: bytes) -> list[tuple[datetime, datetime]]:
    """Every occurrence the file's calendar holds, as a calendar client computes them."""
    calendar = Calendar.from_ical(data)
    events = recurring_ical_events.of(calendar).between(datetime(2020, 1, 1), datetime(2035, 1, 1))
    return sorted((e.start.astimezone(UTC), e.end.astimezone(UTC)) for e in events)


def times(rows) -> list[tuple[datetime, datetime]]:
    return sorted((parse_utc(r["starts_at"]), parse_utc(r["ends_at"])) for r in rows)


def events(data: bytes) -> tuple[Calendar, object, list]:
    """The calendar, its master event and its overrides (events with a RECURRENCE-ID)."""
    calendar = Calendar.from_ical(data)
    masters = [e for e in calendar.events if "RECURRENCE-ID" not in e]
    assert len(masters) == 1
    return calendar, masters[0], [e for e in calendar.events if "RECURRENCE-ID" in e]


def dates(event, name: str) -> list[datetime]:
    """Every date of an RDATE/EXDATE property (one or more lines), in UTC."""
    values = event.get(name)
    if values is None:
        return []
    lines = values if isinstance(values, list) else [values]
    return sorted(d.dt.astimezone(UTC) for line in lines for d in line.dts)


def start_of(r) -> datetime:
    return parse_utc(r["starts_at"])


def moved(r, start: datetime, **changes) -> dict:
    """The same occurrence at another time (same room, as its series wrote it back)."""
    minutes = int((parse_utc(r["ends_at"]) - start_of(r)).total_seconds() // 60)
    keep = {k: r[k] for k in ("series_id", "room_name", "room_url", "room_exp", "title")}
    return row(r["meeting_id"], start=start, minutes=minutes, **{**keep, **changes})


# -- one file per series -----------------------------------------------------------------------
def test_a_series_is_one_file_that_expands_to_exactly_its_occurrences(h):
    rows = series_rows()
    decisions = h.run(rows)
    assert [(a.group.key, a.kind, a.sequence, a.stamp) for a in decisions.of(series=True)] == [("S1", "new", 0, STAMP)]
    assert decisions.of(series=False) == [], "no one-off invite for an occurrence"
    assert set(h.files()) == {f"attendees/{SERIES_ROOM}.ics", f"hosts/{SERIES_ROOM}.ics"}

    data = h.file()
    calendar, master, overrides = events(data)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert overrides == []
    assert master.start == START and str(master.start.tzinfo) == NY
    assert master.end == START + timedelta(minutes=90)
    assert dates(master, "RDATE") == [start_of(r) for r in rows[1:]]
    assert dates(master, "EXDATE") == []
    assert master.get("RDATE").params["TZID"] == NY, "RDATEs in the meeting's zone, like DTSTART"
    assert (master["SEQUENCE"], str(master["UID"])) == (0, f"{SERIES_ROOM}@acme.daily.co")
    assert str(master["LOCATION"]) == f"https://acme.daily.co/{SERIES_ROOM}"
    description = str(master["DESCRIPTION"])
    assert f"PIN {PIN}" in description
    for number in (OWN_NUMBER, US, CA):
        assert f"tel:{number},,{PIN}" in description
    assert "4 meetings" in description and "Tue 05 Jan 2027, 09:00-10:30 (America/New_York)" in description
    assert {str(c.uri) for c in master.conferences if "PHONE" in str(c.feature)} == {
        f"tel:{n},,{PIN}" for n in (OWN_NUMBER, US, CA)
    }
    assert expand(data) == times(rows)

    host = h.file("hosts")
    _, host_master, _ = events(host)
    assert str(host_master["UID"]) == f"{SERIES_ROOM}-host@acme.daily.co"
    assert str(host_master["URL"]).startswith(f"https://acme.daily.co/{SERIES_ROOM}?t=tok.")
    assert expand(host) == times(rows)
    assert h.minter.calls == [{"room_name": SERIES_ROOM, "exp": rows[0]["room_exp"], "issued_at": STAMP}], (
        "one token per series, expiring with the series' room"
    )

    entry = h.manifest.series["S1"]
    assert (entry.room_name, entry.state, entry.sequence, entry.host_file) == (SERIES_ROOM, "active", 0, True)
    assert set(entry.occurrences) == {r["meeting_id"] for r in rows}
    assert PIN not in h.store.base.joinpath("manifest.json").read_text()


def test_only_provisioned_upcoming_occurrences_the_room_covers_are_shown(h):
    rows = series_rows()
    shared = {k: rows[0][k] for k in ("series_id", "room_name", "room_url", "room_exp")}
    extra = [
        row("S1-new", start=START + 5 * WEEK, series_id="S1", room_name=None, room_url=None, dialin_pin=None),
        row("S1-far", start=START + 6 * WEEK, **shared),  # beyond the room's exp (capped)
        row("S1-off", start=START + 7 * WEEK, status="cancelled", **shared),
        row("S1-old", start=NOW - timedelta(days=3), **shared),
    ]
    decisions = h.run(rows + extra)
    assert expand(h.file()) == times(rows)
    assert "not provisioned" in decisions.waiting["S1-new"]
    assert decisions.waiting["S1-far"] == ROOM_NOT_COVERED
    assert "S1-off" not in decisions.waiting
    assert decisions.past == ["S1-old"]
    assert decisions.counts()["new"] == 1


def test_unchanged_series_is_left_alone_and_an_occurrence_ending_changes_nothing(h):
    rows = series_rows()
    h.run(rows)
    published = h.files()
    decisions = h.run(rows)
    assert decisions.of(series=True) == [] and decisions.unchanged == ["series S1"]
    later = parse_utc(rows[0]["ends_at"]) + timedelta(hours=1)
    decisions = h.run(rows, now=later)
    assert decisions.of(series=True) == [] and decisions.unchanged == ["series S1"]
    assert decisions.past == ["S1-0"]
    assert h.files() == published


def test_a_cancelled_or_deleted_occurrence_becomes_an_exdate_and_can_come_back(h):
    rows = series_rows()
    h.run(rows)
    rows[1]["status"] = "cancelled"
    decisions = h.run(rows)
    assert [(a.kind, a.sequence) for a in decisions.of(series=True)] == [("changed", 1)]
    _, master, _ = events(h.file())
    assert dates(master, "EXDATE") == [start_of(rows[1])]
    assert master["SEQUENCE"] == 1
    assert expand(h.file()) == times([rows[0], rows[2], rows[3]])
    assert h.manifest.series["S1"].occurrences["S1-1"].state == "cancelled"

    gone = rows.pop(2)
    h.run(rows)
    _, master, _ = events(h.file())
    assert dates(master, "EXDATE") == [start_of(rows[1]), start_of(gone)], "earlier EXDATEs stay"
    assert master["SEQUENCE"] == 2
    assert expand(h.file()) == times([rows[0], rows[2]])
    assert expand(h.file("hosts")) == times([rows[0], rows[2]])

    rows[1]["status"] = "Scheduled"
    h.run(rows)
    _, master, _ = events(h.file())
    assert dates(master, "EXDATE") == [start_of(gone)]
    assert master["SEQUENCE"] == 3
    assert expand(h.file()) == times(rows)


def test_a_new_occurrence_is_added_with_a_higher_sequence(h):
    rows = series_rows(count=3)
    h.run(rows)
    longer = series_rows(count=4)  # the provisioning DAG extended the room's exp for the fourth
    decisions = h.run(longer)
    assert [(a.kind, a.sequence) for a in decisions.of(series=True)] == [("changed", 1)]
    assert expand(h.file()) == times(longer)
    assert h.minter.calls[-1]["exp"] == longer[0]["room_exp"], "the new host link expires with the extended room"


def test_a_moved_occurrence_overrides_its_published_start(h):
    rows = series_rows()
    h.run(rows)
    original = start_of(rows[2])
    rows[2] = moved(rows[2], original + timedelta(days=1, hours=2))
    decisions = h.run(rows)
    assert [(a.kind, a.sequence) for a in decisions.of(series=True)] == [("changed", 1)]
    data = h.file()
    _, master, overrides = events(data)
    assert original in dates(master, "RDATE"), "the instance stays in the set"
    assert len(overrides) == 1
    override = overrides[0]
    assert override["RECURRENCE-ID"].dt.astimezone(UTC) == original
    assert override.start == start_of(rows[2]) and override.end == parse_utc(rows[2]["ends_at"])
    assert (override["SEQUENCE"], str(override["UID"])) == (1, str(master["UID"]))
    assert f"PIN {PIN}" in str(override["DESCRIPTION"])
    assert expand(data) == times(rows)

    rows[2] = moved(rows[2], original - timedelta(hours=3))
    h.run(rows)
    _, _, overrides = events(h.file())
    assert [o["RECURRENCE-ID"].dt.astimezone(UTC) for o in overrides] == [original], "moved again: same instance"
    assert overrides[0]["SEQUENCE"] == 2
    assert expand(h.file()) == times(rows)
    assert expand(h.file("hosts")) == times(rows)


def test_the_first_occurrence_moved_keeps_dtstart_at_its_anchor(h):
    rows = series_rows()
    h.run(rows)
    rows[0] = moved(rows[0], START + timedelta(hours=5))
    h.run(rows)
    _, master, overrides = events(h.file())
    assert master.start == START
    assert [o["RECURRENCE-ID"].dt.astimezone(UTC) for o in overrides] == [START]
    assert expand(h.file()) == times(rows)


def test_occurrences_out_of_pattern_get_their_own_event(h):
    rows = series_rows()
    rows[1] = moved(rows[1], start_of(rows[1]), title="Board call")
    rows[1]["ends_at"] = f"{start_of(rows[1]) + timedelta(minutes=120):%Y-%m-%d %H:%M:%S}"  # longer
    rows[3]["title"] = "Board call (offsite)"
    h.run(rows)
    data = h.file()
    _, master, overrides = events(data)
    assert master.end - master.start == timedelta(minutes=90), "the master has the common duration"
    by_id = {o["RECURRENCE-ID"].dt.astimezone(UTC): o for o in overrides}
    assert set(by_id) == {start_of(rows[1]), start_of(rows[3])}, "RECURRENCE-ID: their own start"
    assert by_id[start_of(rows[1])].end - by_id[start_of(rows[1])].start == timedelta(minutes=120)
    assert str(by_id[start_of(rows[3])]["SUMMARY"]) == "Board call (offsite)"
    assert expand(data) == times(rows)


def test_a_moved_occurrence_waits_for_the_room_to_cover_it(h):
    rows = series_rows()
    h.run(rows)
    published = h.files()
    later = moved(rows[3], start_of(rows[3]) + WEEK)  # beyond the room's exp until it is extended
    decisions = h.run([*rows[:3], later])
    assert decisions.of(series=True) == []
    assert decisions.waiting["S1-3"] == ROOM_NOT_COVERED
    assert "S1-3" in decisions.waiting["series S1"]
    assert h.files() == published, "no file shows a time its room does not cover"

    exp = room_exp_for(parse_utc(later["ends_at"]), ProvisioningConfig())
    extended = [{**r, "room_exp": exp} for r in [*rows[:3], later]]
    decisions = h.run(extended)
    assert [(a.kind, a.sequence) for a in decisions.of(series=True)] == [("changed", 1)]
    assert expand(h.file()) == times(extended)


def test_every_occurrence_cancelled_cancels_the_series_once(h):
    rows = series_rows()
    h.run(rows)
    cancelled = [{**r, "status": "cancelled"} for r in rows]
    decisions = h.run(cancelled)
    assert [(a.kind, a.sequence, a.cancels) for a in decisions.of(series=True)] == [("cancelled", 1, True)]
    for folder, uid in (("attendees", SERIES_ROOM), ("hosts", f"{SERIES_ROOM}-host")):
        calendar = Calendar.from_ical(h.file(folder))
        (event,) = calendar.events
        assert str(calendar["METHOD"]) == "CANCEL"
        assert (str(event["STATUS"]), event["SEQUENCE"], str(event["UID"])) == ("CANCELLED", 1, f"{uid}@acme.daily.co")
        assert "RECURRENCE-ID" not in event, "the whole series"
        assert event.start == START
        text = h.file(folder).decode().replace("\r\n ", "")
        assert PIN not in text and "t=" not in text
    assert h.manifest.series["S1"].state == "cancelled"

    published = h.files()
    for again in (cancelled, []):  # cancelled, then deleted from the table
        decisions = h.run(again)
        assert decisions.of(series=True) == [] and decisions.unchanged == ["series S1"]
    assert h.files() == published

    decisions = h.run(rows)
    assert [(a.kind, a.sequence) for a in decisions.of(series=True)] == [("reinstated", 2)]
    assert str(Calendar.from_ical(h.file())["METHOD"]) == "PUBLISH"
    assert expand(h.file()) == times(rows)


def test_a_published_series_that_ended_is_frozen(h):
    rows = series_rows()
    h.run(rows)
    after = parse_utc(rows[-1]["ends_at"]) + timedelta(hours=1)
    decisions = h.run([], now=after)
    assert decisions.of(series=True) == [] and decisions.past == ["series S1"]


@pytest.mark.parametrize("how", ["force", "missing"])
def test_a_rewrite_gives_back_the_published_bytes(h, how):
    rows = series_rows()
    rows[2] = moved(rows[2], start_of(rows[2]) + timedelta(hours=1))
    h.run(rows)
    published = h.files()
    if how == "missing":
        (h.base / "hosts" / f"{SERIES_ROOM}.ics").unlink()
    later = parse_utc(rows[0]["ends_at"]) + timedelta(hours=1)  # the first occurrence has ended since
    decisions = h.run(rows, now=later, force=how == "force")
    assert [(a.kind, a.sequence, a.stamp) for a in decisions.of(series=True)] == [("rewritten", 0, STAMP)]
    assert h.files() == published


def test_rows_that_disagree_on_the_room_hold_the_series(h):
    rows = series_rows()
    rows[1]["dialin_pin"] = "99999999999"
    decisions = h.run(rows)
    assert decisions.of(series=True) == []
    assert decisions.waiting["series S1"] == ROOMS_DISAGREE
    assert PIN not in json.dumps(decisions.waiting) and "99999999999" not in json.dumps(decisions.waiting)


def test_two_occurrences_at_the_same_time_show_once(h):
    rows = series_rows(count=2)
    twin = {**rows[1], "meeting_id": "S1-twin"}
    decisions = h.run([*rows, twin])
    assert decisions.waiting == {"S1-twin": DUPLICATE_START}
    assert expand(h.file()) == times(rows)


def test_stored_host_tokens_go_to_every_occurrence_and_are_cleared_when_cancelled(tmp_path):
    h = Harness(tmp_path / "invites", store_host_tokens=True)
    rows = series_rows()
    h.run(rows)
    token = f"tok.{SERIES_ROOM}.{rows[0]['room_exp']}.{STAMP}"
    assert h.tokens == {r["meeting_id"]: token for r in rows}
    rows[1]["status"] = "cancelled"
    h.run(rows)
    assert h.tokens["S1-1"] is None and h.tokens["S1-0"] == token
    h.run([{**r, "status": "cancelled"} for r in rows])
    assert h.tokens == dict.fromkeys((r["meeting_id"] for r in rows), None)


# -- one-offs and series side by side ------------------------------------------------------------
def test_a_meeting_joining_a_series_gets_its_own_invite_cancelled(h):
    h.run([row("S1-0")])
    assert (h.base / "attendees" / "mtg-S1-0.ics").exists()
    rows = series_rows()
    decisions = h.run(rows)
    assert [(a.group.key, a.kind) for a in decisions.of(series=False)] == [("S1-0", "cancelled")]
    assert [a.kind for a in decisions.of(series=True)] == ["new"]
    assert str(Calendar.from_ical(h.file(room="mtg-S1-0"))["METHOD"]) == "CANCEL"
    assert expand(h.file()) == times(rows)

    left = {**rows[1], "series_id": None}  # left the series; its row still names the series' room
    decisions = h.run([rows[0], left, *rows[2:]])
    assert decisions.waiting["S1-1"] == IN_SERIES_ROOM
    assert [a.kind for a in decisions.of(series=True)] == ["changed"]
    _, master, _ = events(h.file())
    assert dates(master, "EXDATE") == [start_of(rows[1])]

    own = row("S1-1", start=start_of(rows[1]))  # re-provisioned: a room of its own
    decisions = h.run([rows[0], own, *rows[2:]])
    assert [(a.group.key, a.kind) for a in decisions.of(series=False)] == [("S1-1", "new")]


def test_a_new_pin_reinvites_a_one_off_and_a_series_by_the_same_rule(h):
    """One decision path for both kinds: a PIN written back by reconcile (the room re-created)
    makes both files ``changed`` with the next SEQUENCE; cancelled and scheduled again with a new
    room (its PIN new too), both are ``reinstated``. Only the rendering differs."""
    new_pin = "98765432101"

    def with_pin(rows, pin):
        return [{**r, "dialin_pin": pin, "dial_string": f"tel:{OWN_NUMBER},,{pin}"} for r in rows]

    one_off, series = [row("M1", start=START - timedelta(hours=3))], series_rows()
    h.run([*one_off, *series])
    decisions = h.run(with_pin([*one_off, *series], new_pin))
    assert [(a.group.label, a.kind, a.sequence) for a in decisions.actions] == [
        ("M1", "changed", 1),
        ("series S1", "changed", 1),
    ]
    for room in ("mtg-M1", SERIES_ROOM):
        assert new_pin in h.file(room=room).decode() and PIN not in h.file(room=room).decode()

    h.run([{**r, "status": "cancelled"} for r in with_pin([*one_off, *series], new_pin)])
    decisions = h.run([*one_off, *series])  # scheduled again, in new rooms: another PIN
    assert [(a.group.label, a.kind, a.sequence) for a in decisions.actions] == [
        ("M1", "reinstated", 3),
        ("series S1", "reinstated", 3),
    ]


def test_one_offs_beside_a_series_are_unchanged(h):
    one_offs = [row("M1"), row("M2", start=START + timedelta(hours=3))]
    h.run(one_offs)
    published = h.files()
    decisions = h.run([*one_offs, *series_rows()])
    assert decisions.of(series=False) == [] and sorted(decisions.unchanged) == ["M1", "M2"]
    assert [a.kind for a in decisions.of(series=True)] == ["new"]
    assert {k: v for k, v in h.files().items() if SERIES_ROOM not in k} == published


@pytest.mark.parametrize("value", ["absent", None])
def test_rows_without_a_series_are_one_offs(h, value):
    rows = [row("M1"), row("M2", start=START + timedelta(hours=3))]
    if value != "absent":
        rows = [{**r, "series_id": value} for r in rows]
    decisions = h.run(rows)
    assert sorted((a.group.key, a.kind) for a in decisions.of(series=False)) == [("M1", "new"), ("M2", "new")]
    assert decisions.of(series=True) == []
    assert "series" not in json.loads(h.store.base.joinpath("manifest.json").read_text())


@pytest.mark.parametrize("value", ["", "  ", b"S1"])
def test_a_series_id_naming_no_series_waits_like_provisioning_reports_it(h, value):
    """The one series rule (``MeetingRow.series_key``): a blank or non-text ``series_id`` is a
    problem row - provisioning reports it and never selects it, so it is no one-off here either.
    Before, the invitations read ``""``/``"  "`` as a one-off (and ``b"S1"`` as series ``"b'S1'"``)
    and published an invite for a row provisioning refuses to serve."""
    rows = [{**row("M1"), "series_id": value}, row("M2", start=START + timedelta(hours=3))]
    decisions = h.run(rows)
    assert [(a.group.key, a.kind) for a in decisions.actions] == [("M2", "new")]
    assert decisions.waiting["M1"].startswith("series_id ")
    assert not (h.base / "attendees" / "mtg-M1.ics").exists()


def test_a_scope_decides_the_whole_series_of_its_meetings(h):
    rows = series_rows()
    decisions = h.run([*rows, row("M1")], scope=["S1-2"])
    assert decisions.of(series=False) == []
    assert [a.group.key for a in decisions.of(series=True)] == ["S1"]
    assert expand(h.file()) == times(rows)
    rows[1]["status"] = "cancelled"
    decisions = h.run(rows, scope=[], series_scope=["S1"])
    assert [(a.kind, a.sequence) for a in decisions.of(series=True)] == [("changed", 1)]


# -- the manifest ---------------------------------------------------------------------------------
def test_a_manifest_from_before_series_loads_and_keeps_its_bytes(h):
    entry = ManifestEntry(
        room_name="mtg-M1",
        state="active",
        fingerprint="abc",
        sequence=0,
        stamp=STAMP,
        title="Board call",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        timezone=NY,
        room_url="https://acme.daily.co/mtg-M1",
    )
    old = json.dumps({"version": 1, "meetings": {"M1": entry.model_dump(mode="json")}}, sort_keys=True, indent=1)
    manifest = Manifest.from_bytes((old + "\n").encode())
    assert manifest.series == {} and manifest.meetings["M1"] == entry
    assert manifest.to_bytes() == (old + "\n").encode(), "no series: the same bytes as before"

    h.run(series_rows())
    data = h.store.base.joinpath("manifest.json").read_bytes()
    again = Manifest.from_bytes(data)
    assert again.to_bytes() == data
    assert again.series_by_meeting() == {f"S1-{n}": "S1" for n in range(4)}


# -- from a meetings table ------------------------------------------------------------------------
def _insert(table, rows) -> None:
    columns = sorted({c for r in rows for c in r})
    names = ", ".join(table.cols.get(c, c) for c in columns)
    sql = f"INSERT INTO {table.table} ({names}) VALUES ({', '.join([table.ph] * len(columns))})"
    with closing(table.hook.get_conn()) as conn:
        conn.cursor().executemany(sql, [tuple(r.get(c) for c in columns) for r in rows])
        conn.commit()


def _table_columns(table) -> set[str]:
    with closing(table.hook.get_conn()) as conn:
        return {r[1] for r in conn.cursor().execute("PRAGMA table_info(daily_meetings)")}


def _ddl(table, *statements: str) -> None:
    with closing(table.hook.get_conn()) as conn:
        for statement in statements:
            conn.cursor().execute(statement)
        conn.commit()


def _run_invitations(invites_dir: Path) -> tuple[Any, Any]:
    from daily_dialin.invitations import run

    plan_result = run.plan(
        params={"meeting_ids": [], "force": False}, settings_overrides={"host_links": False}, now=NOW
    )
    json.dumps(plan_result.to_xcom())  # what XCom carries
    return plan_result, run.write(plan_result=plan_result, now=NOW)


def test_series_read_from_a_meetings_table(sqlite_meetings_db, invites_dir):
    table = sqlite_meetings_db
    if "series_id" not in _table_columns(table):  # a schema from before series
        _ddl(table, "ALTER TABLE daily_meetings ADD COLUMN series_id TEXT")
    rows = series_rows()
    _insert(table, [*rows, row("M1")])
    plan_result, written = _run_invitations(invites_dir)
    assert (plan_result.meeting_ids, plan_result.series_ids) == (["M1"], ["S1"])
    assert PIN not in json.dumps(plan_result.to_xcom()) and PIN not in json.dumps(written.to_xcom())
    assert written.counts["new"] == 2
    assert expand((invites_dir / "attendees" / f"{SERIES_ROOM}.ics").read_bytes()) == times(rows)
    assert (invites_dir / "attendees" / "mtg-M1.ics").exists()

    plan_result, written = _run_invitations(invites_dir)
    assert (plan_result.meeting_ids, plan_result.series_ids, written.files_written) == ([], [], 0)


def test_a_table_without_the_series_column_has_one_offs_only(sqlite_meetings_db, invites_dir):
    table = sqlite_meetings_db
    if "series_id" in _table_columns(table):
        _ddl(
            table, "DROP INDEX IF EXISTS daily_meetings_series_key", "ALTER TABLE daily_meetings DROP COLUMN series_id"
        )
    _insert(table, [row("M1"), row("M2", start=START + timedelta(hours=3))])
    plan_result, written = _run_invitations(invites_dir)
    assert (sorted(plan_result.meeting_ids), plan_result.series_ids) == (["M1", "M2"], [])
    assert written.counts["new"] == 2
