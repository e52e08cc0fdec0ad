"""The compose topology (``docker-compose.yaml``) run natively on loopback, for the cluster and browser checks.

Docker cannot run on our machines, so this module reads the compose file and runs its services as local
processes with the SAME commands: the bootstrap of ``airflow-init``, ``api-server``, ``scheduler``,
``dag-processor``, ``triggerer``, two ``celery worker`` s (the compose service scaled to two), the Daily
emulator, Redis, and a throwaway PostgreSQL (``daily_devtools.postgres``) initialised by the compose
file's own init script. The environment is the compose file's, interpolated from ``.env.example`` with
fresh secrets, and "localised": service hostnames become ``127.0.0.1:<free port>``, ``/opt/airflow``
becomes a temporary ``AIRFLOW_HOME`` whose ``dags``/``plugins`` are symlinks to the repo (the compose
volumes). The only native additions are listed in ``NATIVE_ARGS`` / ``NATIVE_ENV`` (loopback binds, free
ports, a distinct Celery node name and ``HOSTNAME`` per worker in place of container hostnames, quicker
heartbeats); ``tests/deploy/test_compose.py`` checks that the commands differ by nothing else.

Every process runs in its own process group and is stopped by PID (SIGTERM to the group, then SIGKILL),
also when starting fails. The tests' session fixture ``native_cluster`` (``tests/support/cluster.py``,
which re-exports this module) and the freshness benchmark (``bench/freshness/cluster.py``) both start it.

Dev only, in ``daily_devtools``: bench imports no test code. May import the dev-only packages, the
standard library and the test/bench dependencies (requests, yaml, cryptography, psycopg2); never pytest.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import yaml
from cryptography.fernet import Fernet

from daily_devtools.postgres import ThrowawayPostgres

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
BIN = Path(sys.executable).parent
DAG_ID = "daily_dialin_provisioning"
WORKERS = ("airflow-worker-1", "airflow-worker-2")
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")

# what the native run adds to a compose service's command (containers get these from their own network)
NATIVE_ARGS: dict[str, tuple[str, ...]] = {
    "redis": ("--bind", "127.0.0.1", "--port", "{redis_port}", "--dir", "{root}"),
    "airflow-worker": ("--celery-hostname", "celery@{hostname}"),
}
# environment the native run adds to the compose environment: loopback binds and ports, the hostname each
# service reports, quicker heartbeats, and one task at a time per worker (so both workers get chunk tasks)
NATIVE_ENV: dict[str, str] = {
    "AIRFLOW_HOME": "{home}",
    "AIRFLOW__API__HOST": "127.0.0.1",
    "AIRFLOW__API__PORT": "{api_port}",
    "AIRFLOW__API__WORKERS": "2",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": "{scheduler_health_port}",
    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "daily_devtools.cluster_hostname.hostname",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    "PYTHONPATH": str(REPO),
}
# the check's own settings on top of .env.example (small chunks; a short run timeout for the pool trap)
CHECK_VALUES = {
    "DAILY_API_CONCURRENCY": "2",
    "DAILY_CHUNK_SIZE": "2",
    "DAILY_HORIZON_DAYS": "2",
    "DAILY_LEAD_DAYS": "30",
    "DAILY_SAMPLE_MEETINGS": "0",
    "AIRFLOW_TEST_CONNECTION": "Enabled",
    "DAILY_PROVISIONING_TIMEOUT_MINUTES": "2",
    "DAILY_PROVISIONING_WATCH": "1",  # the product default: the freshness check needs the watcher
    "DAILY_PROVISIONING_WATCH_SECONDS": "3",
}
SECRET_KEYS = (
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_JWT_SECRET",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "MEETINGS_DB_PASSWORD",
    "DAILY_API_KEY",
)

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


# -- the compose file -----------------------------------------------------------------------------
def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def compose_variables(text: str) -> set[str]:
    """Every ``${VAR...}`` a compose text interpolates (``$$`` is a literal dollar)."""
    return {m.group(1) for m in _VAR.finditer(text) if m.group(1)}


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def interpolate(value: Any, values: Mapping[str, str]) -> Any:
    """Compose's interpolation: ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?err}``, ``$$``."""
    if isinstance(value, list):
        return [interpolate(item, values) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, values) for key, item in value.items()}
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        found = values.get(name)
        if op in (":-", "-"):
            return found if (found if op == ":-" else found is not None) else arg
        if op in (":?", "?") and not found and (op == ":?" or found is None):
            raise KeyError(f"{name}: {arg}")
        if op in (":+", "+"):
            return arg if found else ""
        return found or ""

    return _VAR.sub(replace, value)


