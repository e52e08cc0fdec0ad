"""The provisioning guarantees, checked from the outside: the meetings table against Daily's rooms.

Used by the property test (``tests/properties/test_chunk_invariants.py``) and the bench scripts in
``bench/guarantees`` (soak, kill -9, overlapping runs). Nothing here calls the provider's engine:
the checks read the table's rows and the emulator's rooms and compare them.

* **one room per meeting**: every provisioned row names a live room; no room name and no PIN is
  held by two rows unless they share a ``series_id`` (then exactly one: every occurrence of a
  series is on the series' room); the room name is the one of the row's own, exact id - or of
  its series (write-back targets the row that was read);
* **the table equals Daily**: PIN, URL, number, dial string and ``exp`` of each provisioned row
  are those of its room; a row without ``provisioned_at`` holds no PIN;
* **no orphans**: every live room (of the prefix) is named by some row;
* **nothing silent**: every due row in a provisionable status has a room or a ``last_error``, and
  so has every provisionable row the table cannot select (bad id, unreadable time).

Messages name rows and fields, never PIN values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from daily_dialin.provisioning.config import SOURCE_COLUMNS, WRITTEN_COLUMNS
from daily_dialin.provisioning.meetings import room_name_for, series_key, series_room_name_for

PROVISIONABLE = ("scheduled",)
CANCELLED = ("cancelled", "canceled")
IGNORED = ("draft", "tentative", "completed", "done", "archived")
SQLITE_TS = "%Y-%m-%d %H:%M:%S"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

__all__ = [
    "SOURCE_COLUMNS",
    "WRITTEN_COLUMNS",
    "Audit",
    "audit",
    "is_due",
    "label",
    "live_rooms",
    "row_changes",
    "status_kind",
]


def status_kind(status: Any) -> str:
    """``provisionable``, ``cancelled``, ``ignored`` or ``unknown``, compared as the table compares
    them: ``LOWER(TRIM(status))`` (spaces trimmed, ASCII letters lowered)."""
    text = status.strip(" ").translate(_ASCII_LOWER) if isinstance(status, str) else None
    if text in PROVISIONABLE:
        return "provisionable"
    if text in CANCELLED:
        return "cancelled"
    if text in IGNORED:
        return "ignored"
    return "unknown"


def _bad_id(meeting_id: Any) -> bool:
    """An id the table cannot select by (as its SQL sees it: NULL, not text, or only spaces); other
    blank ids (a tab) are selected like any other and fail in the chunk, when due."""
    return not isinstance(meeting_id, str) or not meeting_id.strip(" ")


def _documented(text: str) -> bool:
    """The documented SQLite text: a real UTC instant ``YYYY-MM-DD HH:MM:SS``, optionally ``.`` and
    1-6 digits, nothing else. Decided here by Python's own calendar - ``strptime`` reads it and
    ``strftime`` writes it back unchanged - not by the table's rule (its GLOBs and SQL round
    trip), so the property tests check that rule instead of sharing it."""
    head, dot, fraction = text.partition(".")
    if dot and not (fraction.isascii() and fraction.isdigit() and 1 <= len(fraction) <= 6):
        return False
    try:
        moment = datetime.strptime(head, SQLITE_TS)
    except ValueError:  # month 13, 30 February, 24:61, year 0, an offset, a zone, other text
        return False
    return moment.strftime(SQLITE_TS) == head


def _when(value: Any) -> datetime | str | None:
    """A comparable start/end: an aware datetime (PostgreSQL), the documented text (SQLite, compared
    as text, as the table documents), or None when the table cannot compare it."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and _documented(value):
        return value
    return None


def _before(value: datetime | str, moment: datetime) -> bool:
    return value < moment if isinstance(value, datetime) else value < moment.strftime(SQLITE_TS)


def is_due(row: Mapping[str, Any], *, now: datetime, horizon_days: int) -> bool | None:
    """Due in a rolling run at ``now``: starts before ``now + horizon``, ends after ``now``.
    None: the row's id or times cannot be selected at all (it must be reported instead)."""
    if _bad_id(row.get("meeting_id")):
        return None
    starts, ends = _when(row.get("starts_at")), _when(row.get("ends_at"))
    if starts is None or ends is None:
        return None
    return _before(starts, now + timedelta(days=horizon_days)) and not _before(ends, now + timedelta(seconds=1))


