"""The missing-pool trap, statically: the DAG bounds a run that cannot progress; the docs say so.

Airflow 3.3 leaves a task whose pool does not exist "scheduled" forever (its DAG-warning check for
unknown pools is not wired into the DAG processor). The provider's answer: the bootstrap always
creates the pool, and ``daily_dialin_provisioning`` has a ``dagrun_timeout`` so such a run fails and
stops blocking the runs behind it. ``tests/cluster/test_missing_pool.py`` shows it on a real cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest

from tests.support.paths import REPO

SCRIPT = """
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={folder!r})
dag = bag.dags["daily_dialin_provisioning"]
chunk = dag.get_task("provision_chunk")
schedule = dag.schedule
timetable = getattr(schedule, "timetable", None)  # the watcher OR a cron: AssetOrTimeSchedule
watched = [w.name for w in getattr(getattr(schedule, "asset_condition", schedule), "watchers", [])]
cron = timetable.expression if timetable is not None else schedule
print("|".join([str(dag.dagrun_timeout.total_seconds()), chunk.pool, repr(cron), ",".join(watched) or "-"]))
"""


def _parse(**env: str) -> list[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("DAILY_")} | env
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(folder=str(REPO / "dags"))],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1].split("|")


@pytest.mark.slow  # a subprocess
def test_provisioning_dag_has_a_run_timeout_and_its_pool():
    seconds, pool, schedule, watched = _parse()
    assert float(seconds) == timedelta(hours=4).total_seconds()
    assert pool == "daily_api"
    assert schedule in ("'@daily'", "'0 0 * * *'")  # the daily safety run, OR the watcher:
    assert watched == "daily_dialin_meetings_table_watcher"


@pytest.mark.slow  # a subprocess
def test_timeout_and_schedule_follow_the_environment():
    seconds, _, schedule, watched = _parse(DAILY_PROVISIONING_TIMEOUT_MINUTES="2", DAILY_PROVISIONING_SCHEDULE="")
    assert float(seconds) == 120
    assert watched == "daily_dialin_meetings_table_watcher"  # no clock: the watcher alone (the UI quickstart)
    _, _, schedule, watched = _parse(DAILY_PROVISIONING_SCHEDULE="", DAILY_PROVISIONING_WATCH="0")
    assert (schedule, watched) == ("None", "-")  # no clock and no watcher: manual runs only
