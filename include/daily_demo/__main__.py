"""The main job, one command: ``python -m daily_demo`` (what ``bash .ci/demo`` runs).

On first use it creates the embedded default under ``.demo/``: a SQLite meetings table seeded
with sample meetings over the next four weeks, an Airflow home with a migrated metadata DB, and a
local Daily emulator (a domain with a purchased number on the PIN flow) whose state survives in a
JSON file. Then it runs ``daily_dialin_provisioning`` through Airflow (``airflow dags test``) and
prints the provisioned meetings with their dial strings, then ``daily_dialin_invitations``, and
prints where the meetings' calendar invites are and one of them as text. Run it again: everything
is reused, nothing new is provisioned and the invites stay as they are. ``--reset`` starts over.

Pointing the same DAG at a real Daily account is a connection change only (see README).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from daily_demo import invites

REPO = Path(__file__).resolve().parents[2]
DEMO_KEY = "demo-api-key"
DEMO_NUMBER = "+12095550100"
DAG_ID = "daily_dialin_provisioning"


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def _start_emulator(workdir: Path) -> tuple[subprocess.Popen, str]:
    cmd = [
        sys.executable,
        "-m",
        "daily_emulator",
        "--port",
        "0",
        "--api-key",
        DEMO_KEY,
        "--domain",
        "demo",
        "--purchased-number",
        DEMO_NUMBER,
        "--purchased-number",
        "+12095550101",
        "--state-file",
        str(workdir / "emulator-state.json"),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        match = re.search(r"listening on (http://\S+/v1)", line)
        if match:
            return proc, match.group(1)
    proc.kill()
    raise SystemExit("the Daily emulator did not start")


def _airflow(env: dict[str, str], *args: str, log: Path) -> int:
    with log.open("a") as out:
        out.write(f"\n$ airflow {' '.join(args)}\n")
        out.flush()
        return subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), *args], env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode


def _run_dag(env: dict[str, str], dag_id: str, *, log: Path) -> tuple[str, str, float]:
    """``airflow dags test <dag_id>``: its state (``success`` or ``FAILED``), its part of the log, seconds."""
    _say(f"running {dag_id} through Airflow (log: {log})")
    started = time.monotonic()
    code = _airflow(env, "dags", "test", dag_id, log=log)
    text = log.read_text()
    run_log = text[text.rfind(f"$ airflow dags test {dag_id}") :]
    state = "success" if code == 0 and "state=success" in run_log else "FAILED"
    return state, run_log, time.monotonic() - started


def _print_meetings(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT meeting_id, title, starts_at, timezone, status, room_url, dial_string, last_error "
            "FROM daily_meetings ORDER BY starts_at, meeting_id"
        ).fetchall()
    from daily_dialin.reporting import format_table

    table = [("meeting", "title", "starts (UTC)", "room URL", "dial string")]
    pending = 0
    for meeting_id, title, starts, _tz, status, url, dial, error in rows:
        if dial:
            table.append((meeting_id, title, starts[:16], url, dial))
        else:
            pending += 1
            reason = "cancelled" if status != "scheduled" else (error or "not provisioned")
            table.append((meeting_id, title, starts[:16], "-", f"({reason})"))
    print(format_table(table))
    print(f"{len(rows) - pending} of {len(rows)} meetings have a dial-in room.")
    _print_series(db)


def _print_series(db: Path) -> None:
    """Each recurring series with its one room and its one dial string (PIN included, as above)."""
    with sqlite3.connect(db) as conn:
        if "series_id" not in {column[1] for column in conn.execute("PRAGMA table_info(daily_meetings)")}:
            return
        series = conn.execute(
            "SELECT series_id, COUNT(*), COUNT(DISTINCT room_name), COUNT(DISTINCT dial_string), "
            "MIN(room_name), MIN(dial_string) FROM daily_meetings WHERE series_id IS NOT NULL "
            "AND dial_string IS NOT NULL GROUP BY series_id ORDER BY series_id"
        ).fetchall()
    for series_id, count, rooms, dials, room, dial in series:
        one = "one room, one PIN" if rooms == dials == 1 else f"{rooms} rooms, {dials} dial strings (!)"
        print(f"Series {series_id}: {count} occurrences on {one}: room {room}, dial {dial}")


def _doctor(env: dict[str, str]) -> int:
    """``python -m daily_dialin doctor``: what a real deployment starts with, all ok here."""
    _say("checking the deployment (python -m daily_dialin doctor)")
    return subprocess.run([sys.executable, "-m", "daily_dialin", "doctor"], env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daily_demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=REPO / ".demo", help="where the demo keeps its state")
    parser.add_argument("--meetings", type=int, default=24, help="sample meetings to seed on first use")
    parser.add_argument("--reset", action="store_true", help="delete the demo state and start over")
    args = parser.parse_args(argv)

    workdir: Path = args.workdir.resolve()
    if args.reset and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    home, db, log = workdir / "airflow", workdir / "meetings.db", workdir / "airflow.log"

    _say("starting the local Daily emulator")
    emulator, base_url = _start_emulator(workdir)
    try:
        env = os.environ.copy()
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the Daily connection's Test button (doctor)
                "AIRFLOW_CONN_DAILY_DEFAULT": json.dumps(
                    {"conn_type": "daily", "host": base_url, "password": DEMO_KEY}
                ),
                "AIRFLOW_CONN_DAILY_MEETINGS_DB": json.dumps({"conn_type": "sqlite", "host": str(db)}),
                **invites.invitations_env(workdir),
            }
        )
        os.environ.update(env)  # the seeding below uses the same connections in this process

        if not (home / "airflow.db").exists():
            _say(f"setting up Airflow in {home} (python -m daily_dialin.bootstrap)")
            settings = {"DAILY_API_URL": base_url, "DAILY_API_KEY": DEMO_KEY, "DAILY_MEETINGS_CONN_TYPE": "sqlite"}
            settings["DAILY_MEETINGS_HOST"] = str(db)
            boot = [sys.executable, "-m", "daily_dialin.bootstrap", "--migrate"]
            with log.open("a") as out:  # metadata DB, connections, Variable, pool: as in compose and the UI
                done = subprocess.run(boot, env={**env, **settings}, stdout=out, stderr=out, check=False)
            if done.returncode != 0:
                raise SystemExit(f"the bootstrap failed; see {log}")

        if not db.exists():
            from daily_demo.sample import insert_meetings, sample_meetings, sample_series
            from daily_dialin.provisioning.config import ProvisioningConfig
            from daily_dialin.provisioning.table import MeetingsTable

            table = MeetingsTable.from_config(ProvisioningConfig())
            table.create_schema()
            count = insert_meetings(table, sample_meetings(count=args.meetings, pin_number=DEMO_NUMBER))
            count += insert_meetings(table, sample_series())
            _say(f"seeded {count} sample meetings (one weekly series among them) into {db}")

        state, run_log, seconds = _run_dag(env, DAG_ID, log=log)
        summary = [re.sub(r"\+\s+\[.*$", "+", line) for line in run_log.splitlines() if line.startswith(("|", "+"))]
        print("\n".join(summary[-12:]))
        _say(f"run finished: {state} in {seconds:.1f}s")
        print()
        _print_meetings(db)

        invites_state, run_log, seconds = _run_dag(env, invites.DAG_ID, log=log)
        _say(f"run finished: {invites_state} in {seconds:.1f}s ({invites.run_counts(run_log)})")
        invites.print_invitations(workdir, _say)
        doctor = _doctor(env)
        return 0 if state == invites_state == "success" and doctor == 0 else 1
    finally:
        emulator.send_signal(signal.SIGTERM)
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()


if __name__ == "__main__":
    sys.exit(main())
