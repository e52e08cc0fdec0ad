"""Events -> calls and per-meeting figures: a pure function of the set of events, so any arrival
order (``dialin.stopped`` before ``dialin.connected``, ``meeting.ended`` before the last caller
left, replays) gives the same result once the same events are in.

* A **call** is a phone session (``session_id`` of ``dialin.*`` events): joined at the earliest
  ``dialin.connected``, left at the latest ``dialin.stopped`` - or, while no stop is known, at the
  end of a ``meeting.ended`` of its room after it joined (the meeting ended the call); its error is
  the latest ``dialin.error``/``dialin.warning`` message. A session that never connected (a wrong
  PIN, a failed call) keeps its row and error but is not a caller in the figures.
* A call belongs to the meeting row of its room whose ``[starts_at, ends_at]`` holds its join
  time, else the nearest one (a series room serves several rows; a one-off room one).
* **Figures** per meeting: ``phone_callers`` (sessions that connected), ``phone_minutes`` (their
  finished minutes, 2 decimals), ``first_dialin_at``, ``last_dialin_error`` and ``actual_end_at``
  (the latest ``meeting.ended`` of the room attributed to that meeting); ``participants`` and
  ``participant_minutes`` from ``participant.joined``/``.left`` (every attendance, web and phone:
  the only figures besides ``actual_end_at`` that the ``/meetings`` fallback can also give).

Times in payloads may be epoch seconds, milliseconds or ISO text [assumed: Daily's event pages show
epoch seconds]; without one, the envelope's ``event_ts`` is used.

May import: the standard library and ``daily_dialin.calls`` (store's row types).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from daily_dialin.calls.store import CallRow, StoredEvent

__all__ = ["Figures", "MeetingSpan", "attribute", "fold_calls", "meeting_figures", "when"]

_MILLIS_ABOVE = 1e11
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class MeetingSpan:
    """A meetings-table row a room's events may belong to."""

    meeting_id: str
    starts_at: datetime | None
    ends_at: datetime | None


@dataclass
class Figures:
    """One meeting's phone figures."""

    phone_callers: int = 0
    phone_minutes: float = 0.0
    first_dialin_at: datetime | None = None
    last_dialin_error: str | None = None
    actual_end_at: datetime | None = None
    participants: int = 0
    participant_minutes: float = 0.0
    _error_at: datetime | None = field(default=None, repr=False)


@dataclass
class _Session:
    room: str
    joined: datetime | None = None
    left: datetime | None = None
    caller: str | None = field(default=None, repr=False)  # a caller's (masked) number
    errors: list[tuple[datetime, bool, str]] = field(default_factory=list)

    @property
    def error(self) -> tuple[datetime | None, str | None]:
        if not self.errors:
            return None, None
        at, _, text = max(self.errors)
        return (None if at == _NEVER else at), text


