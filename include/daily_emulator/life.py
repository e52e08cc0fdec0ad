"""Room life: who is in which room (web and phone), phone calls by PIN, meetings, and the events they make.

Every behaviour cites the Daily doc fact it follows (``[doc]``) or says it is assumed (``[assumed]``);
see ``docs/emulator.md`` ("Room life"). Times come from the emulator's clock. Room life is kept in
memory only (not in the state file) [assumed: a restarted emulator starts with empty rooms].

:class:`RoomLife` shares the store's lock: the store calls :meth:`RoomLife.end_room` when a room is deleted
or replaced, and every read or change first applies ``exp`` (:meth:`RoomLife.sweep`).

May import: the emulator's own modules (clock, errors, records, settings, pagination); never the provider.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from daily_emulator.clock import Clock
from daily_emulator.errors import invalid, not_found
from daily_emulator.pagination import parse_limit
from daily_emulator.records import RoomRecord, iso_utc
from daily_emulator.settings import EmulatorSettings, normalize_phone_number
from daily_emulator.validation import parse_pin

# [doc: global numbers] Daily's shared numbers that take any room's PIN: US and CA.
GLOBAL_NUMBERS = ("+12095038039", "+12268078039")
PRESENCE_PAGE_MAX = 100  # [assumed] the room presence listing's largest page
MEETINGS_PAGE_MAX = 100  # [doc] "Each call to this endpoint fetches a maximum of 100 meeting session objects"
MEETING_PARTICIPANTS_PAGE_MAX = 100  # [assumed]

EventSink = Callable[[str, dict[str, Any]], None]


def mask_number(number: str) -> str:
    """``+4915112345678`` -> ``+49*********78``: the caller as a phone participant's name [assumed]."""
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


@dataclass(kw_only=True)
class Participant:
    """Someone in a room now: a web participant, or a phone caller (then ``id == session_id``)."""

    id: str
    room: str
    user_id: str | None
    user_name: str | None
    join_time: float
    meeting_id: str
    session_id: str | None = None
    sip_from: str | None = None
    dialled: str | None = None

    @property
    def phone(self) -> bool:
        return self.session_id is not None


@dataclass(kw_only=True)
class Call:
    """A phone session: ``connected`` (a participant), ``waiting`` (hold music) or ``disconnected``."""

    session_id: str
    number: str
    caller: str
    room: str | None
    status: str
    started: float
    reason: str | None = None
    ended: float | None = None
    display_name: str | None = None

    def render(self) -> dict[str, Any]:
        body: dict[str, Any] = {"session_id": self.session_id, "status": self.status, "room": self.room}
        if self.reason is not None:
            body["reason"] = self.reason
        return body


@dataclass(kw_only=True)
class Attendance:
    """One participant's time in one meeting (``left`` None: still there)."""

    participant_id: str
    user_id: str | None
    user_name: str | None
    join_time: float
    left: float | None = None
    phone: bool = False

    def render(self, now: float) -> dict[str, Any]:
        end = self.left if self.left is not None else now
        return {
            "user_id": self.user_id,
            "participant_id": self.participant_id,
            "user_name": self.user_name,
            "join_time": int(self.join_time),
            "duration": max(0, int(end - self.join_time)),
        }


@dataclass(kw_only=True)
class Meeting:
    """A meeting session: from the first join to the last leave of a room [doc: meetings]."""

    id: str
    room: str
    start_time: float
    seq: int
    end_time: float | None = None
    max_participants: int = 0
    attendances: list[Attendance] = field(default_factory=list)

    @property
    def ongoing(self) -> bool:
        return self.end_time is None

    def recorded(self, min_seconds: float) -> list[Attendance]:
        """The attendances analytics keep: a finished one shorter than ``min_seconds`` is not recorded [doc]."""
        return [a for a in self.attendances if a.left is None or a.left - a.join_time >= min_seconds]

    def render(self, now: float, *, with_participants: bool = True, min_seconds: float = 0.0) -> dict[str, Any]:
        end = self.end_time if self.end_time is not None else now
        body: dict[str, Any] = {
            "id": self.id,
            "room": self.room,
            "start_time": int(self.start_time),
            "duration": max(0, int(end - self.start_time)),
            "ongoing": self.ongoing,
            "max_participants": self.max_participants,
        }
        if with_participants:
            body["participants"] = [a.render(now) for a in self.recorded(min_seconds)]
        return body


