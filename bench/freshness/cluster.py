"""The native cluster of the cluster check (``daily_devtools.cluster``) with what the freshness benchmark
adds by subclassing: extra environment for the Airflow services (changeable between phases), the
provider's default settings instead of the check's small ones, restarting one service, the CPU seconds
of a service's process tree, the scale benchmark's emulator latency, and the cluster's databases.

May import: the standard library, psutil, psycopg2, requests, ``daily_devtools`` and ``bench.scale.emulator``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import psycopg2
import requests

from bench.scale import emulator as scale_emulator
from daily_devtools.cluster import NativeCluster

DAG_PROCESSOR = "airflow-dag-processor"
TRIGGERER = "airflow-triggerer"
# the check's own small settings, back to the deployment's defaults (empty = the provider's default)
DEFAULT_VALUES = {
    "DAILY_API_CONCURRENCY": "",
    "DAILY_CHUNK_SIZE": "",
    "DAILY_HORIZON_DAYS": "",
    "DAILY_LEAD_DAYS": "",
    "DAILY_SAMPLE_MEETINGS": "0",
    "DAILY_PROVISIONING_TIMEOUT_MINUTES": "30",
}


class FreshCluster(NativeCluster):
    """``FreshCluster(root=..., extra_env={...}).start()``; ``restart(DAG_PROCESSOR, env={...})``."""

    def __init__(self, *, root: Path, extra_env: dict[str, str] | None = None) -> None:
        super().__init__(root=root)
        self.values.update(DEFAULT_VALUES)
        self.extra_env: dict[str, str] = dict(extra_env or {})
        if "DAILY_PROVISIONING_SCHEDULE" in self.extra_env:  # the compose file interpolates this one
            self.values["DAILY_PROVISIONING_SCHEDULE"] = self.extra_env["DAILY_PROVISIONING_SCHEDULE"]

    def service_env(self, service: str, *, hostname: str | None = None) -> dict[str, str]:
        env = super().service_env(service, hostname=hostname)
        if service.startswith("airflow-"):
            env.update(self.extra_env)
        return env

    # -- one service ---------------------------------------------------------------------------------
    def restart(self, name: str, *, env: dict[str, str], timeout: float = 180) -> None:
        """Stop service ``name`` (its process group) and start it again with ``extra_env`` updated."""
        self.stop_service(name)
        self.extra_env.update(env)
        if "DAILY_PROVISIONING_SCHEDULE" in env:
            self.values["DAILY_PROVISIONING_SCHEDULE"] = env["DAILY_PROVISIONING_SCHEDULE"]
        log = self.logs / f"{name}.log"
        if log.exists():  # the base class truncates the log: keep the earlier one
            log.rename(log.with_suffix(f".{int(time.time())}.log"))
        self.start_service(name)
        self.wait_healthy({name: name}, timeout=timeout)

    def stop_service(self, name: str) -> None:
        service = self.services.pop(name, None)
        if service is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.proc.pid, signal.SIGTERM)
        try:
            service.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.proc.pid, signal.SIGKILL)
            service.proc.wait(timeout=10)

    def group_cpu_seconds(self, name: str) -> dict[str, Any]:
        """utime + stime (``/proc/<pid>/stat``, through psutil) of service ``name``'s process and every
        live descendant (the triggerer runs its triggers in a child process)."""
        root = psutil.Process(self.services[name].proc.pid)
        total, pids = 0.0, []
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
                pids.append(proc.pid)
        return {"cpu_s": total, "pids": sorted(pids), "at": time.monotonic()}

    # -- the emulator ----------------------------------------------------------------------------------
    def set_emulator_latency(self) -> dict[str, Any]:
        """The scale benchmark's latency (+100 ms per request, +1 ms per batched room), a large room quota."""
        body = {
            "latency_ms": scale_emulator.LATENCY_MS,
            "batch_room_latency_ms": scale_emulator.BATCH_ROOM_LATENCY_MS,
            "room_quota": 1_000_000,
        }
        response = requests.patch(f"{self.emulator_url}/_emulator/settings", json=body, timeout=30)
        response.raise_for_status()
        settings = response.json()
        return {key: settings.get(key) for key in (*body, "rate_limits")}

    # -- databases ---------------------------------------------------------------------------------------
    def meetings_connect(self) -> Any:
        return psycopg2.connect(self.meetings_uri)

    def meetings_conn_json(self) -> dict[str, Any]:
        """The meetings database as an Airflow connection (for the benchmark's own subprocesses)."""
        assert self.pg is not None
        v = self.values
        return {
            "conn_type": "postgres",
            "host": "127.0.0.1",
            "port": self.pg.port,
            "login": v["MEETINGS_DB_USER"],
            "password": v["MEETINGS_DB_PASSWORD"],
            "schema": v["MEETINGS_DB"],
        }

    def metadata_query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read Airflow's metadata database (the ``airflow`` database of the same server)."""
        assert self.pg is not None
        with contextlib.closing(
            psycopg2.connect(host="127.0.0.1", port=self.pg.port, user="postgres", dbname="airflow")
        ) as conn:
            cur = conn.cursor()
            cur.execute(sql, params)
            return cur.fetchall()
