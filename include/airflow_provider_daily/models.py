"""Pydantic models of the Daily REST API objects this provider reads and writes.

The models are tolerant where Daily's documentation and its clients disagree (see
``daily-api.md``): a PIN may arrive as an int or a string and is kept as an 11-digit string; a
phone number may be a bare int or an E.164 string and is kept as E.164; unknown fields are kept
so nothing Daily adds is lost on a read-modify-write. PINs are excluded from ``repr`` so a model
that ends up in a log line does not leak one; so are a participant's user name and id (a phone
caller's name may be their number), and the values of fields no model declares (their names show).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

ROOM_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
PIN_LENGTH = 11
US_GLOBAL_DIALIN_NUMBER = "+12095038039"
BATCH_LIMIT = 1000  # rooms per POST /batch/rooms [doc]


def normalize_phone_number(value: Any) -> Any:
    """``12095038039`` / ``"12095038039"`` / ``"+1 209-503-8039"`` -> ``"+12095038039"``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("a phone number cannot be a boolean")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"a phone number must be a string or an integer, not {type(value).__name__}")
    digits = re.sub(r"[\s().-]", "", value)
    if digits.startswith("+"):
        digits = digits[1:]
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise ValueError(f"not an E.164 phone number: {value!r}")
    return f"+{digits}"