def when(value: Any) -> datetime | None:
    """An event time (epoch seconds or milliseconds, or ISO 8601 text) as aware UTC; None if unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds = value / 1000.0 if value > _MILLIS_ABOVE else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return when(_number(value))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _time_of(event: StoredEvent, key: str = "timestamp") -> datetime | None:
    return when(event.payload.get(key)) or when(event.event_ts)


def _latest(current: datetime | None, new: datetime | None) -> datetime | None:
    return new if current is None or (new is not None and new > current) else current


def _earliest(current: datetime | None, new: datetime | None) -> datetime | None:
    return new if current is None or (new is not None and new < current) else current


def _apply(session: _Session, event: StoredEvent) -> None:
    at = _time_of(event)
    kind = event.event_type
    if kind == "dialin.connected":
        session.joined = _earliest(session.joined, at)
    elif kind == "dialin.stopped":
        session.left = _latest(session.left, at)
    elif kind in ("dialin.error", "dialin.warning"):
        message = str(event.payload.get("error_msg") or kind)
        text = message if kind == "dialin.error" else f"warning: {message}"
        # the latest wins; at equal times the error over the warning, then the text: deterministic
        session.errors.append((at or _NEVER, kind == "dialin.error", text))
    caller = event.payload.get("sip_from")
    if caller and (session.caller is None or str(caller) < session.caller):
        session.caller = str(caller)  # masked at ingest; the smallest, so the order does not matter


def _meeting_ends(events: Iterable[StoredEvent]) -> dict[str, list[datetime]]:
    ends: dict[str, list[datetime]] = defaultdict(list)
    for event in events:
        if event.event_type == "meeting.ended" and event.room:
            end = when(event.payload.get("end_ts")) or when(event.event_ts)
            if end is not None:
                ends[event.room].append(end)
    return ends


def attribute(room_spans: Sequence[MeetingSpan], at: datetime | None) -> str | None:
    """The meeting of a room an event at ``at`` belongs to: the span holding it, else the nearest."""
    if not room_spans:
        return None
    if at is None or len(room_spans) == 1:
        return room_spans[0].meeting_id if len(room_spans) == 1 else None

    def distance(span: MeetingSpan) -> tuple[float, str]:
        start = span.starts_at or at
        end = span.ends_at or start
        if start <= at <= end:
            return 0.0, span.meeting_id
        return min(abs((at - start).total_seconds()), abs((at - end).total_seconds())), span.meeting_id

    return min(room_spans, key=distance).meeting_id


def _sessions(events: Iterable[StoredEvent]) -> dict[str, _Session]:
    """Phone sessions (``session_id`` of ``dialin.*`` events of a room), their events applied."""
    sessions: dict[str, _Session] = {}
    for event in events:
        session_id = event.payload.get("session_id")
        if event.event_type.startswith("dialin.") and event.room and session_id:
            _apply(sessions.setdefault(str(session_id), _Session(room=event.room)), event)
    return sessions


def _call_row(
    session_id: str, s: _Session, ends: Mapping[str, list[datetime]], spans: Mapping[str, Sequence[MeetingSpan]]
) -> CallRow:
    left = s.left
    if left is None and s.joined is not None:  # never stopped: the meeting's end after it joined ended it
        left = min((end for end in ends.get(s.room, ()) if end >= s.joined), default=None)
    duration = (left - s.joined).total_seconds() if left and s.joined and left >= s.joined else None
    error_at, error = s.error
    return CallRow(
        session_id=session_id,
        room=s.room,
        meeting_id=attribute(spans.get(s.room, ()), s.joined or s.left or error_at),
        caller=s.caller,
        joined_at=s.joined,
        left_at=left,
        duration_seconds=duration,
        error=error,
    )


def fold_calls(events: Iterable[StoredEvent], spans: Mapping[str, Sequence[MeetingSpan]]) -> list[CallRow]:
    """Every phone call in ``events`` (all events of their rooms), as calls-table rows."""
    events = list(events)
    ends = _meeting_ends(events)
    return [_call_row(session_id, s, ends, spans) for session_id, s in sorted(_sessions(events).items())]


def _error_time(call: CallRow) -> datetime:
    return call.left_at or call.joined_at or _NEVER


def _add_calls(figures: dict[str, Figures], calls: Iterable[CallRow]) -> None:
    """``phone_callers``, ``phone_minutes``, ``first_dialin_at`` and ``last_dialin_error`` from the calls."""
    seconds: dict[str, float] = defaultdict(float)
    for call in sorted(calls, key=lambda c: c.session_id):
        if call.meeting_id is None:
            continue
        f = figures[call.meeting_id]
        if call.joined_at is not None:
            f.phone_callers += 1
            f.first_dialin_at = _earliest(f.first_dialin_at, call.joined_at)
            seconds[call.meeting_id] += call.duration_seconds or 0.0
        if call.error and (f._error_at is None or _error_time(call) >= f._error_at):
            f.last_dialin_error, f._error_at = call.error, _error_time(call)
    for meeting_id, total in seconds.items():
        figures[meeting_id].phone_minutes = round(total / 60.0, 2)


def _add_ends(
    figures: dict[str, Figures], events: Iterable[StoredEvent], spans: Mapping[str, Sequence[MeetingSpan]]
) -> None:
    """``actual_end_at``: the latest ``meeting.ended`` attributed to each meeting."""
    for room, ends in _meeting_ends(events).items():
        for end in ends:
            meeting_id = attribute(spans.get(room, ()), end)
            if meeting_id is not None:
                figures[meeting_id].actual_end_at = _latest(figures[meeting_id].actual_end_at, end)


def meeting_figures(
    calls: Iterable[CallRow], events: Iterable[StoredEvent], spans: Mapping[str, Sequence[MeetingSpan]]
) -> dict[str, Figures]:
    """Figures of every meeting with a call or an end among ``calls`` / ``events``."""
    events = list(events)
    figures: dict[str, Figures] = defaultdict(Figures)
    _add_calls(figures, calls)
    _add_ends(figures, events, spans)
    _add_participants(figures, events, spans)
    return dict(figures)


def _attendances(events: Iterable[StoredEvent]) -> dict[tuple[str, str], tuple[datetime | None, datetime | None]]:
    """(room, session id) -> (joined, left) from ``participant.joined``/``.left``: joined at the
    earliest ``joined_at``, left at the latest ``joined_at + duration`` (else the event's time)."""
    found: dict[tuple[str, str], tuple[datetime | None, datetime | None]] = {}
    for event in events:
        session_id = event.payload.get("session_id")
        if not (event.event_type.startswith("participant.") and event.room and session_id):
            continue
        joined = when(event.payload.get("joined_at"))
        left = None
        if event.event_type == "participant.left":
            duration = event.payload.get("duration")
            numeric = isinstance(duration, int | float) and not isinstance(duration, bool)
            left = joined + timedelta(seconds=duration) if joined and numeric else when(event.event_ts)
        key = (event.room, str(session_id))
        before_joined, before_left = found.get(key, (None, None))
        found[key] = (_earliest(before_joined, joined), _latest(before_left, left))
    return found


def _add_participants(
    figures: dict[str, Figures], events: Iterable[StoredEvent], spans: Mapping[str, Sequence[MeetingSpan]]
) -> None:
    """``participants`` and ``participant_minutes`` (web and phone together: no phone flag [doc])."""
    seconds: dict[str, float] = defaultdict(float)
    for (room, _), (joined, left) in sorted(_attendances(events).items()):
        meeting_id = attribute(spans.get(room, ()), joined or left)
        if meeting_id is None or joined is None:
            continue
        figures[meeting_id].participants += 1
        if left is not None and left >= joined:
            seconds[meeting_id] += (left - joined).total_seconds()
    for meeting_id, total in seconds.items():
        figures[meeting_id].participant_minutes = round(total / 60.0, 2)
