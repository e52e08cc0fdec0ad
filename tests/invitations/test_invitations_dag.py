"""``daily_dialin_invitations`` end to end with ``dag.test()``: the provisioning DAG makes the rooms on
the emulator, the invitations DAG writes the files, and the emulator checks the host tokens."""

from __future__ import annotations

import json
import re
from contextlib import closing
from datetime import UTC, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from daily_demo.sample import insert_meetings, sample_meetings
from daily_dialin.provisioning.meetings import parse_utc
from tests.invitations.conftest import invite, provision
from tests.invitations.helpers import CA, US, parse
from tests.support.daily import PIN_NUMBER, TEST_KEY

TOKEN = re.compile(r"[?&]t=([A-Za-z0-9_.-]+)")


def rows(table) -> dict[str, dict]:
    """Every row's stored values (logical column names) by exact meeting id."""
    return {row.meeting_id: dict(row.values) for row in table.read_all()}


def invited(table) -> dict[str, dict]:
    return {mid: r for mid, r in rows(table).items() if r["status"] == "scheduled" and r["room_name"]}


def snapshot(base: Path) -> dict[str, bytes]:
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def attendee(base: Path, row: dict) -> tuple:
    return parse((base / "attendees" / f"{row['room_name']}.ics").read_bytes())


def host(base: Path, row: dict) -> tuple:
    return parse((base / "hosts" / f"{row['room_name']}.ics").read_bytes())


def host_token(event) -> str:
    return parse_qs(urlsplit(str(event["URL"])).query)["t"][0]


def set_columns(table, meeting_id: str, **values) -> None:
    assignments = ", ".join(f"{column} = {table.ph}" for column in values)
    with closing(table.hook.get_conn()) as conn:
        conn.cursor().execute(
            f"UPDATE daily_meetings SET {assignments} WHERE meeting_id = {table.ph}", (*values.values(), meeting_id)
        )
        conn.commit()