def service_command(compose: Mapping[str, Any], service: str, values: Mapping[str, str]) -> list[str]:
    """A service's command as argv, interpolated (a string command is split like compose does)."""
    command = compose["services"][service]["command"]
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    return [str(arg) for arg in interpolate(argv, values)]


def service_environment(compose: Mapping[str, Any], service: str, values: Mapping[str, str]) -> dict[str, str]:
    env = compose["services"][service].get("environment") or {}
    return {key: str(value) for key, value in interpolate(dict(env), values).items()}


# -- helpers ----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _executable(name: str, extra_dirs: tuple[Path, ...] = ()) -> str:
    if name == "python":
        return sys.executable
    for folder in (BIN, *extra_dirs):
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found (bash .ci/setup installs it)")
    return found


@dataclass
class Service:
    name: str
    argv: list[str]
    compose_argv: list[str]
    proc: subprocess.Popen
    log: Path


@dataclass
class NativeCluster:
    root: Path
    started_at: float = field(default_factory=time.monotonic)
    services: dict[str, Service] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    ran: list[tuple[str, list[str], list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.home = self.root / "airflow"
        self.logs = self.root / "logs"
        self.compose = load_compose()
        self.pg: ThrowawayPostgres | None = None
        self.ports = {
            "api_port": free_port(),
            "scheduler_health_port": free_port(),
            "redis_port": free_port(),
            "emulator_port": free_port(),
        }
        self.values = {**read_env_file(ENV_EXAMPLE), **CHECK_VALUES}
        self.values.update({key: f"{key.lower().replace('_', '-')}-{secrets.token_hex(8)}" for key in SECRET_KEYS})
        self.values["AIRFLOW_FERNET_KEY"] = Fernet.generate_key().decode()  # .env.example's is a placeholder
        self.env: dict[str, str] = {}

    # -- addresses --------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api_port']}"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['emulator_port']}"

    @property
    def username(self) -> str:
        return self.values["AIRFLOW_ADMIN_USERNAME"]

    @property
    def password(self) -> str:
        return self.values["AIRFLOW_ADMIN_PASSWORD"]

    @property
    def meetings_uri(self) -> str:
        assert self.pg is not None
        v = self.values
        return f"postgresql://{v['MEETINGS_DB_USER']}@127.0.0.1:{self.pg.port}/{v['MEETINGS_DB']}"

    def localise(self, value: str, key: str | None = None) -> str:
        """Compose service addresses -> loopback ports; ``/opt/airflow`` -> the native AIRFLOW_HOME."""
        assert self.pg is not None
        p = self.ports
        value = value.replace("@postgres/", f"@127.0.0.1:{self.pg.port}/")
        value = value.replace("@redis:6379", f"@127.0.0.1:{p['redis_port']}")
        value = value.replace("//airflow-apiserver:8080", f"//127.0.0.1:{p['api_port']}")
        value = value.replace("//daily-emulator:8765", f"//127.0.0.1:{p['emulator_port']}")
        value = value.replace("//localhost:8080", f"//127.0.0.1:{p['api_port']}")
        value = value.replace("//localhost:8974", f"//127.0.0.1:{p['scheduler_health_port']}")
        value = value.replace("//localhost:8765", f"//127.0.0.1:{p['emulator_port']}")
        value = value.replace("/opt/airflow", str(self.home))
        if value == "0.0.0.0":
            return "127.0.0.1"
        if key and key.endswith("_HOST") and value == "postgres":
            return "127.0.0.1"
        if key and key.endswith("_PORT") and value == "5432":
            return str(self.pg.port)
        return value

    def _fill(self, template: str, **extra: str) -> str:
        return template.format(root=self.root, home=self.home, **{k: str(v) for k, v in self.ports.items()}, **extra)

    def service_env(self, service: str, *, hostname: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAILY_"))}
        env.update({k: self.localise(v, k) for k, v in service_environment(self.compose, service, self.values).items()})
        env.update({k: self._fill(v) for k, v in NATIVE_ENV.items()})
        env["PATH"] = f"{BIN}:{self.pg.bin if self.pg else ''}:{env.get('PATH', '')}"
        env["HOSTNAME"] = hostname or service
        return env

    # -- processes ----------------------------------------------------------------------------------
    def native_argv(self, service: str, *, hostname: str | None = None) -> tuple[list[str], list[str]]:
        """(native argv, compose argv) of a service: same command, localised, plus ``NATIVE_ARGS``."""
        compose_argv = service_command(self.compose, service, self.values)
        image = self.compose["services"][service].get("image", "")
        argv = [self.localise(arg) for arg in compose_argv]
        if service.startswith("airflow-") or "build" in self.compose["services"][service]:
            argv = argv if argv[0] == "python" else ["airflow", *argv]  # the image's entrypoint runs airflow
        argv[0] = _executable(argv[0])
        if "redis" in image:
            argv[0] = _executable("redis-server")
        if service == "daily-emulator":
            argv = [self._emulator_arg(arg) for arg in argv]
        argv += [self._fill(arg, hostname=hostname or service) for arg in NATIVE_ARGS.get(service, ())]
        return argv, compose_argv

    def _emulator_arg(self, arg: str) -> str:
        if arg == "8765":
            return str(self.ports["emulator_port"])
        if arg.endswith("/emulator/state.json"):
            return str(self.root / "emulator-state.json")
        return arg

    def start_service(self, service: str, *, name: str | None = None, env: dict[str, str] | None = None) -> Service:
        name = name or service
        argv, compose_argv = self.native_argv(service, hostname=name)
        log = self.logs / f"{name}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                argv,
                env=env or self.service_env(service, hostname=name),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.root,
            )
        self.services[name] = Service(name=name, argv=argv, compose_argv=compose_argv, proc=proc, log=log)
        with (self.root / "pids").open("a") as pids:  # process groups, should anything outlive the session
            pids.write(f"{proc.pid} {name}\n")
        self.ran.append((service, argv, compose_argv))
        return self.services[name]

    def run_once(self, service: str, *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        argv, compose_argv = self.native_argv(service)
        self.ran.append((service, argv, compose_argv))
        result = subprocess.run(
            argv, env=self.service_env(service), capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        (self.logs / f"{service}.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            raise RuntimeError(f"{service} failed ({result.returncode}):\n{(result.stdout + result.stderr)[-4000:]}")
        return result

    def airflow_cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_executable("airflow"), *args],
            env=self.service_env("airflow-scheduler", hostname="airflow-cli"),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )

    def healthcheck(self, service: str, *, hostname: str | None = None) -> bool:
        """The compose service's own healthcheck command, localised; True when it passes."""
        test = self.compose["services"][service]["healthcheck"]["test"]
        kind, rest = test[0], [self.localise(str(part)) for part in interpolate(test[1:], self.values)]
        env = self.service_env(service, hostname=hostname)
        if kind == "CMD-SHELL":
            argv = ["sh", "-c", rest[0]]
        else:
            argv = [_executable(rest[0], (self.pg.bin,) if self.pg else ()), *rest[1:]]
        if argv[0].endswith("redis-cli") or "redis-cli" in argv[-1]:
            argv[-1] = argv[-1].replace("redis-cli", f"redis-cli -p {self.ports['redis_port']}")
        if argv[0].endswith("pg_isready"):
            argv += ["-h", "127.0.0.1", "-p", str(self.pg.port if self.pg else 5432)]
        try:
            return subprocess.run(argv, env=env, capture_output=True, timeout=60).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def wait_healthy(self, checks: Mapping[str, str], *, timeout: float) -> None:
        """Run healthchecks (name -> compose service) in parallel until each passes once."""
        passed: dict[str, bool] = dict.fromkeys(checks, False)

        def poll(name: str, service: str) -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                proc = self.services.get(name)
                if proc is not None and proc.proc.poll() is not None:
                    return
                if self._ready_hint(name, service) and self.healthcheck(service, hostname=name):
                    passed[name] = True
                    return
                time.sleep(1)

        threads = [threading.Thread(target=poll, args=item, daemon=True) for item in checks.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failed = [name for name, ok in passed.items() if not ok]
        if failed:
            tails = "\n".join(f"--- {n}: {self.log_tail(n)}" for n in failed)
            raise RuntimeError(f"not healthy: {failed}\n{tails}")

    def _ready_hint(self, name: str, service: str) -> bool:
        """A cheap sign that a service is up, so the (costly) healthcheck commands run about once each."""
        if service in ("airflow-dag-processor", "airflow-triggerer"):
            key = service.removeprefix("airflow-").replace("-", "_")
            try:
                health = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=2).json()
            except (requests.RequestException, ValueError):
                return False
            return (health.get(key) or {}).get("status") == "healthy"
        if service == "airflow-worker":
            return f"celery@{name} ready." in self.log_tail(name, 100_000)
        return True

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    # -- lifecycle ------------------------------------------------------------------------------------
    def _step(self, name: str, started: float) -> None:
        self.timings[name] = round(time.monotonic() - started, 1)

    def _postgres(self) -> None:
        import psycopg2

        self.pg = ThrowawayPostgres().start()
        env = service_environment(self.compose, "postgres", self.values)
        with contextlib.closing(psycopg2.connect(self.pg.uri)) as conn:
            conn.autocommit = True  # what the postgres image does with POSTGRES_USER/PASSWORD/DB
            cur = conn.cursor()
            cur.execute(f"CREATE USER {env['POSTGRES_USER']} SUPERUSER PASSWORD %s", (env["POSTGRES_PASSWORD"],))
            cur.execute(f"CREATE DATABASE {env['POSTGRES_DB']} OWNER {env['POSTGRES_USER']}")
        # the compose file mounts this folder as /docker-entrypoint-initdb.d: run its scripts the same way
        init_dir = next(
            REPO / v.split(":")[0]
            for v in self.compose["services"]["postgres"]["volumes"]
            if "docker-entrypoint-initdb.d" in v
        )
        pg_env = {**os.environ, **env, "PGHOST": "127.0.0.1", "PGPORT": str(self.pg.port)}
        pg_env["PATH"] = f"{self.pg.bin}:{pg_env['PATH']}"
        for script in sorted(init_dir.glob("*.sh")):
            subprocess.run(["sh", str(script)], env=pg_env, check=True, capture_output=True, timeout=60)

    def _mount_volumes(self) -> None:
        """The Airflow services' bind mounts of repo folders become symlinks in the native AIRFLOW_HOME."""
        for name, service in self.compose["services"].items():
            if not name.startswith("airflow-"):
                continue
            for volume in service.get("volumes", []):
                source, target = interpolate(volume, self.values).split(":")[:2]
                link = Path(self.localise(target))
                if source.startswith(".") and not link.is_symlink():
                    link.symlink_to(REPO / source.removeprefix("./"))

    def start(self) -> NativeCluster:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        t = time.monotonic()
        self._postgres()
        self._mount_volumes()
        self.start_service("redis")
        self.start_service("daily-emulator")
        self.wait_healthy({"postgres": "postgres", "redis": "redis", "daily-emulator": "daily-emulator"}, timeout=60)
        self._step("postgres, redis, emulator", t)

        t = time.monotonic()
        self.run_once("airflow-init")  # the bootstrap: migrate, connections, Variable, pool, meetings table
        self._step("airflow-init (bootstrap)", t)

        t = time.monotonic()
        for service in AIRFLOW_SERVICES:
            self.start_service(service)
        for worker in WORKERS:
            self.start_service("airflow-worker", name=worker)
        checks = {name: name for name in AIRFLOW_SERVICES} | dict.fromkeys(WORKERS, "airflow-worker")
        self.wait_healthy(checks, timeout=240)
        self._step("Airflow services healthy", t)

    def stop(self) -> None:
        """SIGTERM to every process group (reverse start order), SIGKILL what is left; then PostgreSQL."""
        procs = []
        for name in reversed(list(self.services)):
            proc = self.services.pop(name).proc
            procs.append(proc)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if self.pg is not None:
            self.pg.stop()
            self.pg = None

    # -- the REST API ---------------------------------------------------------------------------------
    def api(self) -> AirflowApi:
        return AirflowApi(self.api_url, self.username, self.password)

    def emulator_state(self) -> dict[str, Any]:
        return requests.get(f"{self.emulator_url}/_emulator/state", timeout=10).json()

    def summary(self) -> str:
        lines = [f"native cluster under {self.root} (logs: {self.logs})"]
        lines += [f"  {step}: {seconds}s" for step, seconds in self.timings.items()]
        return "\n".join(lines)


class AirflowApi:
    """Airflow's REST API v2 with a JWT from ``POST /auth/token`` (simple auth manager login)."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.session = requests.Session()
        response = requests.post(f"{base}/auth/token", json={"username": username, "password": password}, timeout=30)
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.base}/api/v2{path}", timeout=30, **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        response = self.request("GET", path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Any) -> Any:
        response = self.request("POST", path, json=body)
        if response.status_code >= 400:
            raise AssertionError(f"POST {path}: {response.status_code} {response.text}")
        return response.json()

    def patch(self, path: str, body: Any) -> Any:
        response = self.request("PATCH", path, json=body)
        if response.status_code >= 400:
            raise AssertionError(f"PATCH {path}: {response.status_code} {response.text}")
        return response.json()

    def wait_for_dag(self, dag_id: str, *, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = self.request("GET", f"/dags/{dag_id}")
            if response.status_code == 200:
                return response.json()
            assert time.monotonic() < deadline, f"DAG {dag_id} was never parsed: {response.text}"
            time.sleep(2)

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.get(f"/dags/{dag_id}/dagRuns", limit=100, order_by="run_after")["dag_runs"]

    def wait_for_runs(self, dag_id: str, run_ids: set[str], *, timeout: float = 300) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            runs = {r["dag_run_id"]: r for r in self.runs(dag_id) if r["dag_run_id"] in run_ids}
            if len(runs) == len(run_ids) and all(r["state"] in ("success", "failed") for r in runs.values()):
                return runs
            states = {k: v["state"] for k, v in runs.items()}
            assert time.monotonic() < deadline, f"runs did not finish in {timeout}s: {states}"
            time.sleep(2)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]


# -- the meetings the checks use ------------------------------------------------------------------
def _meeting(meeting_id: str, day: date, hour: int, *, status: str = "scheduled") -> dict[str, Any]:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return {
        "meeting_id": meeting_id,
        "title": f"Cluster check {meeting_id}",
        "starts_at": start,
        "ends_at": start + timedelta(minutes=45),
        "timezone": "UTC",
        "wait_for_meeting_start": True,
        "status": status,
    }


def meeting_groups(today: date) -> dict[str, list[dict[str, Any]]]:
    """Meetings by the run that should provision them; ``untouched`` ones no run may touch.

    Days are relative to today (UTC). The rolling horizon is 2 days (``DAILY_HORIZON_DAYS``), lead 30.
    """

    def day(n: int) -> date:
        return today + timedelta(days=n)

    return {
        "horizon": [_meeting(f"H{i}", day(1), h) for i, h in enumerate((10, 15))],  # the scheduled run
        "window": [_meeting(f"W{n}{i}", day(n), h) for n in (5, 6) for i, h in enumerate((8, 10, 13, 16))],
        "backfill": [_meeting(f"B{n}{i}", day(n), h) for n in (27, 28) for i, h in enumerate((9, 12, 17))],
        "browser": [_meeting(f"UI{i}", day(10), h) for i, h in enumerate((9, 11, 14))],
        "pool_trap": [_meeting(f"P{i}", day(12), h) for i, h in enumerate((9, 14))],
        "untouched": [
            _meeting("X-before-window", day(4), 12),
            _meeting("X-cancelled", day(5), 11, status="cancelled"),
            _meeting("X-after-window", day(7), 9),
            _meeting("X-before-backfill", day(26), 23),
            _meeting("X-after-backfill", day(29), 0),
        ],
    }


BACKFILL_DAYS_BACK = (3, 2)  # backfill dates today-3, today-2 -> meetings on day 27, 28 (lead 30)


def seed_meetings(cluster: NativeCluster, today: date) -> dict[str, list[dict[str, Any]]]:
    import psycopg2

    from daily_dialin.provisioning.config import SOURCE_COLUMNS

    groups = meeting_groups(today)
    rows = [m for group in groups.values() for m in group]
    names = ", ".join(SOURCE_COLUMNS)
    sql = f"INSERT INTO daily_meetings ({names}) VALUES ({', '.join(['%s'] * len(SOURCE_COLUMNS))})"
    with contextlib.closing(psycopg2.connect(cluster.meetings_uri)) as conn, conn.cursor() as cur:
        cur.executemany(sql, [tuple(m.get(c) for c in SOURCE_COLUMNS) for m in rows])
        conn.commit()
    return groups


def read_meetings(cluster: NativeCluster) -> dict[str, dict[str, Any]]:
    import psycopg2
    import psycopg2.extras

    with contextlib.closing(psycopg2.connect(cluster.meetings_uri)) as conn:
        cur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
        cur.execute("SELECT * FROM daily_meetings")
        return {row["meeting_id"]: dict(row) for row in cur.fetchall()}


def pins_by_room(state: Mapping[str, Any]) -> dict[str, str | None]:
    """Room name -> PIN (``config.dialin_code``), from the emulator's ``/_emulator/state``."""
    return {room["name"]: (room.get("config") or {}).get("dialin_code") for room in state["rooms"]}
