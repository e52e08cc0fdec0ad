"""Configuration models of the Daily emulator: settings, rate limits and fault injection rates."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")

DEFAULT_PURCHASED_NUMBERS = ["+12095550100", "+12095550101"]
DOMAIN_ID_NAMESPACE = uuid.UUID("0b6d3f52-4c1e-4d8a-9e55-7a1f2c3d4e01")


def default_domain_id(domain: str) -> str:
    """The domain id the emulator gives ``domain`` unless told otherwise: a UUID derived from the name."""
    return str(uuid.uuid5(DOMAIN_ID_NAMESPACE, domain))


def normalize_phone_number(value: Any) -> str:
    """Return ``value`` as an E.164 string; accepts ``"+12095038039"``, ``"12095038039"`` or ``12095038039``."""
    if isinstance(value, bool):
        raise ValueError(f"phone number must be an E.164 string, got {value!r}")
    if isinstance(value, int):
        value = f"+{value}"
    if not isinstance(value, str):
        raise ValueError(f"phone number must be an E.164 string, got {value!r}")
    text = value.strip()
    if text.isdigit():
        text = f"+{text}"
    if not E164.match(text):
        raise ValueError(f"phone number {value!r} is not in E.164 format (+<country><number>)")
    return text


class RateLimit(BaseModel):
    """One token bucket: at most ``requests`` requests per ``per_seconds`` seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests: int = Field(gt=0)
    per_seconds: float = Field(gt=0)


def default_rate_limits() -> dict[str, list[RateLimit]]:
    """Daily's documented limits: 20/s or 100 per 5 s for most endpoints, 2/s or 50 per 30 s for deletes."""
    return {
        "default": [RateLimit(requests=20, per_seconds=1), RateLimit(requests=100, per_seconds=5)],
        "delete": [RateLimit(requests=2, per_seconds=1), RateLimit(requests=50, per_seconds=30)],
    }


