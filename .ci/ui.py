"""The UI quickstart (``bash .ci/ui``): a local Airflow on the embedded default, ready in the browser.

Starts the local Daily emulator (a domain with a purchased number on the PIN flow), applies the one
bootstrap (``python -m daily_dialin.bootstrap``: metadata DB, the ``daily_default`` and
``daily_meetings_db`` connections, the ``daily_provisioning`` Variable, the ``daily_api`` pool, the
SQLite meetings table seeded with sample meetings on first use), then Airflow's components
(API server, scheduler with the LocalExecutor, DAG processor, triggerer) with the "Test" button of the connection form
enabled, and prints the URL to open - Airflow's login, which leads to the Dial-in page - and the
login. Everything stays under ``.demo/ui/``; Ctrl-C stops it all.

Freshness: ``daily_dialin_provisioning`` runs on the meetings-table watcher (in the triggerer, polling
every 5 s) and on no clock (``DAILY_PROVISIONING_SCHEDULE`` empty): once the DAG is unpaused, a row
inserted into ``.demo/ui/meetings.db`` shows its dial string within a minute, with nothing triggered
by hand. Unpausing therefore starts a run for the sample meetings too (the watcher sees them).
``--check`` starts everything, checks the login, the DAG, the pool and the Variable through the REST
API, and that the URL printed leads to the Dial-in page, and stops (used by the tests);
``--check-freshness`` also unpauses the DAG, inserts a meeting
starting in an hour and waits for its dial string.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EMULATOR_KEY = "quickstart-emulator-key-2468"
PIN_NUMBER = "+12095550100"
DAG_ID = "daily_dialin_provisioning"
# the components `airflow standalone` would start; log servers off (logs are local files), so every
# server binds 127.0.0.1 (the API server through AIRFLOW__API__HOST)
COMPONENTS = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _start_emulator(workdir: Path, port: int) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "daily_emulator", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--api-key", EMULATOR_KEY, "--domain", "demo", "--purchased-number", PIN_NUMBER]
    cmd += ["--pin-dialin-number", PIN_NUMBER, "--state-file", str(workdir / "emulator-state.json")]
    log = (workdir / "emulator.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"listening on (http://\S+/v1)", (workdir / "emulator.log").read_text())
        if match:
            return proc, match.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    _stop(proc)
    raise SystemExit(f"the Daily emulator did not start; see {workdir / 'emulator.log'}")


def _login(workdir: Path) -> tuple[str, str]:
    path = workdir / "login.json"
    if not path.exists():
        path.write_text(json.dumps({"username": "admin", "password": secrets.token_urlsafe(12)}))
        path.chmod(0o600)
    login = json.loads(path.read_text())
    return login["username"], login["password"]


def _wait_ready(url: str, username: str, password: str, components: dict, workdir: Path) -> str:
    """Wait until the scheduler is healthy and the DAG is parsed; returns a JWT."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for name, proc in components.items():
            if proc.poll() is not None:
                raise SystemExit(f"airflow {name} exited; see {workdir / (name + '.log')}")
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            health = requests.get(f"{url}/api/v2/monitor/health", timeout=3).json()
            if health["scheduler"]["status"] == "healthy":
                token = requests.post(
                    f"{url}/auth/token", json={"username": username, "password": password}, timeout=10
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                if requests.get(f"{url}/api/v2/dags/{DAG_ID}", headers=headers, timeout=10).status_code == 200:
                    return token
        time.sleep(2)
    raise SystemExit(f"Airflow did not become ready in 5 minutes; see the logs in {workdir}")


def dialin_url(url: str) -> str:
    """The URL to open: Airflow's login, then the Dial-in page in the UI's frame (``next``, a path
    on the same server: what the simple auth manager's login page goes to after signing in)."""
    from urllib.parse import urlencode

    from daily_dialin.ui.plugin import ui_path

    return f"{url}/auth/login?{urlencode({'next': ui_path()})}"


def _check_dialin(url: str, token: str) -> None:
    """The URL printed leads to the page: Airflow lists the plugin's nav view at that route, and the
    page it frames answers the signed-in user."""
    from urllib.parse import parse_qs, urlsplit

    from daily_dialin.ui.plugin import URL_PREFIX

    headers = {"Authorization": f"Bearer {token}"}
    route = parse_qs(urlsplit(dialin_url(url)).query)["next"][0].removeprefix("/plugin/")
    plugins = requests.get(f"{url}/api/v2/plugins", headers=headers, timeout=10).json()["plugins"]
    views = [view for plugin in plugins for view in plugin["external_views"] if view.get("url_route") == route]
    assert [view["href"] for view in views] == [f"{URL_PREFIX}/"], f"no nav view at /plugin/{route}: {plugins}"
    page = requests.get(f"{url}{URL_PREFIX}/", headers=headers, timeout=30)
    assert page.status_code == 200 and "<title>Dial-in</title>" in page.text, (page.status_code, page.text[:300])
    _say(f"dial-in page check passed: {dialin_url(url)} leads to {URL_PREFIX}/ in the UI's frame")


def _check(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    dag = requests.get(f"{url}/api/v2/dags/{DAG_ID}", headers=headers, timeout=10).json()
    pool = requests.get(f"{url}/api/v2/pools/daily_api", headers=headers, timeout=10).json()
    variable = requests.get(f"{url}/api/v2/variables/daily_provisioning", headers=headers, timeout=10).json()
    from daily_dialin.provisioning.config import ProvisioningConfig

    concurrency = ProvisioningConfig(**json.loads(variable["value"])).api_concurrency  # unset: the default
    # no clock here: the DAG runs on the meetings-table watcher only (an asset schedule, no cron)
    assert "asset" in str(dag["timetable_summary"]).lower(), f"the quickstart DAG must run on the watcher: {dag}"
    assert pool["slots"] == concurrency, (pool, concurrency)
    _say(f"check passed: DAG {DAG_ID} runs on the watcher, pool daily_api has {pool['slots']} slots = api_concurrency")


def _check_freshness(url: str, token: str, meetings_db: Path, *, timeout: float = 240) -> None:
    """Unpause the DAG, insert a meeting starting in an hour, wait for its dial string (nothing triggered)."""
    import sqlite3
    from datetime import UTC, datetime, timedelta

    headers = {"Authorization": f"Bearer {token}"}
    requests.patch(f"{url}/api/v2/dags/{DAG_ID}", json={"is_paused": False}, headers=headers, timeout=10)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    meeting_id = f"QUICK-{int(time.time())}"
    with contextlib.closing(sqlite3.connect(meetings_db)) as db:
        db.execute(
            "INSERT INTO daily_meetings (meeting_id, title, starts_at, ends_at, timezone, status) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                meeting_id,
                "Booked a minute ago",
                f"{start:%Y-%m-%d %H:%M:%S}",
                f"{start + timedelta(minutes=30):%Y-%m-%d %H:%M:%S}",
                "UTC",
                "scheduled",
            ),
        )
        db.commit()
    inserted = time.monotonic()
    while time.monotonic() - inserted < timeout:
        with contextlib.closing(sqlite3.connect(meetings_db)) as db:
            (dial,) = db.execute(
                "SELECT dial_string FROM daily_meetings WHERE meeting_id = ?", (meeting_id,)
            ).fetchone()
        if dial:
            _say(
                f"freshness check passed: {meeting_id} got its dial string "
                f"{time.monotonic() - inserted:.0f} s after insert"
            )
            return
        time.sleep(2)
    raise SystemExit(f"freshness check failed: {meeting_id} has no dial string {timeout:.0f} s after insert")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bash .ci/ui", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=REPO / ".demo" / "ui", help="state (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="Airflow UI/API port (0: a free one)")
    parser.add_argument("--emulator-port", type=int, default=8765, help="Daily emulator port (0: a free one)")
    parser.add_argument("--meetings", type=int, default=24, help="sample meetings seeded into a new table")
    parser.add_argument("--reset", action="store_true", help="delete the quickstart's state first")
    parser.add_argument("--check", action="store_true", help="start, check through the REST API, stop")
    parser.add_argument(
        "--check-freshness",
        action="store_true",
        help="with --check: also insert a meeting and wait for its dial string",
    )
    args = parser.parse_args(argv)

    workdir: Path = args.workdir.resolve()
    if args.reset and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    port = args.port or _free_port()
    url = f"http://127.0.0.1:{port}"
    username, password = _login(workdir)
    emulator, components = None, {}
    stop = {"requested": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(requested=True))
    try:
        _say("starting the local Daily emulator")
        emulator, base_url = _start_emulator(workdir, args.emulator_port or _free_port())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAILY_"))}
        env.update(
            {
                "PATH": f"{BIN}:{env.get('PATH', '')}",
                "AIRFLOW_HOME": str(workdir / "airflow"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{username}:admin",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(port),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
                "DAILY_PROVISIONING_SCHEDULE": "",  # no clock: the watcher alone starts runs
                "DAILY_PROVISIONING_WATCH": "1",
                "DAILY_PROVISIONING_WATCH_SECONDS": "5",
                # the bootstrap's settings (daily_dialin/airflow_settings/)
                "DAILY_API_URL": base_url,
                "DAILY_API_KEY": EMULATOR_KEY,
                "DAILY_MEETINGS_CONN_TYPE": "sqlite",
                "DAILY_MEETINGS_HOST": str(workdir / "meetings.db"),
                "DAILY_SAMPLE_PIN_NUMBER": PIN_NUMBER,
                "AIRFLOW_ADMIN_USERNAME": username,
                "AIRFLOW_ADMIN_PASSWORD": password,
            }
        )
        _say("applying the bootstrap (python -m daily_dialin.bootstrap)")
        boot = [sys.executable, "-m", "daily_dialin.bootstrap", "--migrate", "--create-meetings-table"]
        seed = [sys.executable, "-m", "daily_demo.seed", str(args.meetings)]
        with (workdir / "bootstrap.log").open("w") as out:
            for command in (boot, seed):
                if subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False).returncode:
                    raise SystemExit(f"the bootstrap failed; see {workdir / 'bootstrap.log'}")

        for name, command in COMPONENTS.items():
            with (workdir / f"{name}.log").open("w") as out:
                components[name] = subprocess.Popen(
                    [str(BIN / "airflow"), *command],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        _say(f"started {', '.join(COMPONENTS)} (logs: {workdir}/<name>.log)")
        token = _wait_ready(url, username, password, components, workdir)
        if args.check:
            _check(url, token)
            _check_dialin(url, token)
            if args.check_freshness:
                _check_freshness(url, token, workdir / "meetings.db")
            return 0
        print(
            f"\n  Open:         {dialin_url(url)}\n"
            f"  Login:        {username} / {password}  (then you are on the Dial-in page)\n"
            f"  Airflow UI:   {url}\n"
            f"  Daily (emulator): {base_url}  key {EMULATOR_KEY}\n"
            f"  Meetings:     {workdir / 'meetings.db'} (SQLite, connection daily_meetings_db)\n\n"
            f"  {DAG_ID} runs on the meetings-table watcher once unpaused (no clock here): insert a row\n"
            f"  into {workdir / 'meetings.db'} and its dial string appears within a minute.\n"
            "  Trigger -> the Params form for a manual run; start with Dry run ticked.\n"
            "  Connections -> daily_default -> Test checks the API key against the emulator.\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stop["requested"] and all(proc.poll() is None for proc in components.values()):
            time.sleep(1)
        return 0 if stop["requested"] else 1
    except KeyboardInterrupt:
        return 0
    finally:
        _say("stopping")
        for proc in components.values():
            _stop(proc)
        _stop(emulator)


if __name__ == "__main__":
    sys.exit(main())