def stored_values(dag_id: str) -> str:
    """Everything the runs of ``dag_id`` left in XCom and in rendered template fields."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        xcoms = [x.value for x in session.query(XComModel).filter(XComModel.dag_id == dag_id)]
        rendered = [
            r.rendered_fields
            for r in session.query(RenderedTaskInstanceFields).filter(RenderedTaskInstanceFields.dag_id == dag_id)
        ]
    assert xcoms and rendered
    return repr(xcoms) + repr(rendered)


@pytest.fixture
def seeded(meetings_db, provisioning_dag, daily_conn):
    meetings = sample_meetings(count=8, pin_number=PIN_NUMBER)
    insert_meetings(meetings_db, meetings)
    assert provision(provisioning_dag).state == "success"
    return meetings_db, meetings


def test_files_parse_back_with_times_numbers_pin_and_a_valid_owner_token(
    invitations_dag, seeded, invites_dir, hook, daily_conn, capfd, caplog
):
    table, meetings = seeded
    assert invite(invitations_dag).state == "success"

    expected = invited(table)
    assert len(expected) == len([m for m in meetings if m["status"] == "scheduled"]) == 7
    files = snapshot(invites_dir)
    assert set(files) == {"manifest.json"} | {
        f"{folder}/{r['room_name']}.ics" for r in expected.values() for folder in ("attendees", "hosts")
    }, "one attendee and one host file per scheduled meeting, none for the cancelled one"

    rooms = {r["name"]: r for r in daily_conn.admin.snapshot()["rooms"]}
    tokens = []
    for row in expected.values():
        pin = row["dialin_pin"].strip()
        calendar, event = attendee(invites_dir, row)
        assert str(calendar["METHOD"]) == "PUBLISH"
        assert str(event["SUMMARY"]) == row["title"]
        assert event.start == parse_utc(row["starts_at"]) and event.end == parse_utc(row["ends_at"])
        assert str(event.start.tzinfo) == row["timezone"], "times are written in the meeting's own zone"
        assert event.start.utcoffset() == parse_utc(row["starts_at"]).astimezone(event.start.tzinfo).utcoffset()
        assert str(event["LOCATION"]) == row["room_url"]
        assert event["SEQUENCE"] == 0
        description = str(event["DESCRIPTION"])
        assert pin in description
        for number in {row["dialin_number"], US, CA}:
            assert f"tel:{number},,{pin}" in description
            assert any(str(c.uri) == f"tel:{number},,{pin}" for c in event.conferences)
        assert "t=" not in files[f"attendees/{row['room_name']}.ics"].decode().replace("\r\n ", "")

        _, host_event = host(invites_dir, row)
        assert host_event.start == event.start
        assert pin in str(host_event["DESCRIPTION"])
        token = host_token(host_event)
        assert token in str(host_event["DESCRIPTION"])
        props = hook.validate_meeting_token(token)
        assert props.room_name == row["room_name"]
        assert props.is_owner is True
        assert props.eject_at_token_exp is True
        assert props.exp == row["room_exp"] == rooms[row["room_name"]]["config"]["exp"], "expires with the room"
        tokens.append(token)
    assert daily_conn.admin.counters()["requests"].get("POST /meeting-tokens", 0) == 0, "self-signed: no API call"

    output = caplog.text + "".join(capfd.readouterr())
    stored = stored_values(invitations_dag.dag_id)
    assert "mtg-M1000.ics" in output, "the run reports its files"
    for secret in [TEST_KEY, *tokens, *(r["dialin_pin"].strip() for r in expected.values())]:
        assert secret not in output, "no PIN, token or key in the task logs"
        assert secret not in stored, "no PIN, token or key in XCom or rendered fields"
    manifest = files["manifest.json"].decode()
    for secret in tokens:
        assert secret not in manifest


def test_rerun_is_idempotent(invitations_dag, provisioned, invites_dir):
    assert invite(invitations_dag).state == "success"
    first = snapshot(invites_dir)
    mtimes = {p: p.stat().st_mtime_ns for p in invites_dir.rglob("*.ics")}

    run = invite(invitations_dag)
    assert run.state == "success"
    assert snapshot(invites_dir) == first
    assert {p: p.stat().st_mtime_ns for p in invites_dir.rglob("*.ics")} == mtimes, "nothing rewritten"
    write = next(ti for ti in run.get_task_instances() if ti.task_id == "write")
    assert write.xcom_pull(task_ids="write")["counts"]["unchanged"] == 7

    assert invite(invitations_dag, force=True).state == "success"
    assert snapshot(invites_dir) == first, "forced: every file rewritten to the same bytes"

    (invites_dir / "hosts" / "mtg-M1002.ics").unlink()
    assert invite(invitations_dag).state == "success"
    assert snapshot(invites_dir) == first, "a deleted file comes back identical"


def test_moved_meeting_gets_its_files_updated_with_a_higher_sequence(
    invitations_dag, provisioning_dag, provisioned, invites_dir, hook
):
    table, meetings = provisioned
    assert invite(invitations_dag).state == "success"
    before = snapshot(invites_dir)
    moved = next(m for m in meetings if m["meeting_id"] == "M1000")
    starts, ends = moved["starts_at"] + timedelta(days=1, hours=2), moved["ends_at"] + timedelta(days=1, hours=3)
    set_columns(table, "M1000", starts_at=table.ts(starts), ends_at=table.ts(ends))

    # the room still has the old exp: no invite with a token that would expire too early
    assert invite(invitations_dag).state == "success"
    assert snapshot(invites_dir) == before

    assert provision(provisioning_dag).state == "success"
    assert invite(invitations_dag).state == "success"
    after = snapshot(invites_dir)
    row = rows(table)["M1000"]
    _, event = attendee(invites_dir, row)
    assert event["SEQUENCE"] == 1
    assert (event.start, event.end) == (starts.astimezone(UTC), ends.astimezone(UTC))
    assert str(event.start.tzinfo) == moved["timezone"]
    _, host_event = host(invites_dir, row)
    assert host_event["SEQUENCE"] == 1
    props = hook.validate_meeting_token(host_token(host_event))
    assert props.exp == row["room_exp"] == int((ends + timedelta(minutes=60)).timestamp())
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"attendees/mtg-M1000.ics", "hosts/mtg-M1000.ics", "manifest.json"}
    manifest = json.loads(after["manifest.json"])["meetings"]["M1000"]
    assert (manifest["sequence"], manifest["state"]) == (1, "active")


def test_cancelled_meeting_gets_a_cancel_file(invitations_dag, provisioned, invites_dir):
    table, _ = provisioned
    assert invite(invitations_dag).state == "success"
    row = rows(table)["M1001"]
    pin = row["dialin_pin"].strip()
    _, published = attendee(invites_dir, row)
    set_columns(table, "M1001", status="cancelled")

    assert invite(invitations_dag).state == "success"
    for calendar, event in (attendee(invites_dir, row), host(invites_dir, row)):
        assert str(calendar["METHOD"]) == "CANCEL"
        assert str(event["STATUS"]) == "CANCELLED"
        assert event["SEQUENCE"] == 1
        assert event.start == published.start
    assert str(attendee(invites_dir, row)[1]["UID"]) == str(published["UID"])
    for folder in ("attendees", "hosts"):
        text = (invites_dir / folder / "mtg-M1001.ics").read_text()
        assert pin not in text and "t=" not in text.replace("\r\n ", "")

    cancelled = snapshot(invites_dir)
    assert invite(invitations_dag).state == "success"
    assert snapshot(invites_dir) == cancelled, "the cancellation is written once"

    set_columns(table, "M1001", status="scheduled")
    assert invite(invitations_dag).state == "success"
    calendar, event = attendee(invites_dir, row)
    assert (str(calendar["METHOD"]), str(event["STATUS"]), event["SEQUENCE"]) == ("PUBLISH", "CONFIRMED", 2)


def test_api_minted_tokens(invitations_dag, provisioned, invites_dir, hook, daily_conn, monkeypatch):
    table, _ = provisioned
    monkeypatch.setenv(
        "AIRFLOW_VAR_DAILY_INVITATIONS", json.dumps({"base_path": str(invites_dir), "token_method": "api"})
    )
    assert invite(invitations_dag).state == "success"
    expected = invited(table)
    assert daily_conn.admin.counters()["requests"]["POST /meeting-tokens"] == len(expected)
    for row in expected.values():
        props = hook.validate_meeting_token(host_token(host(invites_dir, row)[1]))
        assert (props.room_name, props.is_owner, props.exp) == (row["room_name"], True, row["room_exp"])


def test_without_host_links_and_on_another_storage(invitations_dag, provisioned, daily_conn, monkeypatch):
    """``memory://`` stands in for a bucket: the base is any ``ObjectStoragePath``."""
    from airflow.sdk import ObjectStoragePath

    table, _ = provisioned
    base = "memory://invitations-test/daily"
    monkeypatch.setenv("AIRFLOW_VAR_DAILY_INVITATIONS", json.dumps({"base_path": base, "host_links": False}))
    assert invite(invitations_dag).state == "success"
    root = ObjectStoragePath(base)
    names = sorted(p.name for p in (root / "attendees").iterdir())
    assert names == sorted(f"{r['room_name']}.ics" for r in invited(table).values())
    assert not (root / "hosts").exists()
    requests = daily_conn.admin.counters()["requests"]
    assert "GET /" not in requests and "POST /meeting-tokens" not in requests
    root.rmdir(recursive=True)