@dataclass(kw_only=True)
class _Left:
    """A participant who left, kept while presence still shows them (``presence_lag_seconds``)."""

    participant: Participant
    left: float


def _flag(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise invalid(f"{name} must be true or false (got {raw!r})")


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"{name} must be a unix time in seconds (got {raw!r})") from None


class RoomLife:
    """Participants, phone calls and meetings of the emulated domain (see the module docstring)."""

    def __init__(
        self,
        *,
        lock: threading.RLock,
        clock: Clock,
        settings: Callable[[], EmulatorSettings],
        new_id: Callable[[], str],
        stored_room: Callable[[str], RoomRecord | None],
        room_by_pin: Callable[[str, float], RoomRecord | None],
        pin_numbers: Callable[[], set[str]],
    ) -> None:
        self._lock = lock
        self._clock = clock
        self._settings = settings
        self._new_id = new_id
        self._stored_room = stored_room
        self._room_by_pin = room_by_pin
        self._pin_numbers = pin_numbers
        self._sinks: list[EventSink] = []
        self.clear()

    def clear(self) -> None:
        """Forget everyone, every call and every meeting (``/_emulator/reset``); sends no events."""
        with self._lock:
            self._present: dict[str, dict[str, Participant]] = {}
            self._waiting: dict[str, dict[str, Call]] = {}
            self._calls: dict[str, Call] = {}
            self._meetings: dict[str, Meeting] = {}
            self._ongoing: dict[str, str] = {}
            self._recently_left: list[_Left] = []
            self._next_meeting_seq = 1

    def subscribe(self, sink: EventSink) -> None:
        """``sink(type, payload)`` is called (under the lock, in order) for every event; it must not block."""
        self._sinks.append(sink)

    def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        for sink in self._sinks:
            sink(kind, payload)

    # ------------------------------------------------------------------ expiry

    def sweep(self, now: float | None = None) -> None:
        """Apply ``exp``: with ``eject_at_room_exp`` everyone leaves at ``exp``; without it they stay [doc]."""
        with self._lock:
            now = self._clock.now() if now is None else now
            for name in sorted(set(self._present) | set(self._waiting)):
                room = self._stored_room(name)
                if room is None:
                    self.end_room(name, reason="room deleted")
                elif room.is_expired(now) and room.properties.get("eject_at_room_exp"):
                    self.end_room(name, reason="room expired", at=float(room.properties["exp"]))
            horizon = now - self._settings().presence_lag_seconds
            self._recently_left = [gone for gone in self._recently_left if gone.left > horizon]

    def end_room(self, name: str, *, reason: str, at: float | None = None) -> int:
        """End every session in ``name`` (deleted [doc: delete-room], ejected at exp [doc]); returns how many."""
        with self._lock:
            at = self._clock.now() if at is None else at
            ended = 0
            for call in list(self._waiting.get(name, {}).values()):
                self._drop_waiting(call, at=at, reason=reason)
                ended += 1
            for participant in list(self._present.get(name, {}).values()):
                self._remove(participant, at=at, reason=reason)
                ended += 1
            return ended

    # ------------------------------------------------------------------ joining and leaving

    def _live_room(self, name: str, now: float) -> RoomRecord:
        room = self._stored_room(name)
        if room is None or room.is_expired(now):
            raise not_found(f"room {name} was not found")
        return room

    def _reachable_room(self, name: str, now: float) -> RoomRecord:
        """A live room, or one past ``exp`` whose people stayed [assumed: still reachable while occupied]."""
        room = self._stored_room(name)
        if room is None or (room.is_expired(now) and not self.occupied(name)):
            raise not_found(f"room {name} was not found")
        return room

    def _max_participants(self, room: RoomRecord) -> int:
        # [doc] max_participants defaults to 200
        return int(room.properties.get("max_participants") or self._settings().default_max_participants)

    def join(self, name: str, *, user_name: str | None, user_id: str | None) -> dict[str, Any]:
        """A web participant joins a live room: 404 unknown/expired, 400 when full [doc: max_participants]."""
        with self._lock:
            now = self._clock.now()
            self.sweep(now)
            room = self._live_room(name, now)
            if len(self._present.get(name, {})) >= self._max_participants(room):
                raise invalid(f"room {name} is full ({self._max_participants(room)} participants)")
            participant_id = self._new_id()
            # [assumed] without a token's user_id, Daily uses the session (participant) id as user_id
            self._add(
                Participant(
                    id=participant_id,
                    room=name,
                    user_id=user_id if user_id is not None else participant_id,
                    user_name=user_name,
                    join_time=now,
                    meeting_id="",
                ),
                now=now,
            )
            return {"id": participant_id, "room": name}

    def _add(self, participant: Participant, *, now: float) -> None:
        name = participant.room
        meeting = self._meeting_for(name, now)
        participant.meeting_id = meeting.id
        present = self._present.setdefault(name, {})
        present[participant.id] = participant
        meeting.attendances.append(
            Attendance(
                participant_id=participant.id,
                user_id=participant.user_id,
                user_name=participant.user_name,
                join_time=now,
                phone=participant.phone,
            )
        )
        meeting.max_participants = max(meeting.max_participants, len(present))
        self._emit("participant.joined", self._participant_payload(participant, now))
        if not participant.phone:
            self._connect_waiting(name, now)

    def _meeting_for(self, name: str, now: float) -> Meeting:
        meeting_id = self._ongoing.get(name)
        if meeting_id is not None:
            return self._meetings[meeting_id]
        # [doc: meetings] a meeting session starts when the first participant joins
        meeting = Meeting(id=self._new_id(), room=name, start_time=now, seq=self._next_meeting_seq)
        self._next_meeting_seq += 1
        self._meetings[meeting.id] = meeting
        self._ongoing[name] = meeting.id
        self._emit("meeting.started", {"start_ts": now, "meeting_id": meeting.id, "room": name})
        return meeting

    def _connect_waiting(self, name: str, now: float) -> None:
        # [doc: wait_for_meeting_start] callers on hold join when the meeting starts
        for call in list(self._waiting.pop(name, {}).values()):
            call.status = "connected"
            self._add(self._phone_participant(call, now), now=now)

    def leave(self, name: str, participant_id: str) -> None:
        """A participant (web or phone) leaves; 404 if not in that room."""
        with self._lock:
            now = self._clock.now()
            self.sweep(now)
            participant = self._present.get(name, {}).get(participant_id)
            if participant is None:
                raise not_found(f"participant {participant_id} is not in room {name}")
            self._remove(participant, at=now, reason="left")

    def _remove(self, participant: Participant, *, at: float, reason: str) -> None:
        name = participant.room
        present = self._present.get(name, {})
        present.pop(participant.id, None)
        if not present:
            self._present.pop(name, None)
        meeting = self._meetings[participant.meeting_id]
        for attendance in meeting.attendances:
            if attendance.participant_id == participant.id and attendance.left is None:
                attendance.left = at
        self._recently_left.append(_Left(participant=participant, left=at))
        payload = self._participant_payload(participant, at)
        self._emit("participant.left", {**payload, "duration": max(0, int(at - participant.join_time))})
        if participant.phone:
            self._end_call(self._calls[participant.id], at=at, reason=reason)
        if not present:
            self._end_meeting(meeting, at=at)

    def _end_meeting(self, meeting: Meeting, *, at: float) -> None:
        # [doc: meetings] the session ends when the last participant leaves
        meeting.end_time = at
        self._ongoing.pop(meeting.room, None)
        self._emit(
            "meeting.ended",
            {"start_ts": meeting.start_time, "end_ts": at, "meeting_id": meeting.id, "room": meeting.room},
        )

    @staticmethod
    def _participant_payload(participant: Participant, at: float) -> dict[str, Any]:
        return {
            "joined_at": participant.join_time,
            "session_id": participant.id,
            "room": participant.room,
            "user_id": participant.user_id,
            "user_name": participant.user_name,
            "owner": False,
            "will_eject_at": None,
            "permissions": {"hasPresence": True, "canSend": True, "canAdmin": False},
            "timestamp": at,
        }

    # ------------------------------------------------------------------ phone calls

    def dial(self, *, number: Any, pin: Any, caller: Any) -> dict[str, Any]:
        """A phone call to ``number`` entering ``pin``; the answer says where it ended up (see docs)."""
        try:
            number, caller = normalize_phone_number(number), normalize_phone_number(caller)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        pin = parse_pin(pin)
        with self._lock:
            now = self._clock.now()
            self.sweep(now)
            call = Call(
                session_id=self._new_id(), number=number, caller=caller, room=None, status="connected", started=now
            )
            self._calls[call.session_id] = call
            refusal = self._route_call(call, pin, now)
            if refusal is not None:
                call.status, call.reason, call.ended = "disconnected", refusal, now
            return call.render()

    def _route_call(self, call: Call, pin: str, now: float) -> str | None:
        """Place the call (connected or waiting); return why it is refused instead, if it is."""
        if call.number not in self._pin_numbers() and call.number not in GLOBAL_NUMBERS:
            return "number not on the PIN flow"
        room = self._room_by_pin(pin, now)
        if room is None:
            return "wrong PIN"  # [doc: pin_dialin] a wrong PIN disconnects; a deleted/expired room's PIN is free
        call.room = room.name
        dialin = room.properties.get("dialin") or {}
        call.display_name = dialin.get("display_name")
        refusal = self._capacity_refusal(room)
        if refusal is not None:
            return refusal
        if self._present.get(room.name):
            self._emit_dialin("dialin.connected", call, now)
            self._add(self._phone_participant(call, now), now=now)
            return None
        if dialin.get("wait_for_meeting_start"):
            # [doc: wait_for_meeting_start] hold music until the meeting starts
            call.status = "waiting"
            self._waiting.setdefault(room.name, {})[call.session_id] = call
            self._emit_dialin("dialin.connected", call, now)
            return None
        return "meeting has not started"  # [doc: wait_for_meeting_start] false: the call is dropped

    def _capacity_refusal(self, room: RoomRecord) -> str | None:
        phone = sum(1 for p in self._present.get(room.name, {}).values() if p.phone)
        sessions = phone + len(self._waiting.get(room.name, {}))
        limit = self._settings().max_sip_pstn_sessions_per_room
        if sessions >= limit:
            return f"too many phone sessions in this room ({limit})"  # [doc] 5 SIP/PSTN sessions per room
        if len(self._present.get(room.name, {})) >= self._max_participants(room):
            return "room is full"  # [doc] max_participants
        return None

    @staticmethod
    def _phone_participant(call: Call, now: float) -> Participant:
        return Participant(
            id=call.session_id,
            room=call.room or "",
            user_id=call.session_id,  # [assumed] a caller has no token: user_id = session id
            user_name=call.display_name or mask_number(call.caller),  # [assumed]
            join_time=now,
            meeting_id="",
            session_id=call.session_id,
            sip_from=call.caller,
            dialled=call.number,
        )

    def _emit_dialin(self, kind: str, call: Call, at: float) -> None:
        self._emit(
            kind,
            {
                "timestamp": at,
                "session_id": call.session_id,
                "sip_from": call.caller,
                "room": call.room,
                "display_name": call.display_name,
                "sip_headers": {},
            },
        )

    def _drop_waiting(self, call: Call, *, at: float, reason: str) -> None:
        waiting = self._waiting.get(call.room or "", {})
        waiting.pop(call.session_id, None)
        if not waiting:
            self._waiting.pop(call.room or "", None)
        self._end_call(call, at=at, reason=reason)

    def _end_call(self, call: Call, *, at: float, reason: str) -> None:
        call.status, call.ended = "disconnected", at
        call.reason = call.reason or reason
        self._emit_dialin("dialin.stopped", call, at)

    def hang_up(self, session_id: str) -> None:
        """The caller hangs up (404 for an unknown session; an ended one is left as it is)."""
        with self._lock:
            now = self._clock.now()
            self.sweep(now)
            call = self._calls.get(session_id)
            if call is None:
                raise not_found(f"call {session_id} was not found")
            if call.status == "waiting":
                self._drop_waiting(call, at=now, reason="hung up")
            elif call.status == "connected":
                self._remove(self._present[call.room or ""][session_id], at=now, reason="hung up")

    def call_error(self, session_id: str, *, message: str, warning: bool) -> dict[str, Any]:
        """Report ``dialin.error`` (or ``dialin.warning``) for a session, as Daily would [doc: event pages]."""
        with self._lock:
            call = self._calls.get(session_id)
            if call is None:
                raise not_found(f"call {session_id} was not found")
            kind = "dialin.warning" if warning else "dialin.error"
            payload = {
                "timestamp": self._clock.now(),
                "session_id": session_id,
                "room": call.room,
                "error_msg": message,
            }
            self._emit(kind, payload)
            return {"type": kind, "session_id": session_id}

    # ------------------------------------------------------------------ eject

    def eject(self, name: str, *, ids: list[str], user_ids: list[str]) -> list[str]:
        """``POST /rooms/:name/eject``: remove matching participants; ids not found are fine [doc]."""
        with self._lock:
            now = self._clock.now()
            self.sweep(now)
            self._reachable_room(name, now)
            wanted, wanted_users = set(ids), set(user_ids)
            ejected = []
            for call in list(self._waiting.get(name, {}).values()):
                if call.session_id in wanted:
                    self._drop_waiting(call, at=now, reason="ejected")
                    ejected.append(call.session_id)
            for participant in list(self._present.get(name, {}).values()):
                if participant.id in wanted or participant.user_id in wanted_users:
                    self._remove(participant, at=now, reason="ejected")
                    ejected.append(participant.id)
            return ejected

    # ------------------------------------------------------------------ reading

    def occupied(self, name: str) -> bool:
        with self._lock:
            return bool(self._present.get(name) or self._waiting.get(name))

    def _visible(self, now: float) -> dict[str, list[Participant]]:
        """Who presence shows: joined at least ``presence_lag_seconds`` ago, or left less than that ago."""
        settings = self._settings()
        lag = settings.presence_lag_seconds
        rooms: dict[str, list[Participant]] = {}
        for name, present in self._present.items():
            for participant in present.values():
                if now - participant.join_time >= lag:
                    rooms.setdefault(name, []).append(participant)
        if lag > 0:
            for gone in self._recently_left:
                if now - gone.left < lag and now - gone.participant.join_time >= lag:
                    rooms.setdefault(gone.participant.room, []).append(gone.participant)
        if settings.waiting_callers_in_presence:
            for name, calls in self._waiting.items():
                rooms.setdefault(name, []).extend(
                    self._phone_participant(call, call.started) for call in calls.values()
                )
        return rooms

    @staticmethod
    def _render_presence(participant: Participant, now: float) -> dict[str, Any]:
        return {
            "room": participant.room,
            "id": participant.id,
            "userId": participant.user_id,
            "userName": participant.user_name,
            "mtgSessionId": participant.meeting_id or None,
            "joinTime": iso_utc(participant.join_time),
            "duration": max(0, int(now - participant.join_time)),
        }

    def presence(self) -> dict[str, list[dict[str, Any]]]:
        """``GET /presence``: every room with anyone in it [doc: presence]."""
        with self._lock:
            now = self._clock.now()
            self.sweep(now)
            return {
                name: [self._render_presence(p, now) for p in people]
                for name, people in sorted(self._visible(now).items())
                if people
            }

    def room_presence(self, name: str, query: Mapping[str, str]) -> dict[str, Any]:
        """``GET /rooms/:name/presence`` (``limit``, ``userId``, ``userName``) -> ``{total_count, data}`` [doc]."""
        with self._lock:
            now = self._clock.now()
            self.sweep(now)
            self._reachable_room(name, now)
            limit = parse_limit(query, maximum=PRESENCE_PAGE_MAX)
            people = self._visible(now).get(name, [])
            if query.get("userId"):
                people = [p for p in people if p.user_id == query["userId"]]
            if query.get("userName"):
                people = [p for p in people if p.user_name == query["userName"]]
            return {"total_count": len(people), "data": [self._render_presence(p, now) for p in people[:limit]]}

    def list_meetings(self, query: Mapping[str, str]) -> dict[str, Any]:
        """``GET /meetings``: newest first [doc], filters ``room``, ``timeframe_*``, ``ongoing``; cursor pages."""
        with self._lock:
            now = self._clock.now()
            self.sweep(now)
            meetings = self._filtered_meetings(query)
            page = self._page_of_meetings(meetings, query)
            with_participants = not _flag(query, "no_participants")  # [assumed] true leaves participants out
            min_seconds = self._settings().meetings_min_participation_seconds
            return {
                "total_count": len(meetings),
                "data": [m.render(now, with_participants=with_participants, min_seconds=min_seconds) for m in page],
            }

    def _filtered_meetings(self, query: Mapping[str, str]) -> list[Meeting]:
        meetings = sorted(self._meetings.values(), key=lambda m: (m.start_time, m.seq), reverse=True)
        if query.get("room"):
            meetings = [m for m in meetings if m.room == query["room"]]
        start, end = _int_param(query, "timeframe_start"), _int_param(query, "timeframe_end")
        # [assumed] the timeframe selects meetings by start_time, both ends inclusive
        if start is not None:
            meetings = [m for m in meetings if m.start_time >= start]
        if end is not None:
            meetings = [m for m in meetings if m.start_time <= end]
        ongoing = _flag(query, "ongoing")
        if ongoing is not None:
            meetings = [m for m in meetings if m.ongoing is ongoing]
        return meetings

    def _page_of_meetings(self, meetings: list[Meeting], query: Mapping[str, str]) -> list[Meeting]:
        limit = parse_limit(query, maximum=MEETINGS_PAGE_MAX)
        after, before = query.get("starting_after"), query.get("ending_before")
        if after is not None and before is not None:
            raise invalid("use only one of starting_after and ending_before")
        for cursor, label in ((after, "starting_after"), (before, "ending_before")):
            if cursor is not None and cursor not in self._meetings:
                raise invalid(f"{label}: no meeting with id {cursor!r}")
        ids = [m.id for m in meetings]
        if after is not None:
            index = ids.index(after) + 1 if after in ids else len(ids)
            return meetings[index : index + limit]
        if before is not None:
            index = ids.index(before) if before in ids else 0
            return meetings[max(0, index - limit) : index]
        return meetings[:limit]

    def meeting_participants(self, meeting_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        """``GET /meetings/:id/participants``: join order, ``joined_after``/``joined_before``; 404 when empty [doc]."""
        with self._lock:
            now = self._clock.now()
            self.sweep(now)
            meeting = self._meetings.get(meeting_id)
            if meeting is None:
                raise not_found(f"meeting {meeting_id} was not found")
            limit = parse_limit(query, maximum=MEETING_PARTICIPANTS_PAGE_MAX)
            rows = meeting.recorded(self._settings().meetings_min_participation_seconds)
            ids = [a.participant_id for a in rows]
            after, before = query.get("joined_after"), query.get("joined_before")
            if after is not None:
                rows = rows[ids.index(after) + 1 :] if after in ids else []
            elif before is not None:
                rows = rows[: ids.index(before)] if before in ids else []
            rows = rows[-limit:] if before is not None and after is None else rows[:limit]
            if not rows:
                # [doc] "Once there are no more users remaining, you'll receive a 404"
                raise not_found(f"no more participants in meeting {meeting_id}")
            return {"data": [a.render(now) for a in rows]}

    # ------------------------------------------------------------------ admin

    def snapshot(self) -> dict[str, Any]:
        """Everyone, every call and every meeting, for assertions (callers' numbers included: test data)."""
        with self._lock:
            now = self._clock.now()
            self.sweep(now)
            return {
                "participants": [asdict(p) for people in self._present.values() for p in people.values()],
                "calls": [asdict(call) for call in self._calls.values()],
                "meetings": [m.render(now) for m in sorted(self._meetings.values(), key=lambda m: m.seq)],
            }
