"""Who is in a room, and what that means for a destructive act: the one home of the rule.

Deleting a room ends every session in it, video and phone alike [doc: delete-room], and an ``exp``
moved into the past ejects everyone when ``eject_at_room_exp`` is set [doc]. So:

* a room with anyone in it is **live**: it is not deleted and its ``exp`` is not moved below
  now + a margin, unless a person forces it (``force_live``);
* a presence call that fails - 5xx, timeout, 429 after the hook's retries, an answer that cannot
  be read - means **"don't know"**: the room is held like a live one (deferred), never "empty";
* only a wrong key or setting (:class:`DailyAuthError`, :class:`DailyConfigError`) is raised: no
  call of the run can succeed then, and the callers already stop on it.

:func:`presence_check` asks once for a set of rooms (``GET /presence``, one call whatever the
set's size); :func:`room_check` asks for one room (``GET /rooms/:name/presence``), right before it
is deleted. Daily's presence lags by about 15 seconds [doc], so someone who joined within that
lag may not be listed yet: that window remains whatever the client does.

Phone callers are counted only when the data says a participant is on the phone
(:attr:`~airflow_provider_daily.models.Participant.on_phone`); Daily documents no such field, so
"M on the phone" is 0 unless the server says so [assumed].

May import this provider's models and errors; the hook is passed in (the hook imports this module).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_daily.errors import DailyAuthError, DailyConfigError, DailyError, DailyNotFoundError
from airflow_provider_daily.models import Participant, RoomPresence

log = logging.getLogger(__name__)

DEFERRED = "deferred"  # the first word of every reason a room was held back for


@dataclass(frozen=True, kw_only=True)
class Live:
    """A room with people in it: how many, and how many of them the data says are on the phone."""

    participants: int
    on_phone: int = 0

    @classmethod
    def of(cls, participants: Iterable[Participant], total: int | None = None) -> Live:
        listed = list(participants)
        return cls(participants=max(total or 0, len(listed)), on_phone=sum(1 for p in listed if p.on_phone))

    def describe(self) -> str:
        noun = "participant" if self.participants == 1 else "participants"
        return f"live ({self.participants} {noun}, {self.on_phone} on the phone)"


@dataclass(kw_only=True)
class LiveRooms:
    """What presence said about a set of room names: ``live`` (name -> :class:`Live`), ``empty``
    (nobody in them), ``unknown`` (name -> why presence could not say: held like live ones)."""

    live: dict[str, Live] = field(default_factory=dict)
    empty: list[str] = field(default_factory=list)
    unknown: dict[str, str] = field(default_factory=dict)

    def held(self, name: str) -> bool:
        """Whether ``name`` must not be deleted (nor its ``exp`` moved close): live, or not known."""
        return name in self.live or name in self.unknown

    def reason(self, name: str) -> str | None:
        """``deferred: live (N participants, M on the phone)`` / ``deferred: presence unknown (...)``;
        ``None`` for an empty room."""
        if name in self.live:
            return f"{DEFERRED}: {self.live[name].describe()}"
        if name in self.unknown:
            return f"{DEFERRED}: presence unknown ({self.unknown[name]})"
        return None

    def merge(self, other: LiveRooms) -> None:
        """Take ``other``'s answer for the names it covers (a later, per-room check wins)."""
        for name in [*other.live, *other.empty, *other.unknown]:
            self.live.pop(name, None)
            self.unknown.pop(name, None)
            if name in self.empty:
                self.empty.remove(name)
        self.live.update(other.live)
        self.empty.extend(other.empty)
        self.unknown.update(other.unknown)


def presence_check(hook: Any, names: Iterable[str]) -> LiveRooms:
    """One ``GET /presence`` for the whole set: which of ``names`` are live, empty or unknown.

    A failed call (after the hook's retries) makes every name unknown: one reason, logged once."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return LiveRooms()
    try:
        present = hook.get_presence()
    except (DailyAuthError, DailyConfigError):
        raise
    except (DailyError, ValueError) as exc:
        why = f"GET /presence failed: {_why(exc)}"
        log.warning("Presence of %d room(s) unknown, all held back: %s", len(wanted), why)
        return LiveRooms(unknown=dict.fromkeys(wanted, why))
    rooms = LiveRooms()
    for name in wanted:
        participants = present.get(name) or []
        if participants:
            rooms.live[name] = Live.of(participants)
        else:
            rooms.empty.append(name)
    return rooms


def room_check(hook: Any, name: str) -> LiveRooms:
    """One ``GET /rooms/:name/presence``: whether ``name`` is live, empty or unknown right now.

    A 404 means the room does not exist (any more): nobody can be in it, so it is empty (its delete
    is a 404 too, which counts as done). Any other failure makes it unknown."""
    try:
        presence: RoomPresence = hook.room_presence(name)
    except (DailyAuthError, DailyConfigError):
        raise
    except DailyNotFoundError:
        return LiveRooms(empty=[name])
    except (DailyError, ValueError) as exc:
        why = f"GET /rooms/{name}/presence failed: {_why(exc)}"
        log.warning("Presence of room %s unknown, held back: %s", name, why)
        return LiveRooms(unknown={name: why})
    if presence.count:
        return LiveRooms(live={name: Live.of(presence.data, presence.count)})
    return LiveRooms(empty=[name])


def _why(exc: Exception) -> str:
    """A failure in one line, without the body of a pydantic error."""
    if isinstance(exc, DailyError):
        return f"{type(exc).__name__}: {exc}"
    return f"unreadable answer ({type(exc).__name__})"