def live_rooms(snapshot_rooms: Iterable[Mapping[str, Any]], prefix: str | None = None) -> dict[str, Mapping[str, Any]]:
    """The emulator's live rooms by name (``admin.snapshot()["rooms"]``), of ``prefix`` if given."""
    return {
        room["name"]: room
        for room in snapshot_rooms
        if not room.get("expired") and (prefix is None or room["name"].startswith((f"{prefix}-", f"{prefix}_s-")))
    }


def label(row: Mapping[str, Any]) -> str:
    """How a row is named in messages: its id, and its rowid when the id cannot tell rows apart."""
    text = repr(row.get("meeting_id"))
    if len(text) > 40:
        text = text[:37] + "...'"
    if "_rowid" in row and _bad_id(row.get("meeting_id")):
        text += f" (rowid {row['_rowid']})"
    return text


@dataclass
class Audit:
    """What the table and Daily say, and every way they break a guarantee."""

    meetings: int = 0
    provisioned: int = 0
    rooms: int = 0
    due: int = 0
    shared_rooms: list[str] = field(default_factory=list)  # room names held by 2+ rows
    shared_pins: int = 0  # PINs held by 2+ rows
    orphans: list[str] = field(default_factory=list)  # live rooms no row names
    dead: list[str] = field(default_factory=list)  # provisioned rows whose room is not live
    mismatches: list[tuple[str, str]] = field(default_factory=list)  # (row, field) that differ from Daily
    unprovisioned: list[str] = field(default_factory=list)  # due rows without a room (with a reason)
    unselectable: list[str] = field(default_factory=list)  # provisionable rows with a bad id or time
    unexplained: list[str] = field(default_factory=list)  # rows with neither a room nor a reason

    @property
    def duplicates(self) -> int:
        return len(self.shared_rooms) + self.shared_pins

    def mismatch_counts(self) -> Counter[str]:
        return Counter(kind for _, kind in self.mismatches)

    def problems(self, *, complete: bool = False) -> list[str]:
        """Every broken guarantee as one line; ``complete``: also every due row must have its room."""
        found = []
        if self.shared_rooms:
            shared = self.shared_rooms
            found.append(f"{len(shared)} room(s) named by two or more rows (not of one series): {shared[:5]}")
        if self.shared_pins:
            found.append(f"{self.shared_pins} PIN(s) held by two or more rows")
        if self.orphans:
            found.append(f"{len(self.orphans)} room(s) in Daily that no row names: {self.orphans[:5]}")
        if self.dead:
            found.append(f"{len(self.dead)} provisioned row(s) whose room is not live in Daily: {self.dead[:5]}")
        if self.mismatches:
            found.append(f"{len(self.mismatches)} field(s) differ from Daily: {self.mismatches[:5]}")
        if self.unexplained:
            found.append(f"{len(self.unexplained)} row(s) with neither a room nor a last_error: {self.unexplained[:5]}")
        if complete and self.unprovisioned:
            found.append(f"{len(self.unprovisioned)} due meeting(s) without a room: {self.unprovisioned[:5]}")
        return found


def audit(
    rows: Sequence[Mapping[str, Any]],
    snapshot_rooms: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    horizon_days: int = 30,
    prefix: str = "mtg",
) -> Audit:
    """Check ``rows`` (logical column names) against the emulator's rooms."""
    rooms = live_rooms(snapshot_rooms, prefix)
    result = Audit(meetings=len(rows), rooms=len(rooms))
    named = Counter(_holder(r, r["room_name"]) for r in rows if r.get("room_name"))
    result.shared_rooms = sorted(_in_two_series(named))
    pins = Counter(_holder(r, _pin(r)) for r in rows if _pin(r))
    result.shared_pins = len(_in_two_series(pins))
    result.orphans = sorted(set(rooms) - {name for name, _ in named})
    for row in rows:
        _check_row(row, rooms, result, now=now, horizon_days=horizon_days, prefix=prefix)
    return result