def test_the_dag_runs_on_the_meetings_asset(invitations_dag, provisioning_dag, sqlite_meetings_db, daily_conn):
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    assert [asset.name for asset in invitations_dag.timetable.asset_condition.objects] == ["daily_dialin_meetings"]
    assert {asset.name for asset in provisioning_dag.get_task("summarize").outlets} == {"daily_dialin_meetings"}
    assert invitations_dag.max_active_runs == 1

    assert invite(invitations_dag).state == "success"  # registers the DAG and its schedule
    with create_session() as session:  # new DAGs start paused, and paused DAGs are not queued
        session.query(DagModel).filter(DagModel.dag_id == invitations_dag.dag_id).update({"is_paused": False})
    try:
        insert_meetings(sqlite_meetings_db, sample_meetings(count=2))
        assert provision(provisioning_dag).state == "success"
        with create_session() as session:
            queued = (
                session.query(AssetDagRunQueue)
                .join(AssetModel, AssetDagRunQueue.asset_id == AssetModel.id)
                .filter(AssetModel.name == "daily_dialin_meetings")
                .all()
            )
            assert "daily_dialin_invitations" in {q.target_dag_id for q in queued}
    finally:
        with create_session() as session:
            session.query(DagModel).filter(DagModel.dag_id == invitations_dag.dag_id).update({"is_paused": True})
            session.query(AssetDagRunQueue).filter(AssetDagRunQueue.target_dag_id == invitations_dag.dag_id).delete()


