"""The fold over real events, stored through the real store on SQLite and PostgreSQL: shuffled
orders converge to the same calls and figures; only masked numbers are ever stored; dial-in errors
fail the alert step naming the meeting."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from daily_dialin.calls import process
from daily_dialin.calls.events import mask_number, parse_event, sanitized_payload, scrub_numbers
from tests.calls.helpers import CALLER, OTHER_CALLER, body_of, dialin, event, meeting_ended
from tests.support.engine import insert_rows

FIGURE_COLUMNS = {
    "phone_callers": "INTEGER",
    "phone_minutes": "REAL",
    "first_dialin_at": "TEXT",
    "last_dialin_error": "TEXT",
    "actual_end_at": "TEXT",
}
# a fixed meeting in the past: every time below is relative to it (no clock, no date that passes by)
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def ts(minutes: float) -> float:
    return (START + timedelta(minutes=minutes)).timestamp()


def add_figure_columns(table, only=FIGURE_COLUMNS) -> None:
    with table.engine.begin() as conn:
        for name in only:
            kind = FIGURE_COLUMNS[name]
            if table.engine.dialect.name == "postgresql" and name.endswith("_at"):
                kind = "TIMESTAMPTZ"
            conn.exec_driver_sql(f"ALTER TABLE daily_meetings ADD COLUMN {name} {kind}")


def seed_meetings(table) -> None:
    def row(mid, room, start):
        end = start + timedelta(hours=1)
        fmt = "%Y-%m-%d %H:%M:%S"
        starts, ends = (start, end) if table.engine.dialect.name == "postgresql" else (f"{start:{fmt}}", f"{end:{fmt}}")
        return {
            "meeting_id": mid,
            "title": mid,
            "starts_at": starts,
            "ends_at": ends,
            "timezone": "UTC",
            "status": "scheduled",
            "room_name": room,
        }

    insert_rows(
        table,
        [
            row("M1", "mtg-M1", START),
            row("W1", "mtg_s-weekly", START),
            row("W2", "mtg_s-weekly", START + timedelta(days=7)),
        ],
    )


def the_events() -> list[dict]:
    week = 7 * 24 * 60
    return [
        dialin("dialin.connected", "mtg-M1", "s-1", ts(2)),
        dialin("dialin.stopped", "mtg-M1", "s-1", ts(32)),
        dialin("dialin.connected", "mtg-M1", "s-2", ts(5), caller=OTHER_CALLER),
        dialin("dialin.warning", "mtg-M1", "s-2", ts(6), error_msg=f"jitter on the line of {OTHER_CALLER}"),
        meeting_ended("mtg-M1", ts(0), ts(50)),  # s-2 never stopped: the meeting ended it
        event("participant.joined", {"room": "mtg-M1", "session_id": "p-1", "user_name": "Ann", "joined_at": ts(1)}),
        event("participant.left", {"room": "mtg-M1", "session_id": "p-1", "user_name": "Ann"}, ts=ts(51)),
        # a series room: the call belongs to the occurrence holding it
        dialin("dialin.connected", "mtg_s-weekly", "s-3", ts(week + 10)),
        dialin("dialin.stopped", "mtg_s-weekly", "s-3", ts(week + 20)),
        dialin("dialin.error", "mtg_s-weekly", "s-4", ts(week + 11), error_msg="SIP 503 from carrier"),
    ]


def store_all(store, events) -> None:
    store.ensure_schema()
    for data in events:
        store.insert_event(parse_event(body_of(data)), received_at=datetime.now(UTC))


def figures(table) -> dict[str, dict]:
    names = ", ".join(FIGURE_COLUMNS)
    with table.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT meeting_id, {names} FROM daily_meetings ORDER BY meeting_id")
        return {r[0]: dict(zip(FIGURE_COLUMNS, r[1:], strict=True)) for r in rows}


def normalised(values: dict[str, dict]) -> dict[str, dict]:
    """Figures with times as UTC text, whichever way the database returns them."""
    out = {}
    for mid, row in values.items():
        out[mid] = {
            k: (f"{v.astimezone(UTC):%Y-%m-%d %H:%M:%S}" if isinstance(v, datetime) else v) for k, v in row.items()
        }
        if out[mid]["phone_minutes"] is not None:
            out[mid]["phone_minutes"] = round(float(out[mid]["phone_minutes"]), 2)
    return out


def everything_stored(store, table) -> str:
    with store.engine.connect() as conn:
        parts = [repr(list(conn.execute(sa.select(t)))) for t in (store.events, store.calls)]
        parts.append(repr(list(conn.exec_driver_sql("SELECT * FROM daily_meetings"))))
    return "\n".join(parts)


def test_the_fold_gives_calls_and_figures(calls_db):
    table, store = calls_db
    seed_meetings(table)
    add_figure_columns(table)
    store_all(store, the_events())
    summary = process.fold_events(now=START + timedelta(days=30))
    assert summary["events"] == 10 and summary["pending"] == 0
    calls = {c.session_id: c for c in store.read_calls()}
    assert set(calls) == {"s-1", "s-2", "s-3", "s-4"}
    assert calls["s-1"].meeting_id == "M1" and calls["s-1"].caller == "+1***23"
    assert calls["s-1"].duration_seconds == 30 * 60
    assert calls["s-2"].caller == "+49***20" and calls["s-2"].left_at == START + timedelta(minutes=50)
    assert calls["s-2"].error == "warning: jitter on the line of +49***20"
    assert calls["s-3"].meeting_id == "W2", "the series call belongs to the occurrence holding it"
    assert calls["s-4"].joined_at is None and calls["s-4"].error == "SIP 503 from carrier"
    got = normalised(figures(table))
    assert got["M1"] == {
        "phone_callers": 2,
        "phone_minutes": 75.0,
        "first_dialin_at": "2025-03-03 09:02:00",
        "last_dialin_error": "warning: jitter on the line of +49***20",
        "actual_end_at": "2025-03-03 09:50:00",
    }
    assert got["W2"]["phone_callers"] == 1 and got["W2"]["phone_minutes"] == 10.0
    assert got["W2"]["last_dialin_error"] == "SIP 503 from carrier"
    assert got["W1"]["phone_callers"] is None, "an occurrence without calls is left alone"
    stored = everything_stored(store, table)
    for number in (CALLER, OTHER_CALLER, CALLER[1:], OTHER_CALLER[1:]):
        assert number not in stored
    assert [a["meeting_id"] for a in summary["alerts"]] == ["M1", "W2"]
    assert "+4930901820" not in repr(summary)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_orders_and_replays_converge(calls_db, seed):
    table, store = calls_db
    seed_meetings(table)
    add_figure_columns(table)
    events = the_events()
    store_all(store, events)
    process.fold_events()
    expected_calls, expected = store.read_calls(), normalised(figures(table))
    # the same events again, from scratch, in another order, folded in several runs with replays
    with store.engine.begin() as conn:
        conn.execute(sa.delete(store.events))
        conn.execute(sa.delete(store.calls))
        conn.exec_driver_sql("UPDATE daily_meetings SET " + ", ".join(f"{c} = NULL" for c in FIGURE_COLUMNS))
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    for index, data in enumerate(shuffled):
        store_all(store, [data, shuffled[index // 2]])  # a replay of an earlier one: ignored
        if index % 3 == 0:
            process.fold_events()
    process.fold_events()
    assert store.read_calls() == expected_calls
    assert normalised(figures(table)) == expected


def test_stopped_before_connected_converges(calls_db):
    table, store = calls_db
    seed_meetings(table)
    add_figure_columns(table, ["phone_callers", "phone_minutes"])
    store_all(store, [dialin("dialin.stopped", "mtg-M1", "s-9", ts(12))])
    process.fold_events()
    (call,) = store.read_calls()
    assert call.joined_at is None and call.duration_seconds is None
    assert figures_of(table, "M1") == (0, 0.0)
    store_all(store, [dialin("dialin.connected", "mtg-M1", "s-9", ts(2))])
    process.fold_events()
    (call,) = store.read_calls()
    assert call.duration_seconds == 600
    assert figures_of(table, "M1") == (1, 10.0)


def figures_of(table, meeting_id):
    with table.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT phone_callers, phone_minutes FROM daily_meetings WHERE meeting_id = " + table.ph, (meeting_id,)
        ).one()
    return row[0], float(row[1])


def test_missing_default_columns_are_skipped_and_a_mapped_one_must_exist(calls_db):
    table, store = calls_db
    seed_meetings(table)
    store_all(store, the_events()[:2])
    summary = process.fold_events()  # no figure column at all: the calls table still fills
    assert summary["columns"] == {} and len(store.read_calls()) == 1
    with pytest.raises(Exception, match="no column 'callers'"):
        process.fold_events(settings_overrides={"figure_columns": {"phone_callers": "callers"}})


def test_the_alert_names_the_meeting():
    summary = {"alerts": [{"meeting_id": "M1", "room": "mtg-M1", "kind": "error", "message": "SIP 503"}]}
    with pytest.raises(process.DialinAlert, match=r"meeting M1 \(room mtg-M1\): SIP 503"):
        process.raise_alerts(summary)
    process.raise_alerts({"alerts": []})


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+12095550123", "+1***23"),
        ("+4930901820", "+49***20"),
        ("+35312345678", "+353***78"),
        ("+79161234567", "+7***67"),
        ("sip:+442071234567@sip.example", "+44***67"),
        ("anonymous", "***"),
        ("+123", "***"),
        ("", None),
    ],
)
def test_numbers_are_masked(number, masked):
    assert mask_number(number) == masked


def test_the_payload_keeps_no_number():
    clean = sanitized_payload(
        {
            "sip_from": CALLER,
            "display_name": "+1 (209) 555-0123",
            "user_name": "Ann",
            "sip_headers": {"x": CALLER},
            "error_msg": f"call from {CALLER} failed at 12:30",
        }
    )
    assert clean == {
        "sip_from": "+1***23",
        "display_name": "+1***23",
        "user_name": "Ann",
        "error_msg": "call from +1***23 failed at 12:30",
    }
    assert scrub_numbers("room 12 seat 345") == "room 12 seat 345"