def normalize_pin(value: Any) -> Any:
    """A PIN arriving as int (leading zeros lost) or string -> 11-digit string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("a PIN cannot be a boolean")
    text = str(value).strip()
    if not text.isdigit() or len(text) > PIN_LENGTH:
        raise ValueError("a dial-in PIN must be at most 11 digits")
    return text.zfill(PIN_LENGTH)


def _lenient_phone_number(value: Any) -> Any:
    """For numbers Daily reports: normalize when possible, else keep what Daily sent."""
    try:
        return normalize_phone_number(value)
    except ValueError:
        return None if value is None else str(value)


PhoneNumber = Annotated[str, BeforeValidator(normalize_phone_number)]
ReportedPhoneNumber = Annotated[str, BeforeValidator(_lenient_phone_number)]
Pin = Annotated[str, BeforeValidator(normalize_pin)]


class DailyModel(BaseModel):
    """Base: keep unknown fields, accept field names and aliases."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_api(self) -> dict[str, Any]:
        """The JSON body Daily expects: unset and ``None`` fields left out."""
        return self.model_dump(mode="json", exclude_none=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Declared fields as pydantic shows them (``repr=False`` ones left out), and of the fields
        Daily sent that no model declares only their names: their values are unknown, and could be
        secrets (a code, a token, a caller's number)."""
        extra = self.__pydantic_extra__ or {}
        yield from ((name, value) for name, value in super().__repr_args__() if name not in extra)
        if extra:
            yield "extra_fields", sorted(extra)


class DialinRoomNumber(DailyModel):
    phone_number: PhoneNumber


class DialinProperties(DailyModel):
    """``properties.dialin``: PSTN dial-in with a PIN."""

    display_name: str | None = None
    wait_for_meeting_start: bool | None = None
    room_numbers: list[DialinRoomNumber] | None = None


class RoomProperties(DailyModel):
    """The room properties this provider sets; any other property passes through unchanged.

    ``nbf``/``exp`` are unix seconds; Daily accepts fractional ones (clients send
    ``time.time() + 3600``), so a room read back may carry a float: int stays int, float stays float.
    """

    nbf: int | float | None = None
    exp: int | float | None = None
    eject_at_room_exp: bool | None = None
    max_participants: int | None = None
    dialin: DialinProperties | None = None


class RoomConfig(RoomProperties):
    """``room.config``: the properties that differ from defaults, plus the dial-in facts."""

    dialin_code: Pin | None = Field(default=None, repr=False)
    dialin_number: ReportedPhoneNumber | None = None


class Room(DailyModel):
    """A Daily room as returned by ``GET/POST /rooms``."""

    id: str | None = None
    name: str
    api_created: bool | None = None
    privacy: str | None = None
    url: str | None = None
    created_at: datetime | None = None
    config: RoomConfig = Field(default_factory=RoomConfig)

    @property
    def pin(self) -> str | None:
        return self.config.dialin_code

    def dialin_number(self, fallback: str | None = None) -> str | None:
        """The number to call: the one Daily reports, else the requested one, else ``fallback``."""
        if self.config.dialin_number:
            return self.config.dialin_number
        dialin = self.config.dialin
        if dialin and dialin.room_numbers:
            return dialin.room_numbers[0].phone_number
        return normalize_phone_number(fallback) if fallback else None


class RoomCreate(DailyModel):
    """Body of ``POST /rooms`` and one entry of ``POST /batch/rooms``. The name is mandatory here:
    it is the idempotency key, Daily must never pick one."""

    name: str
    privacy: Literal["public", "private"] | None = None
    properties: RoomProperties = Field(default_factory=RoomProperties)


class RoomList(DailyModel):
    total_count: int
    data: list[Room]


class DeletedRoom(DailyModel):
    deleted: bool
    name: str | None = None


class IvrGreeting(DailyModel):
    message: str | None = None


class DialinConfigBody(DailyModel):
    phone_number: ReportedPhoneNumber | None = None
    name_prefix: str | None = None
    ivr_greeting: IvrGreeting | None = None


class DialinConfig(DailyModel):
    """An entry of ``/domain-dialin-config``: a purchased number on the PIN or pinless flow."""

    id: str
    type: str
    config: DialinConfigBody = Field(default_factory=DialinConfigBody)


class DialinConfigList(DailyModel):
    total_count: int
    data: list[DialinConfig]


class PurchasedPhoneNumber(DailyModel):
    id: str
    number: ReportedPhoneNumber
    name: str | None = None
    type: str | None = None
    status: str | None = None
    created_date: datetime | str | None = None


class PurchasedPhoneNumberList(DailyModel):
    total_count: int | None = None
    data: list[PurchasedPhoneNumber]


def dial_string(number: str, pin: str) -> str:
    """``tel:+12095038039,,12345678987``: ``,,`` pauses so the PIN is sent after connecting."""
    return f"tel:{normalize_phone_number(number)},,{normalize_pin(pin)}"


# -- domain and meeting tokens ---------------------------------------------------------------
class DomainConfig(DailyModel):
    """``GET /``: the domain's name, its id (the ``d`` claim of self-signed tokens) and its settings."""

    domain_name: str | None = None
    domain_id: str
    config: dict[str, Any] = Field(default_factory=dict)


class MeetingTokenProperties(DailyModel):
    """A meeting token's properties: the body of ``POST /meeting-tokens`` (under ``properties``)
    and what ``GET /meeting-tokens/:token`` answers for a valid token. Not secret by themselves."""

    room_name: str | None = None
    is_owner: bool | None = None
    exp: int | float | None = None
    nbf: int | float | None = None
    eject_at_token_exp: bool | None = None
    user_name: str | None = None
    user_id: str | None = None


# -- presence: who is in a room right now ------------------------------------------------------
# Fields and values that say a participant is on the phone. Daily documents no such field [doc:
# presence lists phone callers as participants, assumed, without saying they are on the phone]: a
# participant counts as a phone caller only when the data says so, through one of these, so the
# count stays right if Daily (or the emulator) says it and is 0, never a guess, when nothing does.
PHONE_FLAGS = ("on_phone", "onPhone", "is_phone", "isPhone", "dialin", "is_dialin", "isDialin")
PHONE_KIND_FIELDS = ("type", "participantType", "participant_type", "kind", "source", "transport")
PHONE_KINDS = frozenset({"phone", "pstn", "sip", "dialin", "dial-in", "pstn-dialin", "sip-dialin"})


class Participant(DailyModel):
    """One entry of ``GET /presence`` / ``GET /rooms/:name/presence`` [doc: ``room, id, userId,
    userName, joinTime, duration``]. Extra fields are kept. The user name and id stay out of
    ``repr`` (a phone caller's name may be their number)."""

    room: str | None = None
    id: str | None = None
    user_id: str | None = Field(default=None, alias="userId", repr=False)
    user_name: str | None = Field(default=None, alias="userName", repr=False)
    join_time: datetime | str | int | float | None = Field(default=None, alias="joinTime")
    duration: int | float | None = None

    @property
    def on_phone(self) -> bool:
        """Whether the data says this participant is on the phone (see :data:`PHONE_FLAGS`):
        ``False`` when nothing says so [assumed: Daily's presence has no such field]."""
        extra = self.model_extra or {}
        if any(extra.get(flag) is True for flag in PHONE_FLAGS):
            return True
        kinds = (extra.get(field) for field in PHONE_KIND_FIELDS)
        return any(isinstance(kind, str) and kind.lower() in PHONE_KINDS for kind in kinds)


class RoomPresence(DailyModel):
    """Who is in one room: ``GET /rooms/:name/presence`` answers ``{total_count, data}`` [doc]."""

    total_count: int | None = None
    data: list[Participant] = Field(default_factory=list)

    @property
    def count(self) -> int:
        """Participants in the room: ``total_count``, or the listed ones when it is missing or lower."""
        return max(self.total_count or 0, len(self.data))

    @property
    def on_phone(self) -> int:
        return sum(1 for participant in self.data if participant.on_phone)


class MeetingParticipant(DailyModel):
    """One attendance of ``GET /meetings`` / ``GET /meetings/:id/participants`` [doc: ``user_id,
    participant_id, user_name, join_time, duration``]. No field says it is a phone caller [doc].
    The user name and id stay out of ``repr`` (a phone caller's name may be their number)."""

    participant_id: str | None = None
    user_id: str | None = Field(default=None, repr=False)
    user_name: str | None = Field(default=None, repr=False)
    join_time: int | float | None = None
    duration: int | float | None = None


class MeetingSession(DailyModel):
    """One meeting session of ``GET /meetings`` [doc: ``id, room, start_time, duration, ongoing,
    max_participants, participants``]; ~15 s granularity, joins under 10 s not recorded [doc]."""

    id: str
    room: str | None = None
    start_time: int | float | None = None
    duration: int | float | None = None
    ongoing: bool | None = None
    max_participants: int | None = None
    participants: list[MeetingParticipant] | None = None


class MeetingList(DailyModel):
    total_count: int | None = None
    data: list[MeetingSession] = Field(default_factory=list)
