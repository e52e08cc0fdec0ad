"""The operators against the emulator, run as real Airflow tasks with ``dag.test()``."""

from __future__ import annotations

import time

import pytest

from airflow_provider_daily.errors import DailyValidationError
from airflow_provider_daily.links import XCOM_ROOM_URL, DailyRoomLink
from airflow_provider_daily.operators.daily import (
    DailyAssignPinDialinNumberOperator,
    DailyCreateDialinRoomOperator,
    DailyDeleteRoomOperator,
)
from tests.support.daily import OTHER_NUMBER, PIN_NUMBER, SPARE_NUMBER


@pytest.fixture(scope="module")
def dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.daily import REPO

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors
    return bag.dags


def lifecycle(dags, **conf):
    conf = {"room_name": "op-room", "display_name": "Weekly sync", "hours": 2, "delete": False, **conf}
    return dags["example_daily_room_lifecycle"].test(logical_date=None, run_conf=conf)


def xcom(dag_run, task_id: str, key: str = "return_value"):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key=key)
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def rooms(emulator) -> dict[str, dict]:
    return {r["name"]: r for r in emulator.admin.snapshot()["rooms"] if not r.get("expired")}


def create_op(**kwargs):
    defaults = {
        "task_id": "create",
        "room_name": "op-room",
        "exp": int(time.time()) + 7200,
        "display_name": "Weekly sync",
    }
    return DailyCreateDialinRoomOperator(**{**defaults, **kwargs})


def test_create_room_then_reuse_on_rerun(dags, daily_conn):
    dag_run = lifecycle(dags)
    assert dag_run.state == "success"
    result = xcom(dag_run, "create_room")
    room = rooms(daily_conn)["op-room"]
    assert result == {
        "room_name": "op-room",
        "room_url": room["url"],
        "dialin_number": room["config"]["dialin_number"],
        "outcome": "created",
    }
    assert "pin" not in result, "no PIN in XCom unless asked"
    assert xcom(dag_run, "create_room", XCOM_ROOM_URL) == room["url"]
    assert room["config"]["dialin"]["display_name"] == "Weekly sync"
    assert room["config"]["exp"] - time.time() == pytest.approx(7200, abs=120)

    dag_run = lifecycle(dags)
    # exp follows the rerun's clock: the same second reuses, a later one updates the room's exp
    assert xcom(dag_run, "create_room")["outcome"] in ("reused", "updated")
    assert daily_conn.admin.counters()["rooms_created"] == 1
    assert rooms(daily_conn)["op-room"]["config"]["dialin_code"] == room["config"]["dialin_code"]


def test_create_then_delete(dags, daily_conn):
    dag_run = lifecycle(dags, room_name="short-lived", delete=True)
    assert dag_run.state == "success"
    assert xcom(dag_run, "delete_room") is True
    assert "short-lived" not in rooms(daily_conn)
    assert daily_conn.admin.counters()["rooms_created"] == 1


def test_same_request_twice_reuses_room(daily_conn):
    operator = create_op()
    first = operator.execute(context={})
    second = operator.execute(context={})
    assert (first["outcome"], second["outcome"]) == ("created", "reused")
    assert daily_conn.admin.counters()["rooms_created"] == 1


def test_delete_room_already_gone_is_done(daily_conn):
    assert DailyDeleteRoomOperator(task_id="d", room_name="never-was").execute(context={}) is False


def test_delete_room_with_invalid_name_fails_before_any_call(daily_conn):
    with pytest.raises(DailyValidationError, match="invalid room name"):
        DailyDeleteRoomOperator(task_id="d", room_name="no/slashes").execute(context={})
    assert daily_conn.admin.counters()["requests"] == {}


def test_create_room_with_pin_on_request(daily_conn):
    result = create_op(return_pin=True, room_numbers=[PIN_NUMBER]).execute(context={})
    pin = rooms(daily_conn)["op-room"]["config"]["dialin_code"]
    assert result["pin"] == pin
    assert result["dial_string"] == f"tel:{PIN_NUMBER},,{pin}"


def test_invalid_room_fails_before_any_call(daily_conn):
    with pytest.raises(DailyValidationError):
        create_op(room_name="has space").execute(context={})
    assert daily_conn.admin.counters()["requests"] == {}


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"room_name": "bad name"}, "invalid room name"),
        ({"exp": int(time.time()) - 10}, "not in the future"),
        ({"exp": int(time.time()) + 366 * 86400}, "365 days"),
        ({"exp": "next week"}, "ISO-8601"),
        ({"privacy": "secret"}, "privacy"),
        ({"room_numbers": ["call me"]}, "room_numbers"),
    ],
)
def test_create_room_validates_before_any_call(daily_conn, kwargs, reason):
    with pytest.raises(DailyValidationError, match=reason):
        create_op(**kwargs).execute(context={})
    assert daily_conn.admin.counters()["requests"] == {}


def test_create_operator_has_room_link():
    assert any(isinstance(link, DailyRoomLink) for link in create_op().operator_extra_links)
    assert DailyRoomLink.name == "Daily room"


# -- number assignment, through the shipped DAG --------------------------------------------------
@pytest.fixture(scope="module")
def assignment_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.daily import REPO

    bag = DagBag(dag_folder=str(REPO / "dags" / "daily_pin_dialin_number_assignment.py"))
    return bag.dags["daily_pin_dialin_number_assignment"]


def assign(dag, **conf):
    conf = {"name_prefix": None, "ivr_greeting": None, "move": False, **conf}
    dag_run = dag.test(logical_date=None, run_conf=conf)
    return dag_run, xcom(dag_run, "assign_pin_dialin_number")