def test_host_files_still_get_cancelled_after_host_links_were_turned_off(
    invitations_dag, provisioning_dag, provisioned, invites_dir, monkeypatch
):
    table, _ = provisioned
    assert invite(invitations_dag).state == "success"
    monkeypatch.setenv(
        "AIRFLOW_VAR_DAILY_INVITATIONS", json.dumps({"base_path": str(invites_dir), "host_links": False})
    )
    row = rows(table)["M1003"]
    set_columns(table, "M1003", title="Renamed")
    assert provision(provisioning_dag).state == "success"
    assert invite(invitations_dag).state == "success"
    assert str(attendee(invites_dir, row)[1]["SUMMARY"]) == "Renamed"
    assert str(host(invites_dir, row)[1]["SUMMARY"]) == f"{row['title']} (host)", "host files are left as they are"

    set_columns(table, "M1003", status="cancelled")
    assert invite(invitations_dag).state == "success"
    calendar, event = host(invites_dir, row)
    assert (str(calendar["METHOD"]), str(event["STATUS"]), event["SEQUENCE"]) == ("CANCEL", "CANCELLED", 2)


# -- host tokens in the table: only when turned on ----------------------------------------------
def add_token_column(table) -> None:
    with closing(table.hook.get_conn()) as conn:
        conn.cursor().execute("ALTER TABLE daily_meetings ADD COLUMN host_token TEXT")
        conn.commit()


def stored_tokens(table) -> dict[str, str | None]:
    return {mid: token for mid, token in table.hook.get_records("SELECT meeting_id, host_token FROM daily_meetings")}


def test_host_tokens_stay_out_of_the_table_by_default(invitations_dag, provisioned, invites_dir):
    table, _ = provisioned
    add_token_column(table)
    assert invite(invitations_dag).state == "success"
    assert any((invites_dir / "hosts").iterdir()), "host files were written"
    assert set(stored_tokens(table).values()) == {None}


def test_host_tokens_stored_when_turned_on_and_cleared_on_cancel(
    invitations_dag, provisioned, invites_dir, hook, monkeypatch, capfd, caplog
):
    table, _ = provisioned
    add_token_column(table)
    monkeypatch.setenv(
        "AIRFLOW_VAR_DAILY_INVITATIONS", json.dumps({"base_path": str(invites_dir), "store_host_tokens": True})
    )
    assert invite(invitations_dag).state == "success"
    expected = invited(table)
    tokens = stored_tokens(table)
    for mid, row in expected.items():
        assert tokens[mid] == host_token(host(invites_dir, row)[1]), "the table holds the host file's token"
        props = hook.validate_meeting_token(tokens[mid])
        assert (props.room_name, props.is_owner, props.exp) == (row["room_name"], True, row["room_exp"])
    assert {mid for mid, token in tokens.items() if token} == set(expected)

    set_columns(table, "M1001", status="cancelled")
    assert invite(invitations_dag).state == "success"
    after = stored_tokens(table)
    assert after["M1001"] is None, "a cancelled meeting's token is cleared"
    assert {mid: t for mid, t in after.items() if mid != "M1001"} == {
        mid: t for mid, t in tokens.items() if mid != "M1001"
    }
    logged = capfd.readouterr().out + caplog.text + stored_values("daily_dialin_invitations")
    assert not [t for t in tokens.values() if t and t in logged], "no token in logs, XCom or rendered fields"


