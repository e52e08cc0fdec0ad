"""What a room becomes in its meeting's row: the one builder of :class:`Provisioned` and the one
``pin_changed`` rule, for every path that writes a room back (a chunk of one-off meetings, a
series room shared by its occurrences, reconcile's repairs).

Why one home: the copies drifted before (a reinstated series was not reported in
``pin_changed`` while a reinstated one-off meeting was); a rule written once cannot disagree.

May import: the provider's models and rooms, ``daily_dialin.rows`` and the provisioning settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_daily.models import dial_string

if TYPE_CHECKING:
    from daily_dialin.provisioning.config import ProvisioningConfig
    from daily_dialin.rows import MeetingRow


@dataclass(frozen=True)
class Provisioned:
    """A meeting's room, to be written into its row. The PIN and the dial string that carries it
    stay out of ``repr``: a logged or asserted value never shows them."""

    meeting_id: str
    room_name: str
    room_url: str | None
    pin: str = field(repr=False)
    number: str
    dial_string: str = field(repr=False)
    room_exp: int
    fingerprint: str


@dataclass(frozen=True)
class Failure:
    """Why a meeting has no room; ``counts`` says whether it is an attempt of that meeting (its
    row is bad, Daily refused its room) or not (an outage, a wrong key: never strands it)."""

    meeting_id: str
    reason: str
    counts: bool
    # a row problem no run can fix (a time that is no real instant): not an attempt, but its
    # problem digest is stored like a counted failure's, so pending_work sees it as reported
    reported: bool = False


def provisioned_for(
    row: MeetingRow, room: Any, *, room_name: str, exp: int, fallback: str | None, config: ProvisioningConfig
) -> Provisioned:
    """Row ``row`` in Daily's ``room`` (a provider ``Room`` with its PIN): the values written back.

    ``room_name`` is the name the room was asked for (Daily answers with the same name), ``exp``
    the room's expiry as sent (or as Daily has it, for a repair), ``fallback`` the connection's
    default dial-in number for a room whose own number is not listed. The fingerprint is the
    row's own: the next run compares it to decide whether the room must change."""
    pin = room.pin or ""
    number = room.dialin_number(fallback=fallback)
    return Provisioned(
        meeting_id=row.meeting_id,
        room_name=room_name,
        room_url=room.url,
        pin=pin,
        number=number,
        dial_string=dial_string(number, pin),
        room_exp=int(exp or 0),
        fingerprint=row.fingerprint(config),
    )


def pin_changed(row: MeetingRow, pin: str) -> bool:
    """Whether the row's invitation must be re-sent for its new room: it held another PIN, or it
    held a room that was deleted (cancelled, or a series occurrence's own room left on joining the
    series: ``clear_rooms`` keeps ``room_name`` and clears the PIN and ``provisioned_at``) and is
    in a room again - a new room has a new PIN. The same for one-off meetings and series."""
    if row.pin is not None:
        return row.pin != pin
    return bool(row.get("room_name")) and not row.is_provisioned
