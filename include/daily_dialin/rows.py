"""The ground floor of the application: the read model of a meetings-table row,
:class:`MeetingRow`, and the rules every reader of a row shares.

Every consumer of the meetings table (provisioning, reconcile, invitations) sees a row through
:class:`MeetingRow`, so each rule about a row has one home, here:

* the meeting id as text, exactly as stored (never stripped): :func:`id_text`;
* the status rule, :func:`normalize_status` (trimmed, case-folded; it lives with the settings,
  which validate their status lists with it, and is re-exported here), and its classification
  against :class:`ProvisioningConfig`'s status lists (:class:`StatusKind`); its SQL mirror,
  ``LOWER(TRIM(status))``, lives in ``provisioning/table/schema.py``;
* the room fingerprint and the moved-meeting rule: :func:`room_fingerprint`, :func:`needs_room`;
* the series a row belongs to (optional column ``series_id``): :func:`series_key`, the one rule
  (:attr:`MeetingRow.series_key`, :attr:`MeetingRow.series_problem`); see its docstring for the
  answer to every odd value and for its SQL mirror;
* what a time stored as text must be for the table to compare it (SQLite):
  :func:`stored_time_problem`, the Python mirror of the table's SQL rule
  (``provisioning/table/dialect.py``, ``_SqliteRules``): the documented UTC text
  ``YYYY-MM-DD HH:MM:SS`` (optionally ``.`` and 1-6 digits) naming a real instant. Text with an
  offset or a zone is refused, in SQL and here alike: SQL compares the text as it is (an index
  range), so it could not honour the offset that :func:`.provisioning.meetings.parse_utc`
  honours - the row is reported instead of read two ways.

Parsing a row into a :class:`~daily_dialin.provisioning.meetings.Meeting` is one floor up:
``Meeting.from_row(row)`` (it reads a :class:`MeetingRow` like a mapping).

The PIN (and any other written secret, such as a host token) stays out of ``repr``.

May import: ``daily_dialin.provisioning.config`` (the settings) and the standard library - nothing
else of the application, so every other module may import this one (``tests/test_package_boundaries.py``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from daily_dialin.provisioning.config import ProvisioningConfig, normalize_status

__all__ = [
    "FINGERPRINT_COLUMNS",
    "MeetingRow",
    "StatusKind",
    "fingerprint_of",
    "id_text",
    "needs_room",
    "normalize_status",
    "room_fingerprint",
    "series_key",
    "series_problem",
    "settings_part",
    "status_kind",
    "stored_time_problem",
]

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


def id_text(raw: Any) -> str:
    """A row's meeting id as text, the way rooms are named from it: ``None`` is ``""``."""
    return raw if isinstance(raw, str) else ("" if raw is None else str(raw))


# What "blank" means for a series id: nothing but these (SQL's mirror trims the same characters).
SERIES_BLANK = " \t\n\v\f\r"


def series_problem(raw: Any) -> str | None:
    """Why a ``series_id`` value names no series (``None``: it is fine - NULL, or a usable key).
    The one rule behind :func:`series_key`; the message is what a report shows."""
    if raw is None:
        return None
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        return f"series_id {raw!r} is not text ({type(raw).__name__}): store series ids as text"
    if not id_text(raw).strip(SERIES_BLANK):
        return f"series_id {id_text(raw)!r} is blank: leave it NULL for a one-off meeting, or name the series"
    return None


def series_key(raw: Any) -> str | None:
    """Which series a row is in, from its ``series_id`` - the one rule (``MeetingRow.series_key``
    and ``provisioning.series.row_key`` answer with it; the invitations group rows by it):

    * ``None`` (NULL): ``None``, a one-off meeting (so is every row of a table without the column);
    * text (``"W1"``, ``" W1"``): the text exactly as stored (never stripped, like meeting ids);
    * an integer (``7``): ``"7"``, what ``CAST(series_id AS TEXT)`` makes of it;
    * a very long id: the id as it is - the series room name hashes it
      (:func:`~airflow_provider_daily.rooms.series_room_name_for`);
    * unicode (``"Ü-1"``): the text as it is, not normalized - NFC and NFD spellings are two
      series, as the database compares them;
    * blank (``""``, ``" "``, ``"\\t"``) and not text (``b"S1"``, ``1.5``, a bool): **a problem row**,
      :class:`ValueError`.

    Why blank is a problem and not a one-off: like a blank ``meeting_id``, it most likely lost its
    value (an import, a spreadsheet); provisioning it as a one-off would make a room that must be
    retired (and its PIN changed for callers) once the series id comes back. Why bytes are a problem:
    SQLite's ``CAST`` would silently decode ``b"S1"`` into series ``"S1"`` while every other reader
    sees ``b"S1"``; it is reported instead, as a non-text ``meeting_id`` is. A problem row is in no
    series and is no one-off: no run selects it, ``problem_rows`` reports it with :func:`series_problem`.

    **SQL mirror** (the table's ``_series_key`` and series terms, ``SeriesQueries`` in
    ``daily_dialin/provisioning/table/groups.py``, kept consistent there): the key is
    ``CAST(series_id AS TEXT)``; a row is in a series when ``series_id IS NOT NULL`` and it is
    text (SQLite: ``typeof(series_id) IN ('text', 'integer')``)
    and ``TRIM(CAST(series_id AS TEXT), ' \\t\\n\\v\\f\\r') <> ''`` (PostgreSQL: ``BTRIM``); a one-off
    when ``series_id IS NULL``; any other row is a problem row, reported and selected by neither."""
    problem = series_problem(raw)
    if problem is not None:
        raise ValueError(problem)
    return None if raw is None else id_text(raw)


