"""The factories' one table reference (:class:`~daily_dialin.dags.options.TableRef`) and their one
prologue (:func:`~daily_dialin.dags.options.dag_options`): the keywords of before build the same
DAGs as a ``TableRef``; DAG keywords reach ``DAG``; a ``TableRef`` cannot be changed once shared."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

OPS_COLUMNS = {"meeting_id": "id", "starts_at": "start_time"}
OPS = {"daily_conn_id": "ops_daily", "meetings_conn_id": "ops_db", "table": "ops_meetings", "columns": OPS_COLUMNS}


def _shape(dag) -> dict:
    """What a factory decided about a DAG: tasks, pools, outlets, schedule, params, task defaults."""
    return {
        "tasks": sorted(dag.task_ids),
        "pools": sorted({task.pool for task in dag.tasks}),
        "outlets": sorted(o.name for task in dag.tasks for o in getattr(task, "outlets", []) or []),
        "schedule": repr(dag.timetable),
        "params": sorted(dag.params),
        "default_args": dag.default_args,
        "tags": sorted(dag.tags),
        "start_date": dag.start_date,
        "one_at_a_time": (dag.catchup, dag.max_active_runs),
        "doc": dag.doc_md,
    }


@pytest.mark.parametrize("factory", ["provisioning_dag", "reconcile_dag", "invitations_dag"])
def test_the_keywords_of_before_build_the_same_dag_as_a_table_ref(factory):
    import daily_dialin.dags as dags
    from daily_dialin.dags import TableRef

    build = getattr(dags, factory)
    old = build(dag_id="ops", **OPS, asset_name="ops_asset", settings={"room_name_prefix": "ops"})
    new = build(dag_id="ops", source=TableRef(**OPS, asset_name="ops_asset"), settings={"room_name_prefix": "ops"})
    assert _shape(old) == _shape(new)
    assert "ops_asset" in _shape(new)["outlets"] or "ops_asset" in _shape(new)["schedule"]


def test_the_table_ref_reaches_the_settings_and_the_assets():
    from daily_dialin.dags import TableRef, provisioning_dag
    from daily_dialin.dags.options import dag_options

    ref = TableRef(**OPS)
    opts = dag_options(dag_id="p", dag_kwargs={}, tags=("t",), source=ref, settings={"chunk_size": 5})
    assert opts.layers.identity == {**OPS, "columns": OPS_COLUMNS}
    assert opts.layers.settings == {"chunk_size": 5}
    assert ref.asset == "daily_dialin_meetings.ops_db.ops_meetings"
    dag = provisioning_dag(dag_id="p", source=ref, watch=True)
    assert dag.timetable.asset_condition.name == "daily_dialin_meetings_table.ops_db.ops_meetings"
    assert [o.name for o in dag.get_task("summarize").outlets] == [ref.asset]


def test_one_table_reference_per_dag():
    from daily_dialin.dags import TableRef, provisioning_dag

    with pytest.raises(TypeError, match="not both"):
        provisioning_dag(dag_id="x", source=TableRef(table="a"), table="b")
    with pytest.raises(TypeError, match="must be a TableRef"):
        provisioning_dag(dag_id="x", source={"table": "a"})


def test_a_table_ref_is_frozen_and_hashable():
    from daily_dialin.dags import TableRef

    columns = dict(OPS_COLUMNS)
    ref = TableRef(**{**OPS, "columns": columns})
    columns["title"] = "name"  # the caller's dict changing later changes nothing
    assert dict(ref.columns) == OPS_COLUMNS
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.table = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ref.columns["title"] = "name"  # type: ignore[index]
    assert hash(ref) == hash(TableRef(**OPS)) and ref == TableRef(**OPS)
    with pytest.raises(TypeError):
        TableRef("ops_daily")  # type: ignore[misc]  # keyword-only


def test_dag_keywords_reach_the_dag_and_default_args_merge():
    from daily_dialin.dags import number_assignment_dag, reconcile_dag
    from daily_dialin.dags.calls import calls_dag
    from daily_dialin.dags.doctor import doctor_dag

    start = datetime(2025, 6, 1, tzinfo=UTC)
    kwargs = {"start_date": start, "tags": ["mine"], "doc_md": "mine", "max_active_runs": 3, "default_args": {"x": 1}}
    for build in (reconcile_dag, number_assignment_dag, calls_dag, doctor_dag):
        dag = build(dag_id="k", **kwargs)
        assert (dag.start_date, dag.tags, dag.doc_md, dag.max_active_runs) == (start, {"mine"}, "mine", 3)
        assert dag.default_args["x"] == 1 and "retries" in dag.default_args
    assert reconcile_dag(dag_id="r").default_args["retries"] == 1  # the factory's own defaults under the caller's


def test_number_assignment_takes_the_daily_account_either_way():
    from daily_dialin.dags import TableRef, number_assignment_dag

    def conn(dag):
        return dag.get_task("assign_pin_dialin_number").daily_conn_id

    assert conn(number_assignment_dag(dag_id="n")) == "daily_default"
    assert conn(number_assignment_dag(dag_id="n", daily_conn_id="ops_daily")) == "ops_daily"
    assert conn(number_assignment_dag(dag_id="n", source=TableRef(daily_conn_id="ops_daily"))) == "ops_daily"
    with pytest.raises(TypeError):
        number_assignment_dag(dag_id="n", table="ops_meetings")  # no table: DAG() refuses it, as before


def test_a_dag_of_no_table_refuses_table_keywords():
    from daily_dialin.dags.calls import calls_dag
    from daily_dialin.dags.doctor import doctor_dag

    for build in (calls_dag, doctor_dag):
        with pytest.raises(TypeError):
            build(dag_id="x", daily_conn_id="ops_daily")  # as before: DAG() refuses what no factory takes