def configs(emulator) -> dict[str, dict]:
    return {c["config"]["phone_number"]: c for c in emulator.admin.snapshot()["dialin_configs"]}


def test_assign_number_already_on_pin_flow_is_noop(assignment_dag, daily_conn):
    before = configs(daily_conn)
    dag_run, result = assign(assignment_dag, phone_number=PIN_NUMBER)
    assert dag_run.state == "success"
    assert result["action"] == "unchanged"
    assert configs(daily_conn) == before


def test_assign_number_updates_prefix_and_greeting(assignment_dag, daily_conn):
    _dag_run, result = assign(assignment_dag, phone_number=PIN_NUMBER, name_prefix="acme", ivr_greeting="Enter PIN")
    assert result["action"] == "updated"
    config = configs(daily_conn)[PIN_NUMBER]
    assert config["type"] == "pin_dialin"
    assert config["config"]["name_prefix"] == "acme"
    assert config["config"]["ivr_greeting"]["message"] == "Enter PIN"


def test_assign_free_purchased_number(assignment_dag, daily_conn):
    _dag_run, result = assign(assignment_dag, phone_number=SPARE_NUMBER, name_prefix="spare")
    assert result["action"] == "created"
    assert configs(daily_conn)[SPARE_NUMBER]["type"] == "pin_dialin"


def test_assign_number_on_pinless_flow_needs_move(assignment_dag, daily_conn, hook, caplog, capfd):
    hook.create_dialin_config({"type": "pinless_dialin", "phone_number": OTHER_NUMBER})
    dag_run, _ = assign(assignment_dag, phone_number=OTHER_NUMBER)
    assert dag_run.state == "failed"
    output = caplog.text + "".join(capfd.readouterr())
    assert "pinless_dialin flow" in output
    assert "move=True" in output
    assert configs(daily_conn)[OTHER_NUMBER]["type"] == "pinless_dialin", "nothing changed"

    dag_run, result = assign(assignment_dag, phone_number=OTHER_NUMBER, move=True)
    assert dag_run.state == "success"
    assert result["action"] == "moved"
    assert configs(daily_conn)[OTHER_NUMBER]["type"] == "pin_dialin"


def test_assign_unpurchased_number_is_refused(assignment_dag, daily_conn, caplog, capfd):
    dag_run, _ = assign(assignment_dag, phone_number="+14155550199")
    assert dag_run.state == "failed"
    assert "not a purchased number" in caplog.text + "".join(capfd.readouterr())
    assert "+14155550199" not in configs(daily_conn)


def test_assign_operator_normalizes_number(daily_conn):
    operator = DailyAssignPinDialinNumberOperator(task_id="x", phone_number="1 (209) 555-0100")
    assert operator.execute(context={})["action"] == "unchanged"


@pytest.mark.parametrize("operator_class", [DailyCreateDialinRoomOperator, DailyAssignPinDialinNumberOperator])
def test_daily_conn_id_is_templated(operator_class):
    assert "daily_conn_id" in operator_class.template_fields
    assert "daily_conn_id" in DailyDeleteRoomOperator.template_fields


def test_templated_daily_conn_id_picks_the_connection(daily_conn):
    """A DAG picks the Daily account per run: the rendered id is the one the hook uses."""
    operator = DailyDeleteRoomOperator(task_id="delete", room_name="never-made", daily_conn_id="{{ params.account }}")
    operator.render_template_fields(context={"params": {"account": "daily_default"}})
    assert operator.daily_conn_id == "daily_default"
    assert operator.hook.daily_conn_id == "daily_default"
    assert operator.execute(context={}) is False  # the room never existed: done, through that connection


def test_the_display_name_reaching_daily_follows_the_one_text_rule(daily_conn):
    """Issue 22: bidi overrides and isolates and zero-width characters reached Daily's display name
    through the operator; now every path (one-off, series, the operator) cleans with one rule."""
    from airflow_provider_daily.text import clean_text
    from daily_dialin.provisioning import meetings

    assert meetings.clean_text is clean_text, "the application re-exports the provider's rule"
    raw = "\u202eBoard\u200b call \u2066x\u2069\ufeff\x00"
    spec = create_op(display_name=raw).build_spec()
    assert spec.properties.dialin.display_name == clean_text(raw) == "Board call x"
    create_op(display_name=raw).execute(context={})
    assert rooms(daily_conn)["op-room"]["config"]["dialin"]["display_name"] == "Board call x"
    assert create_op(display_name="\u200b \u202e").build_spec().properties.dialin.display_name is None


@pytest.mark.parametrize(
    ("move", "parsed"),
    [(True, True), (False, False), ("True", True), (" yes ", True), ("1", True), ("false", False), ("off", False)],
)
def test_move_is_parsed_as_a_flag(move, parsed):
    from airflow_provider_daily.operators.daily import parse_flag

    assert parse_flag(move, "move") is parsed


@pytest.mark.parametrize("move", ["ture", "maybe", "", "2", None])
def test_a_move_that_is_no_flag_fails_before_any_call(daily_conn, move):
    """A typo in a templated ``move`` was read as "no" (and reported as a conflict after the calls)."""
    operator = DailyAssignPinDialinNumberOperator(task_id="x", phone_number=OTHER_NUMBER, move=move)
    with pytest.raises(DailyValidationError, match="move must be true or false"):
        operator.execute(context={})
    assert daily_conn.admin.counters()["requests"] == {}
