"""The Params form of the provisioning DAG (validated by Airflow's API server before a run).

Kept here so the DAG file only wires tasks. Dates are UTC calendar days, both ends included.
"""

from __future__ import annotations

from airflow.sdk import Param

from daily_dialin.meeting_ids import meeting_ids_param
from daily_dialin.provisioning.config import MAX_AHEAD_DAYS

DATE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"

# Deleting a room ends every call in it, video and phone. Rooms with people in them are held back
# ("deferred: live") unless a person sets this on a manual run; it still goes through the gate.
FORCE_LIVE_DELETIONS = Param(
    False,
    type=["null", "boolean"],  # optional: without "null" the form marks it required
    title="Force deletion of live rooms",
    description="Delete the rooms of cancelled meetings (and orphans) even while people are in them, cutting "
    "their video and phone calls. Off: such rooms are kept, reported as deferred, and deleted by a later run "
    "once empty.",
)

# a person's Reject of a deletion is remembered (daily_dialin.provisioning.ledger); this forgets it
REDECIDE_DELETIONS = Param(
    False,
    type=["null", "boolean"],
    title="Ask again about rejected deletions",
    description="A person rejected deleting some rooms: nobody is asked about them again until more rooms are "
    "to be deleted. Set this to forget that Reject: a deletion over the budget is handed to the approval DAG "
    "again.",
)


def _date_param(title: str, description: str) -> Param:
    """An optional UTC calendar day (``YYYY-MM-DD``)."""
    return Param(
        None, type=["null", "string"], format="date", pattern=DATE_PATTERN, title=title, description=description
    )


def _days_param(minimum: int, title: str, description: str) -> Param:
    """An optional count of days, at most ``MAX_AHEAD_DAYS`` (inside Daily's 365; empty: the settings decide)."""
    return Param(
        None,
        type=["null", "integer"],
        minimum=minimum,
        maximum=MAX_AHEAD_DAYS,
        title=title,
        description=description,
    )


PROVISIONING_PARAMS = {
    "mode": Param(
        "auto",
        type="string",
        enum=["auto", "rolling", "calendar_day"],
        title="Mode",
        description="auto: backfill runs provision day D + lead days, other runs the rolling horizon. "
        "calendar_day: force the backfill mapping on a run with a logical date. Ignored when a window or "
        "meeting ids are given.",
    ),
    "window_start": _date_param(
        "Window start (UTC date)", "Provision meetings starting on or after this day. Empty: the run's own window."
    ),
    "window_end": _date_param("Window end (UTC date, inclusive)", "Provision meetings starting on or before this day."),
    "meeting_ids": meeting_ids_param("Only these meetings (within the window, if one is given)."),
    "dry_run": Param(False, type="boolean", title="Dry run", description="Report what would be done; touch nothing."),
    "force": Param(
        False,
        type="boolean",
        title="Force re-provision",
        description="Also redo meetings already provisioned (their rooms and PINs are reused) "
        "and those past the attempt limit.",
    ),
    "force_live_deletions": FORCE_LIVE_DELETIONS,
    "lead_days": _days_param(
        0,
        "Lead days (backfill mapping)",
        "A run with logical date D that is not scheduled provisions meetings starting on D + lead days.",
    ),
    "horizon_days": _days_param(
        1, "Rolling horizon (days)", "Scheduled runs provision meetings starting within this many days."
    ),
    "redecide_deletions": REDECIDE_DELETIONS,
}

# The reconcile DAG's form: only what its orphan sweep needs from a person.
RECONCILE_PARAMS = {"force_live_deletions": FORCE_LIVE_DELETIONS, "redecide_deletions": REDECIDE_DELETIONS}
