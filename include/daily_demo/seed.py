"""Seed sample meetings into an empty meetings table: ``python -m daily_demo.seed N``.

Dev and demo only (the UI quickstart, the compose file's emulator profile, the tests): the
application's bootstrap never imports the demo. The table is the one the bootstrap's settings
folder names (``$DAILY_AIRFLOW_SETTINGS``, default the shipped one), with the same environment;
``$DAILY_SAMPLE_PIN_NUMBER`` is the number the samples request. A table that has rows is left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from daily_demo.sample import insert_meetings, sample_meetings
from daily_dialin.bootstrap import SETTINGS_DIR, BootstrapError, load_settings, meetings_table


def seed(*, count: int, settings_dir: Path, env: dict[str, str]) -> int:
    """Insert ``count`` sample meetings if the table is empty; returns how many were inserted."""
    table = meetings_table(load_settings(settings_dir, env))
    if count <= 0 or table.read_all():
        return 0
    return insert_meetings(table, sample_meetings(count=count, pin_number=env.get("DAILY_SAMPLE_PIN_NUMBER") or None))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daily_demo.seed", description=__doc__)
    parser.add_argument("count", type=int, help="sample meetings to insert into an empty table")
    parser.add_argument("--settings", type=Path, default=Path(os.environ.get("DAILY_AIRFLOW_SETTINGS") or SETTINGS_DIR))
    args = parser.parse_args(argv)
    try:
        seeded = seed(count=args.count, settings_dir=args.settings, env=dict(os.environ))
    except BootstrapError as exc:
        print(f"seeding failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"seeded": seeded}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
