"""The demo's invitations step: where ``daily_dialin_invitations`` writes, and what the demo prints.

The invites go to ``<workdir>/invitations`` (the ``daily_invitations`` Variable, set in the
environment of the ``airflow`` commands). The demo prints the folder, how many files each part
holds, and one attendee invite as text. Host files are only counted, never printed: each holds a
host link with an owner token.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

DAG_ID = "daily_dialin_invitations"
FOLDER = "invitations"
_COUNTS = re.compile(r"Invitations in \S+: (new=\d+.*?past=\d+)")


def invitations_env(workdir: Path) -> dict[str, str]:
    """The ``daily_invitations`` Variable for the demo: files under ``<workdir>/invitations``."""
    return {"AIRFLOW_VAR_DAILY_INVITATIONS": json.dumps({"base_path": str(workdir / FOLDER)})}


def run_counts(run_log: str) -> str:
    """``new=23, changed=0, …`` as the run's plan task logged it ('' if not found)."""
    found = _COUNTS.findall(run_log)
    return found[-1] if found else ""


def sample_invite(base: Path) -> tuple[Path, str] | None:
    """The attendee file of the earliest meeting with a live invite, and its title."""
    manifest = base / "manifest.json"
    if not manifest.exists():
        return None
    meetings = json.loads(manifest.read_text())["meetings"].values()
    live = sorted((m for m in meetings if m["state"] == "active"), key=lambda m: (m["starts_at"], m["room_name"]))
    for meeting in live:
        path = base / "attendees" / f"{meeting['room_name']}.ics"
        if path.exists():
            return path, meeting["title"]
    return None


def print_invitations(workdir: Path, say) -> None:
    """Where the invites are, and one of them as text."""
    base = workdir / FOLDER
    attendees = sorted((base / "attendees").glob("*.ics"))
    hosts = sorted((base / "hosts").glob("*.ics"))
    say(f"invitations of the sample meetings in {base}:")
    print(f"    attendees/  {len(attendees):3d} calendar files (.ics) with the room link, every number and the PIN")
    print(f"    hosts/      {len(hosts):3d} calendar files with the host link (an owner token): one per host, private")
    found = sample_invite(base)
    if found is None:
        return
    path, title = found
    say(f"{path.relative_to(base)} ({title}), as text:")
    print(path.read_text().replace("\r\n", "\n"), end="")
