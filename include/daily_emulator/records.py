"""Stored records of the emulated Daily domain (rooms, dial-in configs, purchased numbers) and their rendering."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from daily_emulator.settings import EmulatorSettings

# Purchase dates of the seeded numbers: fixed, one day apart, in the order of settings.purchased_numbers.
PURCHASE_EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
NUMBER_ID_NAMESPACE = uuid.UUID("6f1c1f3e-6a43-4c55-9a55-2f1d1f0de001")


def iso_utc(timestamp: float) -> str:
    """``2026-11-26T17:49:42.123Z``: ISO-8601 UTC with milliseconds, as Daily writes ``created_at``."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(kw_only=True)
class RoomRecord:
    """A stored room. ``seq`` orders rooms by creation; ``dialin_code`` is the PIN (None: no PIN yet)."""

    id: str
    name: str
    privacy: str
    seq: int
    created_at: float
    properties: dict[str, Any] = field(default_factory=dict)
    dialin_code: str | None = None
    dialin_number: str | None = None

    def is_expired(self, now: float) -> bool:
        exp = self.properties.get("exp")
        return exp is not None and now >= exp


@dataclass(kw_only=True)
class DialinConfigRecord:
    """A ``/domain-dialin-config`` entry: one phone number on the PIN or the pinless flow."""

    id: str
    type: str
    config: dict[str, Any]
    seq: int

    def render(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "config": dict(self.config)}


@dataclass(frozen=True, kw_only=True)
class PurchasedNumber:
    id: str
    number: str
    name: str
    created_date: str
    index: int

    def render(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "name": self.name,
            "type": "purchased_phone_number",
            "status": "verified",
            "created_date": self.created_date,
        }


def build_purchased_numbers(settings: EmulatorSettings) -> list[PurchasedNumber]:
    return [
        PurchasedNumber(
            id=str(uuid.uuid5(NUMBER_ID_NAMESPACE, number)),
            number=number,
            name=f"{settings.domain}-number-{index + 1}",
            created_date=iso_utc((PURCHASE_EPOCH + timedelta(days=index)).timestamp()),
            index=index,
        )
        for index, number in enumerate(settings.purchased_numbers)
    ]