class FaultSettings(BaseModel):
    """Random fault injection: each API request gets at most one fault, drawn from ``Random(seed)``."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    rate_429: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_500: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_502: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_503: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_hang: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_reset: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_lost_create: float = Field(default=0.0, ge=0.0, le=1.0)
    hang_seconds: float = Field(default=30.0, ge=0.0)
    retry_after: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _rates_sum_to_at_most_one(self) -> FaultSettings:
        if sum(self.rates().values()) > 1.0 + 1e-9:
            raise ValueError("fault rates must add up to at most 1.0")
        return self

    def rates(self) -> dict[str, float]:
        """Fault kind -> probability, in the fixed order used for drawing."""
        return {
            "429": self.rate_429,
            "500": self.rate_500,
            "502": self.rate_502,
            "503": self.rate_503,
            "hang": self.rate_hang,
            "reset": self.rate_reset,
            "lost_create": self.rate_lost_create,
        }


class EmulatorSettings(BaseModel):
    """Everything that shapes the emulated Daily domain.

    - ``api_keys``: accepted Bearer keys. ``domain``: room URLs are ``https://<domain>.daily.co/<name>``.
    - ``purchased_numbers``: the domain's numbers (E.164), earliest purchase first.
    - ``pin_dialin_numbers``: numbers given a ``pin_dialin`` config at start and on reset
      (None: the first purchased number; ``[]``: none).
    - ``rate_limits``: endpoint class (``default``, ``delete``) -> token buckets; ``{}`` disables limits.
    - ``room_quota``: maximum live rooms. ``latency_ms``: added to every API request.
      ``batch_room_latency_ms``: added to ``POST /batch/rooms`` per room in the request (on top of ``latency_ms``).
    - ``domain_id``: the domain's id in ``GET /`` and in meeting tokens (claim ``d``); None: derived from
      ``domain`` by :func:`default_domain_id`, so tests can know it.
    - ``faults``: random fault injection. ``batch_returns_pin``: False = batch-created rooms get their PIN
      only from ``POST /rooms/:name``. ``return_dialin_number``: False = no ``config.dialin_number``.
    - ``resend_dialin_new_pin``: True = an update (``POST /rooms/:name``) whose body contains
      ``properties.dialin`` gives the room a new PIN (whether Daily does is undocumented; False keeps it).
    - ``batch_delete_unknown_is_error``: True = ``DELETE /batch/rooms`` naming a room that is not live fails
      whole (404 ``not-found``, nothing deleted) - whether Daily does is undocumented; False counts it as gone.
    - ``undeletable_rooms``: names both delete endpoints refuse (400 ``invalid-request-error``; a batch naming
      one fails whole), to test how a client isolates a room Daily will not delete.
    - Room life (``docs/emulator.md``): ``default_max_participants`` (a room without ``max_participants``;
      Daily's default is 200 [doc]); ``max_sip_pstn_sessions_per_room`` (5 [doc]);
      ``presence_lag_seconds`` (presence shows a join/leave this much later; Daily lags ~15 s [doc], 0 here
      so tests need not wait); ``waiting_callers_in_presence`` (a caller on hold music shows in presence;
      False by default [assumed: the meeting has not started, so nobody is in it]);
      ``meetings_min_participation_seconds`` (``/meetings`` leaves out a finished attendance shorter than
      this; Daily does not record joins under 10 s [doc]; 0 here).
    - Webhooks (``docs/emulator.md``): ``webhook_workers`` (threads sending deliveries; order across them is
      not guaranteed), ``webhook_timeout_seconds`` (per request, the test ping included),
      ``webhook_retry_scale`` (multiplies the retry delays: 1.0 = Daily's ~15 minutes, tests use ~0.001),
      ``webhook_max_pending`` (queued messages beyond it are dropped and counted), and the receiver fault
      switch: ``webhook_fail_rate`` (an attempt fails as if the receiver answered 5xx) and
      ``webhook_delay_ms`` (a slow receiver: added before each request; at or over the timeout the attempt
      times out).
    - ``state_file``: loaded at start if it exists, saved after every change.
    - ``seed``: seed for room ids, random names and PINs (None: drawn from the OS).
    """

    model_config = ConfigDict(extra="forbid")

    api_keys: list[str] = Field(default_factory=lambda: ["emulator-key"])
    domain: str = "emulator"
    domain_id: str | None = None
    purchased_numbers: list[str] = Field(default_factory=lambda: list(DEFAULT_PURCHASED_NUMBERS))
    pin_dialin_numbers: list[str] | None = None
    rate_limits: dict[str, list[RateLimit]] = Field(default_factory=default_rate_limits)
    room_quota: int = Field(default=10_000, ge=0)
    latency_ms: float = Field(default=0, ge=0)
    batch_room_latency_ms: float = Field(default=0, ge=0)
    faults: FaultSettings = Field(default_factory=FaultSettings)
    batch_returns_pin: bool = True
    return_dialin_number: bool = True
    resend_dialin_new_pin: bool = False
    batch_delete_unknown_is_error: bool = False
    undeletable_rooms: list[str] = Field(default_factory=list)
    default_max_participants: int = Field(default=200, ge=1)
    max_sip_pstn_sessions_per_room: int = Field(default=5, ge=0)
    presence_lag_seconds: float = Field(default=0.0, ge=0.0)
    waiting_callers_in_presence: bool = False
    meetings_min_participation_seconds: float = Field(default=0.0, ge=0.0)
    webhook_workers: int = Field(default=2, ge=1, le=32)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_scale: float = Field(default=1.0, ge=0)
    webhook_max_pending: int = Field(default=100_000, ge=1)
    webhook_fail_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    webhook_delay_ms: float = Field(default=0.0, ge=0.0)
    state_file: Path | None = None
    seed: int | None = None

    @field_validator("domain")
    @classmethod
    def _check_domain(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9-]+", value):
            raise ValueError("domain must be letters, digits and dashes")
        return value

    @field_validator("domain_id")
    @classmethod
    def _check_domain_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(f"domain_id must be a UUID (got {value!r})") from None

    @field_validator("purchased_numbers", mode="before")
    @classmethod
    def _normalize_purchased(cls, value: list[Any]) -> list[str]:
        numbers = [normalize_phone_number(item) for item in value]
        if len(set(numbers)) != len(numbers):
            raise ValueError("purchased_numbers has duplicates")
        return numbers

    @field_validator("pin_dialin_numbers", mode="before")
    @classmethod
    def _normalize_pin_numbers(cls, value: Any) -> Any:
        if value is None:
            return None
        return [normalize_phone_number(item) for item in value]

    @model_validator(mode="after")
    def _fill_domain_id(self) -> EmulatorSettings:
        if self.domain_id is None:
            self.domain_id = default_domain_id(self.domain)
        return self

    @model_validator(mode="after")
    def _pin_numbers_are_purchased(self) -> EmulatorSettings:
        missing = [n for n in self.pin_numbers() if n not in self.purchased_numbers]
        if missing:
            raise ValueError(f"pin_dialin_numbers not in purchased_numbers: {missing}")
        return self

    def pin_numbers(self) -> list[str]:
        """The numbers seeded onto the PIN flow at start (and after a reset)."""
        if self.pin_dialin_numbers is None:
            return self.purchased_numbers[:1]
        return list(dict.fromkeys(self.pin_dialin_numbers))


# Settings that PATCH /_emulator/settings may change at runtime.
RUNTIME_SETTINGS = (
    "faults",
    "rate_limits",
    "latency_ms",
    "batch_room_latency_ms",
    "batch_returns_pin",
    "return_dialin_number",
    "room_quota",
    "resend_dialin_new_pin",
    "batch_delete_unknown_is_error",
    "undeletable_rooms",
    "default_max_participants",
    "max_sip_pstn_sessions_per_room",
    "presence_lag_seconds",
    "waiting_callers_in_presence",
    "meetings_min_participation_seconds",
    "webhook_workers",
    "webhook_timeout_seconds",
    "webhook_retry_scale",
    "webhook_max_pending",
    "webhook_fail_rate",
    "webhook_delay_ms",
)
