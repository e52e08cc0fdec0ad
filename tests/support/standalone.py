"""A real Airflow (``airflow standalone``: scheduler, API server, DAG processor, triggerer) for
tests that need the scheduler, e.g. to execute the runs ``airflow backfill create`` queues.

Runs in its own process group (``setsid``) with its own ``AIRFLOW_HOME`` and a free API port, and
is stopped by killing that group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StandaloneAirflow:
    def __init__(self, *, home: Path, dags_folder: Path, env: dict[str, str], metadata_uri: str | None = None) -> None:
        self.home = home
        self.port = _free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        self.env.update(env)
        self.env.update(
            {
                "AIRFLOW_HOME": str(home),
                "PATH": f"{BIN}:{self.env.get('PATH', '')}",
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            }
        )
        if metadata_uri:  # SQLite locks under the scheduler, API server and CLI writing at once
            self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = metadata_uri
        self.proc: subprocess.Popen | None = None
        self.log = home / "standalone.log"

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "airflow"), *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def start(self, *, timeout: float = 180) -> StandaloneAirflow:
        self.home.mkdir(parents=True, exist_ok=True)
        migrated = self.cli("db", "migrate", timeout=300)
        if migrated.returncode != 0:
            raise RuntimeError(migrated.stdout + migrated.stderr)
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "airflow"), "standalone"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited: {self.log.read_text()[-3000:]}")
            try:
                health = requests.get(f"http://127.0.0.1:{self.port}/api/v2/monitor/health", timeout=2).json()
                if health.get("scheduler", {}).get("status") == "healthy":
                    return self
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"airflow standalone did not become healthy: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        group = self.proc.pid  # start_new_session: the group outlives standalone itself
        try:
            os.killpg(group, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        # standalone can exit while a child (the scheduler) is still shutting down, or hangs there:
        # that child, re-parented to init, kept running after the test (seen in a CI clone). Wait
        # for the whole group to go, then kill what is left.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _group_alive(group):
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.proc = None


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
