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

Rows are read as :class:`daily_dialin.rows.MeetingRow` (exact ids, the stored PIN, the meeting and
its fingerprint by the rules provisioning uses).

May import: the provider, ``daily_dialin.errors``, ``daily_dialin.rows`` and
``daily_dialin.provisioning`` (config, table).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_daily.errors import DailyApiError
from airflow_provider_daily.models import Room, dial_string
from daily_dialin.errors import BadMeetingRow
from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.table import Failure, MeetingsTable, Provisioned
from daily_dialin.rows import MeetingRow, as_row

if TYPE_CHECKING:
    from airflow_provider_daily.hooks.daily import DailyHook

log = logging.getLogger(__name__)
LISTED = 50


def reconcile(*, config_overrides: dict[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Compare every live provisioned meeting with Daily, repair what differs, report PIN changes."""
    from airflow_provider_daily.hooks.daily import DailyHook

    now = now or datetime.now(UTC)
    config = ProvisioningConfig.load(config_overrides)
    table = MeetingsTable.from_config(config)
    table.check_columns()
    rows = [as_row(row, config) for row in table.provisioned_rows(now)]
    hook = DailyHook(daily_conn_id=config.daily_conn_id, deadline_seconds=config.chunk_deadline_seconds)
    live = {room.name: room for room in hook.iter_rooms()} if rows else {}
    fallback = hook.settings.default_dialin_number if rows else None

    missing, fixed, exp_fixes = _compare(rows, live)
    failures: list[Failure] = []
    recreated = _recreate(missing, hook=hook, config=config, now=now, fixed=fixed, failures=failures)
    _fix_exp(exp_fixes, hook=hook, fixed=fixed, failures=failures)

    provisioned = [_provisioned(row, room, fallback=fallback, config=config) for row, room in fixed.values()]
    table.write_results(provisioned=provisioned, failed=failures, now=now)
    pin_changed = sorted(fixed)
    report = {
        "checked": len(rows),
        "recreated": recreated,
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


Fixed = dict[str, tuple[MeetingRow, Room]]


def _compare(
    rows: list[MeetingRow], live: dict[str, Room]
) -> tuple[list[MeetingRow], Fixed, list[tuple[MeetingRow, Room]]]:
    """Split the rows: room missing; other PIN (Daily's is written back); other ``exp`` (fixed in Daily)."""
    missing: list[MeetingRow] = []
    fixed: Fixed = {}
    exp_fixes: list[tuple[MeetingRow, Room]] = []
    for row in rows:
        room = live.get(row.get("room_name"))
        if room is None:
            missing.append(row)
        elif room.pin != (row.pin or ""):
            fixed[row.meeting_id] = (row, room)
        elif row.get("room_exp") is not None and int(room.config.exp or 0) != int(row.get("room_exp")):
            exp_fixes.append((row, room))
    return missing, fixed, exp_fixes


def _recreate(
    missing: list[MeetingRow],
    *,
    hook: DailyHook,
    config: ProvisioningConfig,
    now: datetime,
    fixed: Fixed,
    failures: list[Failure],
) -> int:
    """Create the missing rooms again (same idempotent bulk path); return how many came back."""
    from airflow_provider_daily.bulk import BulkRoomCreator

    specs, by_id = {}, {row.meeting_id: row for row in missing}
    for row in missing:
        try:
            specs[row.meeting_id] = row.meeting().room_spec(config, now=now.timestamp())
        except BadMeetingRow as exc:
            failures.append(Failure(meeting_id=row.meeting_id, reason=f"reconcile: {exc.reason}", counts=False))
    if not specs:
        return 0
    outcomes = BulkRoomCreator(hook=hook, batch_size=config.batch_size).ensure_rooms(list(specs.values()))
    recreated = 0
    for meeting_id, spec in specs.items():
        outcome = outcomes[spec.name]
        if outcome.ok and outcome.room is not None and outcome.room.pin:
            fixed[meeting_id] = (by_id[meeting_id], outcome.room)
            recreated += 1
        else:
            failures.append(Failure(meeting_id=meeting_id, reason=f"reconcile: {outcome.error}", counts=False))
    return recreated


def _fix_exp(
    exp_fixes: list[tuple[MeetingRow, Room]], *, hook: DailyHook, fixed: Fixed, failures: list[Failure]
) -> None:
    """Update only ``exp`` (never ``dialin``, so the PIN is not at risk); a PIN that changed anyway is fixed."""
    for row, room in exp_fixes:
        try:
            updated = hook.update_room(room.name, properties={"exp": int(row.get("room_exp"))})
        except DailyApiError as exc:
            failures.append(Failure(meeting_id=row.meeting_id, reason=f"reconcile: exp not fixed: {exc}", counts=False))
            continue
        if updated.pin != room.pin:
            fixed[row.meeting_id] = (row, updated)


def _provisioned(row: MeetingRow, room: Room, *, fallback: str | None, config: ProvisioningConfig) -> Provisioned:
    """What goes back into the row: Daily's room as it is now."""
    number = room.dialin_number(fallback=fallback)
    return Provisioned(
        meeting_id=row.meeting_id,
        room_name=room.name,
        room_url=room.url,
        pin=room.pin or "",
        number=number,
        dial_string=dial_string(number, room.pin or ""),
        room_exp=int(room.config.exp or row.get("room_exp") or 0),
        fingerprint=row.fingerprint(config),
    )


def verify(report: dict[str, Any]) -> None:
    """Fail the reconcile run when a meeting could not be repaired (its reason is in last_error)."""
    from daily_dialin.errors import ProvisioningFailed

    if report["failed"]:
        ids = ", ".join(repr(i) for i in report["failures"])
        raise ProvisioningFailed(f"{report['failed']} meeting(s) could not be reconciled with Daily: {ids}")
