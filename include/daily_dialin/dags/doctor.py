"""The doctor DAG factory: ``doctor_dag(dag_id=...) -> DAG``, a manual DAG that runs
:mod:`daily_dialin.doctor` where no shell reaches the deployment.

Parse time imports only ``airflow.sdk`` and :mod:`.options`; the task imports the doctor when it
runs. From a task, Airflow 3 gives no metadata-DB access, so the pool, DAG import-error and
triggerer checks say *skip* there (``python -m daily_dialin doctor`` runs them).

May import: ``airflow.sdk``, :mod:`daily_dialin.dags.options` and (in the task) :mod:`daily_dialin.doctor`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import DAG, Param, task

from daily_dialin.dags.options import dag_options

TAGS = ("daily", "dial-in", "doctor")
DEFAULT_ARGS: Mapping[str, Any] = {"retries": 1}

DOC = """
### Doctor: what is wrong with this deployment, and how to fix it

Trigger it by hand (its form names the settings Variable and, optionally, the connections and the
table to check). One task runs every check of `python -m daily_dialin doctor` - the Daily domain
(key, numbers on the PIN flow, room quota), the connections, the Fernet key, `[core]
test_connection`, and the meetings table (columns, types, indexes, times, statuses, duplicate ids,
meetings beyond 365 days, series) - and logs a table: each check *ok*, *warn*, *fail* or *skip*
with why and what to do. The task fails when a check fails; warnings leave it green (see the log).
The checks need the metadata DB for the pool, import errors and the triggerer: they are skipped
here; run the command where the DB is reachable for those. See `docs/doctor.md`.
"""

PARAMS = {
    "variable": Param("daily_provisioning", type="string", title="Settings Variable"),
    "daily_conn_id": Param(None, type=["null", "string"], title="Daily connection (default: the Variable's)"),
    "meetings_conn_id": Param(None, type=["null", "string"], title="Meetings connection (default: the Variable's)"),
    "table": Param(None, type=["null", "string"], title="Meetings table (default: the Variable's)"),
    "room_quota": Param(None, type=["null", "integer"], minimum=0, title="The plan's live-room quota"),
    "callers_column": Param(None, type=["null", "string"], title="Column of expected phone callers"),
}


def run_doctor(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The task: every check from a task; fails on a failed check; returns the (scrubbed) checks."""
    import logging
    from dataclasses import asdict

    from airflow.sdk.exceptions import AirflowFailException

    from daily_dialin.doctor import DoctorOptions, diagnose
    from daily_dialin.doctor.report import exit_code, render_text

    checks = diagnose(DoctorOptions.of(params, in_task=True))
    logging.getLogger("daily_dialin.doctor").info("doctor:\n%s", render_text(checks))
    if exit_code(checks) == 2:
        failed = ", ".join(f"{c.area}/{c.name}" for c in checks if c.status == "fail")
        raise AirflowFailException(f"the doctor found failures: {failed} (the log says why and what to do)")
    return [asdict(c) for c in checks]


def doctor_dag(*, dag_id: str, **dag_kwargs: Any) -> DAG:
    """A manual DAG with one task, ``doctor``; ``dag_kwargs`` go to ``DAG``
    (:func:`~daily_dialin.dags.options.dag_options`)."""
    opts = dag_options(dag_id=dag_id, dag_kwargs=dag_kwargs, tags=TAGS, base_args=DEFAULT_ARGS, keywords=())
    with opts.dag(defaults={"doc_md": DOC}, schedule=None, params=dict(PARAMS)) as dag:

        @task(task_id="doctor")
        def doctor(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
            return run_doctor(params or {})

        doctor()
    return dag