def test_storing_host_tokens_without_the_column_fails_before_writing(
    invitations_dag, provisioned, invites_dir, monkeypatch, caplog, capfd
):
    monkeypatch.setenv(
        "AIRFLOW_VAR_DAILY_INVITATIONS", json.dumps({"base_path": str(invites_dir), "store_host_tokens": True})
    )
    assert invite(invitations_dag).state == "failed"
    output = caplog.text + "".join(capfd.readouterr())
    assert "has no column 'host_token'" in output
    assert "ALTER TABLE daily_meetings ADD COLUMN host_token TEXT" in output
    assert not (invites_dir / "attendees").exists(), "nothing written"


def test_status_case_and_spaces_are_the_same_status_for_invitations_as_for_rooms(
    invitations_dag, provisioning_dag, provisioned, invites_dir
):
    """Provisioning compares statuses trimmed and case-insensitively; invitations must too: a
    'Scheduled' row keeps its live room, so its invite must not be cancelled."""
    table, _ = provisioned
    assert invite(invitations_dag).state == "success"
    published = snapshot(invites_dir)
    set_columns(table, "M1000", status="Scheduled")
    set_columns(table, "M1002", status=" scheduled ")
    assert provision(provisioning_dag).state == "success"
    assert all(rows(table)[mid].get("dialin_pin") for mid in ("M1000", "M1002")), "their rooms stay live"

    run = invite(invitations_dag)
    assert run.state == "success"
    counts = next(ti for ti in run.get_task_instances() if ti.task_id == "plan").xcom_pull(task_ids="plan")["counts"]
    assert (counts["cancelled"], counts["unchanged"]) == (0, 7)
    assert snapshot(invites_dir) == published, "no CANCEL file, nothing rewritten"


def test_a_meeting_first_scheduled_with_other_case_gets_its_invite(
    invitations_dag, provisioning_dag, sqlite_meetings_db, daily_conn, invites_dir
):
    meetings = sample_meetings(count=3, pin_number=PIN_NUMBER)
    meetings[0]["status"] = " SCHEDULED"
    insert_meetings(sqlite_meetings_db, meetings)
    assert provision(provisioning_dag).state == "success"
    row = rows(sqlite_meetings_db)[meetings[0]["meeting_id"]]
    assert row.get("dialin_pin"), "provisioning gave it a room and a PIN"

    assert invite(invitations_dag).state == "success"
    calendar, _ = attendee(invites_dir, row)
    assert str(calendar["METHOD"]) == "PUBLISH"


def test_control_characters_never_reach_the_room_or_the_invite(
    invitations_dag, provisioning_dag, sqlite_meetings_db, daily_conn, hook, invites_dir
):
    meetings = sample_meetings(count=3, pin_number=PIN_NUMBER)
    meetings[0]["title"] = "Board\x1b[31m call\x07\r\nQ4"
    meetings[0]["dialin_display_name"] = "Bob\x00\x07\x1b[31mRED\r\nX"
    meetings[2]["title"] = "Sales\tsync"  # meetings[1] is the sample's cancelled one
    meetings[2]["dialin_display_name"] = "\x1b[0m\x00\x85 "
    insert_meetings(sqlite_meetings_db, meetings)
    assert provision(provisioning_dag).state == "success"
    assert invite(invitations_dag).state == "success"

    expected = {0: ("BobRED X", "Board call Q4"), 2: ("Sales sync", "Sales sync")}
    for index, (display_name, title) in expected.items():
        row = rows(sqlite_meetings_db)[meetings[index]["meeting_id"]]
        room = hook.get_room(row.get("room_name"))
        assert room.config.dialin.display_name == display_name
        _, event = attendee(invites_dir, row)
        assert str(event["SUMMARY"]) == title