def _series(row: Mapping[str, Any]) -> str | None:
    """The row's series (``None``: a one-off meeting, or a ``series_id`` that names no series)."""
    try:
        return series_key(row.get("series_id"))
    except ValueError:
        return None


def _holder(row: Mapping[str, Any], value: Any) -> tuple[Any, Any]:
    """Who may share ``value`` (a room name, a PIN): the rows of one series, else nobody (the row itself)."""
    series = _series(row)
    return (value, ("series", series)) if series is not None else (value, ("row", id(row)))


def _in_two_series(held: Counter[tuple[Any, Any]]) -> set[Any]:
    """Values held by two holders: two one-off meetings, two series, or a series and a meeting."""
    holders = Counter(value for value, _ in held)
    return {value for value, count in holders.items() if count > 1}


def _pin(row: Mapping[str, Any]) -> str | None:
    pin = row.get("dialin_pin")
    return str(pin).strip() or None if pin is not None else None


def _check_row(
    row: Mapping[str, Any],
    rooms: Mapping[str, Mapping[str, Any]],
    result: Audit,
    *,
    now: datetime,
    horizon_days: int,
    prefix: str,
) -> None:
    provisioned = row.get("provisioned_at") not in (None, "") and bool(row.get("room_name"))
    if provisioned:
        result.provisioned += 1
        _compare_with_daily(row, rooms, result, prefix)
    elif _pin(row) is not None:
        result.mismatches.append((label(row), "PIN without provisioned_at"))
    if status_kind(row.get("status")) != "provisionable":
        return
    due = is_due(row, now=now, horizon_days=horizon_days)
    if due is False:
        return
    result.due += 1
    if provisioned:
        return
    (result.unprovisioned if due else result.unselectable).append(label(row))
    if not str(row.get("last_error") or "").strip():
        result.unexplained.append(label(row))


def _compare_with_daily(
    row: Mapping[str, Any], rooms: Mapping[str, Mapping[str, Any]], result: Audit, prefix: str
) -> None:
    name = row["room_name"]
    meeting_id = row.get("meeting_id")
    series = _series(row)
    if series is not None and name != series_room_name_for(series, prefix):
        result.mismatches.append((label(row), "room name is not the one of this row's series"))
    elif series is None and (meeting_id is None or name != room_name_for(str(meeting_id), prefix)):
        result.mismatches.append((label(row), "room name is not the one of this row's id"))
    room = rooms.get(name)
    if room is None:
        result.dead.append(label(row))
        return
    config = room.get("config") or {}
    pin, number = config.get("dialin_code"), config.get("dialin_number")
    checks = (
        ("PIN", _pin(row) == pin),
        ("URL", row.get("room_url") == room.get("url")),
        ("number", number is None or row.get("dialin_number") == number),
        ("dial string", row.get("dial_string") == f"tel:{row.get('dialin_number')},,{_pin(row)}"),
        ("exp", _same_number(row.get("room_exp"), config.get("exp"))),
    )
    for kind, ok in checks:
        if not ok:
            result.mismatches.append((label(row), kind))


def _same_number(a: Any, b: Any) -> bool:
    try:
        return a is not None and b is not None and float(a) == float(b)
    except (TypeError, ValueError):
        return False


def row_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The columns a run may not have changed but did: any source column; on rows in an ignored
    status any write-back column; on rows in an unknown status any but ``last_error`` (the run
    reports them)."""
    changed = [c for c in (*SOURCE_COLUMNS, *WRITTEN_COLUMNS) if not _identical(before.get(c), after.get(c))]
    kind = status_kind(before.get("status"))
    allowed: set[str] = set()
    if kind in ("provisionable", "cancelled"):
        allowed = set(WRITTEN_COLUMNS)
    elif kind == "unknown":
        allowed = {"last_error"}
    return [c for c in changed if c not in allowed]


def _identical(a: Any, b: Any) -> bool:
    return (type(a) is type(b) and a == b) or (a != a and b != b)  # NaN equals itself here
