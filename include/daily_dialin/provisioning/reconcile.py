"""Reconcile the meetings table with Daily: what the table says must be what Daily has.

For every provisioned meeting that is not over, compare its row with the room Daily lists:

* **room missing** (deleted in Daily, expired early): create it again through the same
  idempotent bulk path. It gets a new PIN - reported, so invitations can be re-sent;
* **other PIN** than the table's: Daily's PIN is the one that works - write it to the table,
  report it;
* **other ``exp``** than the table's: update the room's ``exp`` only (never ``dialin``, so the
  PIN is not at risk), then check that the PIN did not change.

One listing of the domain's rooms (100 per call) instead of one GET per meeting; creates and
updates go through the paced hook. Only ids and counts are returned: PINs stay in the table.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from airflow_provider_daily.errors import DailyApiError
from airflow_provider_daily.models import Room, dial_string
from daily_dialin.errors import BadMeetingRow
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import Meeting, room_fingerprint
from daily_dialin.provisioning.table import Failure, MeetingsTable, Provisioned

log = logging.getLogger(__name__)
LISTED = 50


def reconcile(*, config_overrides: dict[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Compare every live provisioned meeting with Daily, repair what differs, report PIN changes."""
    from airflow_provider_daily.bulk import BulkRoomCreator
    from airflow_provider_daily.hooks.daily import DailyHook

    now = now or datetime.now(UTC)
    config = ProvisioningConfig.load(config_overrides)
    table = MeetingsTable.from_config(config)
    table.check_columns()
    rows = table.provisioned_rows(now)
    hook = DailyHook(daily_conn_id=config.daily_conn_id, deadline_seconds=config.chunk_deadline_seconds)
    live = {room.name: room for room in hook.iter_rooms()} if rows else {}
    fallback = hook.settings.default_dialin_number if rows else None

    missing, exp_fixes = [], []
    fixed: dict[str, tuple[dict[str, Any], Room]] = {}
    failures: list[Failure] = []
    for row in rows:
        room = live.get(row["room_name"])
        if room is None:
            missing.append(row)
        elif room.pin != (row.get("dialin_pin") or "").strip():
            fixed[row["meeting_id"]] = (row, room)
        elif row.get("room_exp") is not None and int(room.config.exp or 0) != int(row["room_exp"]):
            exp_fixes.append((row, room))

    specs = {}
    for row in missing:
        try:
            specs[row["meeting_id"]] = Meeting.from_row(row).room_spec(config, now=now.timestamp())
        except BadMeetingRow as exc:
            failures.append(Failure(meeting_id=row["meeting_id"], reason=f"reconcile: {exc.reason}", counts=False))
    if specs:
        outcomes = BulkRoomCreator(hook=hook, batch_size=config.batch_size).ensure_rooms(list(specs.values()))
        by_id = {row["meeting_id"]: row for row in missing}
        for meeting_id, spec in specs.items():
            outcome = outcomes[spec.name]
            if outcome.ok and outcome.room is not None and outcome.room.pin:
                fixed[meeting_id] = (by_id[meeting_id], outcome.room)
            else:
                failures.append(Failure(meeting_id=meeting_id, reason=f"reconcile: {outcome.error}", counts=False))
    for row, room in exp_fixes:
        try:
            updated = hook.update_room(room.name, properties={"exp": int(row["room_exp"])})
        except DailyApiError as exc:
            failures.append(
                Failure(meeting_id=row["meeting_id"], reason=f"reconcile: exp not fixed: {exc}", counts=False)
            )
            continue
        if updated.pin != room.pin:
            fixed[row["meeting_id"]] = (row, updated)

    provisioned = []
    for meeting_id, (row, room) in fixed.items():
        number = room.dialin_number(fallback=fallback)
        provisioned.append(
            Provisioned(
                meeting_id=meeting_id,
                room_name=room.name,
                room_url=room.url,
                pin=room.pin or "",
                number=number,
                dial_string=dial_string(number, room.pin or ""),
                room_exp=int(room.config.exp or row.get("room_exp") or 0),
                fingerprint=room_fingerprint(row, config),
            )
        )
    table.write_results(provisioned=provisioned, failed=failures, now=now)
    pin_changed = sorted(fixed)
    report = {
        "checked": len(rows),
        "recreated": len([m for m in missing if m["meeting_id"] in fixed]),
        "pin_changed": pin_changed[:LISTED],
        "pin_changed_count": len(pin_changed),
        "exp_fixed": len(exp_fixes),
        "failures": {f.meeting_id: f.reason for f in failures[:LISTED]},
        "failed": len(failures),
    }
    log.info(
        "Reconciled %d meeting(s) with Daily: %d room(s) re-created, %d exp fixed, %d PIN(s) changed "
        "(re-send their invitations: %s), %d failed",
        report["checked"],
        report["recreated"],
        report["exp_fixed"],
        report["pin_changed_count"],
        pin_changed[:LISTED],
        report["failed"],
    )
    return report


def verify(report: dict[str, Any]) -> None:
    """Fail the reconcile run when a meeting could not be repaired (its reason is in last_error)."""
    from daily_dialin.errors import ProvisioningFailed

    if report["failed"]:
        ids = ", ".join(repr(i) for i in report["failures"])
        raise ProvisioningFailed(f"{report['failed']} meeting(s) could not be reconciled with Daily: {ids}")
