"""No doc example carries a date that will pass by: the code blocks of the README, CONTRIBUTING and
docs/ and the shipped DAG files hold only dates that were already past when this rule was written
(backfill examples must be past); a future time is computed (``date -u -d '+14 days'``) or templated.
The README's operator example is run as written and its ``exp`` rendered at the matrix instants
(clock frozen with time-machine). May import the provider and ``tests.support``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from tests.support.daily import REPO

# the day this rule was written: a literal date in an example must be before it (already past)
WRITTEN = date(2026, 12, 5)
DOC_FILES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("**/*.md"))]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
ISO_DATE = re.compile(r"(?<!\d)(20\d\d)-(\d\d)-(\d\d)(?!\d)")
CALL_DATE = re.compile(r"datetime\((20\d\d),\s*(\d{1,2}),\s*(\d{1,2})")


def _code(path) -> str:
    text = path.read_text(encoding="utf-8")
    return text if path.suffix == ".py" else "\n".join(FENCE.findall(text))


def _dates(text: str) -> list[date]:
    return [date(*map(int, m.groups())) for pattern in (ISO_DATE, CALL_DATE) for m in pattern.finditer(text)]


def test_examples_hold_no_date_that_will_pass_by():
    future = {
        str(path.relative_to(REPO)): [str(d) for d in _dates(_code(path)) if d >= WRITTEN]
        for path in [*DOC_FILES, *DAG_FILES]
        if "_build" not in path.parts
    }
    assert {name: dates for name, dates in future.items() if dates} == {}


def _readme_operator_block() -> str:
    blocks = FENCE.findall((REPO / "README.md").read_text(encoding="utf-8"))
    return next(block for block in blocks if "DailyCreateDialinRoomOperator(" in block)


@pytest.mark.date_sensitive
@pytest.mark.parametrize(
    "instant",
    ["2026-12-05 03:00", "2026-12-31 23:45", "2027-03-12 23:30", "2028-02-28 22:00"],
)
def test_the_readme_operator_example_expires_within_dailys_365_days(instant: str):
    from airflow.sdk.execution_time import macros

    from airflow_provider_daily.operators.daily import _to_unix

    now = datetime.fromisoformat(instant).replace(tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        namespace: dict = {}
        exec(_readme_operator_block(), namespace)  # the README's own example, as written
        room = namespace["room"]
        rendered = room.render_template(room.exp, {"macros": macros})
        exp = _to_unix(rendered, "exp")
    assert now.timestamp() < exp < (now + timedelta(days=365)).timestamp(), rendered
