"""The one read model of a meetings-table row: :class:`MeetingRow`, and the one status rule.

Every consumer of the meetings table (provisioning, reconcile, invitations) sees a row through
:class:`MeetingRow`, so each rule about a row has one home:

* the meeting id as text, exactly as stored (never stripped): :func:`.meetings.id_text`;
* the status rule, :func:`normalize_status` (trimmed, case-folded), and its classification
  against :class:`ProvisioningConfig`'s status lists (:class:`StatusKind`); its SQL mirror,
  ``LOWER(TRIM(status))``, lives in ``provisioning/table.py``;
* the room fingerprint and the moved-meeting rule: :func:`.meetings.room_fingerprint`,
  :func:`.meetings.needs_room`;
* parsing to a :class:`.meetings.Meeting` (:meth:`MeetingRow.meeting`);
* the series a row belongs to (optional column ``series_id``): :meth:`MeetingRow.series`;
* what a time stored as text must be for the table to compare it (SQLite):
  :func:`stored_time_problem`, the Python mirror of the table's SQL rule (``table.py``,
  ``_SqliteRules``): the documented UTC text ``YYYY-MM-DD HH:MM:SS`` (optionally ``.`` and 1-6
  digits) naming a real instant. Text with an offset or a zone is refused, in SQL and here alike:
  SQL compares the text as it is (an index range), so it could not honour the offset that
  :func:`.meetings.parse_utc` honours - the row is reported instead of read two ways.

The PIN (and any other written secret, such as a host token) stays out of ``repr``.

May import: ``daily_dialin.provisioning.meetings`` and ``.config`` (and the standard library).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from daily_dialin.provisioning.config import ProvisioningConfig
from daily_dialin.provisioning.meetings import Meeting, id_text, needs_room, room_fingerprint, series_key

__all__ = ["MeetingRow", "StatusKind", "as_row", "normalize_status", "status_kind", "stored_time_problem"]

# the documented text, optionally with a fraction of 1-6 digits; nothing after it (no offset, no zone)
_STORED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?")
_LOOKS_OFFSET = re.compile(r".*(?:[+-][0-9]{2}:?[0-9]{2}|Z|[ ]?[A-Za-z][A-Za-z_/+-]*)", re.DOTALL)


def stored_time_problem(value: object) -> str | None:
    """Why a time stored as text cannot be compared by the table (``None``: it can). The rule the
    SQL of ``_SqliteRules.valid_time`` applies: the documented format, and a real instant - its
    first 19 characters read back unchanged (no month 13, no 30 February, no 24:61)."""
    if not isinstance(value, str):
        return f"is {type(value).__name__}, not text"
    if not _STORED_TIME.fullmatch(value):
        if value[:19] and _STORED_TIME.fullmatch(value[:19]) and _LOOKS_OFFSET.fullmatch(value[19:]):
            return "carries an offset or a time zone: store the UTC time as 'YYYY-MM-DD HH:MM:SS'"
        return "is not in the format 'YYYY-MM-DD HH:MM:SS' (UTC)"
    try:
        datetime.fromisoformat(value[:19])  # the format is checked above: this checks the calendar
    except ValueError:
        return "is no real date and time (a month, day, hour, minute or second out of range)"
    return None


class StatusKind(StrEnum):
    """What a row's status means to the DAGs."""

    PROVISIONABLE = "provisionable"  # gets a room (and an invitation)
    CANCELLED = "cancelled"  # its room is deleted, its PIN cleared, its invitation cancelled
    IGNORED = "ignored"  # a known status: no room, no report
    UNKNOWN = "unknown"  # in none of the lists (or no status): reported


def normalize_status(value: Any) -> str:
    """The one status rule: ``str(value).strip().casefold()``; ``None`` is ``""``."""
    return "" if value is None else str(value).strip().casefold()


@functools.lru_cache(maxsize=16)
def _kinds(
    provisionable: tuple[str, ...], cancelled: tuple[str, ...], ignored: tuple[str, ...]
) -> dict[str, StatusKind]:
    # a status in two lists takes the later one here: provisionable over cancelled over ignored
    kinds: dict[str, StatusKind] = {}
    for statuses, kind in (
        (ignored, StatusKind.IGNORED),
        (cancelled, StatusKind.CANCELLED),
        (provisionable, StatusKind.PROVISIONABLE),
    ):
        kinds.update((normalize_status(status), kind) for status in statuses)
    kinds.pop("", None)
    return kinds


def status_kind(status: str, config: ProvisioningConfig) -> StatusKind:
    """Classify a normalized status against the configured lists."""
    kinds = _kinds(
        tuple(config.provisionable_statuses), tuple(config.cancelled_statuses), tuple(config.ignored_statuses)
    )
    return kinds.get(status, StatusKind.UNKNOWN)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingRow:
    """One row of the meetings table, keyed by logical column names, with its id and status read once.

    ``values`` is kept as given (not copied): every configured column, as stored."""

    values: Mapping[str, Any] = field(repr=False)
    meeting_id: str
    status: str
    status_kind: StatusKind

    @classmethod
    def from_record(cls, values: Mapping[str, Any], *, config: ProvisioningConfig) -> MeetingRow:
        status = normalize_status(values.get("status"))
        return cls(
            values=values,
            meeting_id=id_text(values.get("meeting_id")),
            status=status,
            status_kind=status_kind(status, config),
        )

    def get(self, column: str, default: Any = None) -> Any:
        """A logical column's value as stored."""
        return self.values.get(column, default)

    def __getitem__(self, column: str) -> Any:
        """``row["room_name"]``: a logical column's value as stored (KeyError if not configured)."""
        return self.values[column]

    @property
    def is_provisionable(self) -> bool:
        return self.status_kind is StatusKind.PROVISIONABLE

    @property
    def is_provisioned(self) -> bool:
        return self.values.get("provisioned_at") not in (None, "")

    @property
    def pin(self) -> str | None:
        """The stored PIN, stripped; ``None`` when there is none."""
        raw = self.values.get("dialin_pin")
        text = "" if raw is None else str(raw).strip()
        return text or None

    @property
    def in_series(self) -> bool:
        """Whether the row names a series (a non-NULL ``series_id``, valid or not); without the
        column, never."""
        return self.values.get("series_id") is not None

    def series(self) -> str | None:
        """The row's series key (:func:`.meetings.series_key`): ``None`` for a one-off meeting;
        raises :class:`ValueError` for a ``series_id`` that names no series (blank, not text)."""
        return series_key(self.values.get("series_id"))

    def fingerprint(self, config: ProvisioningConfig) -> str:
        return room_fingerprint(self.values, config)

    def needs_room(self, config: ProvisioningConfig, *, force: bool = False) -> bool:
        return needs_room(self.values, config, force=force)

    def meeting(self) -> Meeting:
        """The parsed, validated meeting; raises :class:`~daily_dialin.errors.BadMeetingRow`."""
        return Meeting.from_row(self.values)


def as_row(row: MeetingRow | Mapping[str, Any], config: ProvisioningConfig) -> MeetingRow:
    """Transition adapter: ``MeetingsTable`` is moving from dicts to :class:`MeetingRow`; accept
    either. Remove once every table method returns ``MeetingRow``."""
    return row if isinstance(row, MeetingRow) else MeetingRow.from_record(row, config=config)
