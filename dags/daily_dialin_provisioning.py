"""The Airflow DAG ``daily_dialin_provisioning``: the provisioning factory with the shipped defaults.

Only wiring (tasks, Params form and docs are in :mod:`daily_dialin.dags.provisioning`); imports only
the factory. The factory also builds, from this file, the approval DAG
``daily_dialin_provisioning_deletions`` (deletions over the budget wait for a person there, never in
a provisioning run). The table and connections come from the Variable ``daily_provisioning`` or the defaults.
Environment knobs, read when the file is parsed:

* ``DAILY_PROVISIONING_SCHEDULE`` (default ``@daily``): the clock; with the watch, the daily safety
  run (empty: the watch alone, or with ``DAILY_PROVISIONING_WATCH=0`` manual runs only);
* ``DAILY_PROVISIONING_WATCH`` (default ``1``): also run within seconds of a row added, moved or
  cancelled (the meetings-table watcher, in the triggerer); ``0``: the clock only;
* ``DAILY_PROVISIONING_WATCH_SECONDS`` (default 10): how often the watcher polls the table;
* ``DAILY_PROVISIONING_TIMEOUT_MINUTES`` (default 240): the run timeout;
* ``DAILY_API_POOL`` (default ``daily_api``): the pool of the tasks that call Daily.
"""

from __future__ import annotations

import os
from datetime import timedelta

from daily_dialin.dags import provisioning_dag

dag = provisioning_dag(
    dag_id="daily_dialin_provisioning",
    schedule=os.environ.get("DAILY_PROVISIONING_SCHEDULE", "@daily") or None,
    watch=os.environ.get("DAILY_PROVISIONING_WATCH", "1") != "0",
    watch_poll_seconds=float(os.environ.get("DAILY_PROVISIONING_WATCH_SECONDS", "10")),
    run_timeout=timedelta(minutes=float(os.environ.get("DAILY_PROVISIONING_TIMEOUT_MINUTES", "240"))),
)
