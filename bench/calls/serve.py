"""The webhook receiver served standalone by uvicorn, mounted under ``/daily`` as Airflow's API
server mounts the plugin's app (``python -m bench.calls.serve PORT``). Its settings come from the
environment the benchmark gives it (``AIRFLOW_CONN_DAILY_DEFAULT`` with the webhook secret,
``AIRFLOW_CONN_DAILY_MEETINGS_DB``), read by the receiver's real :class:`AirflowSources`.

May import: uvicorn, FastAPI and ``daily_dialin.calls.receiver``.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

from daily_dialin.calls.receiver import create_app


def main(port: int) -> None:
    outer = FastAPI()
    outer.mount("/daily", create_app())
    uvicorn.run(outer, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))