# the columns a room is built from, in the order the fingerprint hashes them
FINGERPRINT_COLUMNS = (
    "starts_at",
    "ends_at",
    "title",
    "dialin_display_name",
    "wait_for_meeting_start",
    "requested_phone_number",
)


def room_fingerprint(row: Mapping[str, Any], config: ProvisioningConfig) -> str:
    """A short hash of everything a meeting's room is built from: the row's room-relevant values
    as stored (no parsing, so it is cheap enough to check every provisioned row of a run) and the
    settings that shape rooms. A different fingerprint means: update the room."""
    return fingerprint_of(
        [row.get(column) for column in FINGERPRINT_COLUMNS], row.get("series_id"), settings_part(config)
    )


def settings_part(config: ProvisioningConfig) -> str:
    """The settings that shape every room, as the fingerprint hashes them (once per run, not per row)."""
    values = (config.exp_grace_minutes, config.nbf_lead_minutes, config.eject_at_room_exp, config.privacy)
    return "\x1f".join("" if value is None else str(value) for value in values)


def fingerprint_of(values: Sequence[Any], series: Any, settings: str) -> str:
    """:func:`room_fingerprint` from the :data:`FINGERPRINT_COLUMNS` values in order, the row's
    ``series_id`` and :func:`settings_part`: the one implementation, also for rows read as tuples."""
    text = "\x1f".join(["" if value is None else str(value) for value in values]) + "\x1f" + settings
    if series is not None:  # only then: the fingerprints of one-off meetings are as they always were
        text += f"\x1fseries\x1f{series}"
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def needs_room(row: Mapping[str, Any], config: ProvisioningConfig, *, force: bool = False) -> bool:
    """The moved-meeting rule: a row needs (an update of) its room when it is not provisioned yet,
    or was provisioned from other values than it has now (start, end, display name, wait flag,
    number, or room settings changed)."""
    if force or row.get("provisioned_at") in (None, ""):
        return True
    return row.get("room_fingerprint") != room_fingerprint(row, config)


class StatusKind(StrEnum):
    """What a row's status means to the DAGs."""

    PROVISIONABLE = "provisionable"  # gets a room (and an invitation)
    CANCELLED = "cancelled"  # its room is deleted, its PIN cleared, its invitation cancelled
    IGNORED = "ignored"  # a known status: no room, no report
    UNKNOWN = "unknown"  # in none of the lists (or no status): reported


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
    def is_provisioned(self) -> bool:
        return self.values.get("provisioned_at") not in (None, "")

    @property
    def pin(self) -> str | None:
        """The stored PIN, stripped; ``None`` when there is none."""
        raw = self.values.get("dialin_pin")
        text = "" if raw is None else str(raw).strip()
        return text or None

    @property
    def series_key(self) -> str | None:
        """The series the row is in (:func:`series_key`); ``None``: in none - a one-off meeting,
        or a problem row (:attr:`series_problem` says which). Never raises."""
        raw = self.values.get("series_id")
        return None if series_problem(raw) is not None else series_key(raw)

    @property
    def series_problem(self) -> str | None:
        """Why the row's ``series_id`` names no series (:func:`series_problem`); ``None``: it is fine."""
        return series_problem(self.values.get("series_id"))

    @property
    def in_series(self) -> bool:
        """Whether the row is an occurrence of a series (:attr:`series_key` is not ``None``)."""
        return self.series_key is not None

    def series(self) -> str | None:
        """:attr:`series_key`, raising :class:`ValueError` (:attr:`series_problem`) for a problem row."""
        return series_key(self.values.get("series_id"))

    def fingerprint(self, config: ProvisioningConfig) -> str:
        return room_fingerprint(self.values, config)

    def needs_room(self, config: ProvisioningConfig, *, force: bool = False) -> bool:
        return needs_room(self.values, config, force=force)
