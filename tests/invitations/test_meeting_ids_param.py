"""One ``meeting_ids`` Param and one parser for the provisioning and invitations DAGs (issue 22).

The rule: an id is taken exactly as given (``" M1 "`` is not ``"M1"``: rooms are named from the
exact text); a blank one (empty or whitespace only) names no row (the table reports such rows as
problem rows, never provisioned) and is dropped; a list of blanks only is an error, not "every
meeting"; a string is a comma/whitespace separated list (``-c '{"meeting_ids": "M1, M2"}'``)."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime

import pytest
from airflow.sdk.exceptions import ParamValidationError

from daily_dialin.errors import InvalidRunParams
from daily_dialin.meeting_ids import meeting_ids_param, parse_meeting_ids
from tests.invitations.helpers import row

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        (None, ()),
        ([], ()),
        ("", ()),
        (["M1", " M1 ", "M1", "M2"], ("M1", " M1 ", "M2")),
        (["M1", "", "  ", "\t"], ("M1",)),
        ("M1, M2 M1", ("M1", "M2")),
        ([7, "M1"], ("7", "M1")),
    ],
)
def test_one_parser(raw, ids):
    assert parse_meeting_ids(raw) == ids


@pytest.mark.parametrize("raw", [[""], [" ", "\t"], " , "])
def test_blanks_only_are_an_error_not_every_meeting(raw):
    with pytest.raises(InvalidRunParams, match="blank"):
        parse_meeting_ids(raw)


def test_both_forms_hold_the_one_param():
    from daily_dialin.invitations.params import INVITATION_PARAMS
    from daily_dialin.provisioning.params import PROVISIONING_PARAMS

    schemas = [form["meeting_ids"].schema for form in (PROVISIONING_PARAMS, INVITATION_PARAMS)]
    assert schemas[0] == schemas[1] == meeting_ids_param("x").schema
    param = meeting_ids_param("Only these.")
    param.resolve(None)
    param.resolve(["M1", " M2"])
    for blank in ([""], [" "]):
        with pytest.raises(ParamValidationError):
            meeting_ids_param("x").resolve(blank)


def test_provisioning_reads_ids_with_the_parser():
    from daily_dialin.provisioning.window import resolve_window

    def ids(raw):
        window = resolve_window(
            params={"meeting_ids": raw}, run_type="manual", logical_date=None, now=NOW, horizon_days=30, lead_days=30
        )
        return window.selection.meeting_ids

    assert ids(["M1", " ", "M1"]) == ("M1",)
    with pytest.raises(InvalidRunParams):
        ids([" "])


def _insert(table, rows) -> None:
    columns = sorted({c for r in rows for c in r})
    names = ", ".join(table.cols.get(c, c) for c in columns)
    sql = f"INSERT INTO {table.table} ({names}) VALUES ({', '.join([table.ph] * len(columns))})"
    with closing(table.hook.get_conn()) as conn:
        conn.cursor().executemany(sql, [tuple(r.get(c) for c in columns) for r in rows])
        conn.commit()


def test_invitations_read_ids_with_the_same_parser(sqlite_meetings_db, invites_dir):
    """Failed before: the invitations DAG iterated a string character by character and kept blank ids."""
    from daily_dialin.invitations import run

    _insert(sqlite_meetings_db, [row("M1"), row("M2"), row("M3")])

    def planned(raw):
        result = run.plan(
            params={"meeting_ids": raw, "force": False}, settings_overrides={"host_links": False}, now=NOW
        )
        return result.meeting_ids

    assert planned("M1, M2") == ["M1", "M2"]
    assert planned(["M3", " "]) == ["M3"]
    with pytest.raises(InvalidRunParams):
        planned([" "])
