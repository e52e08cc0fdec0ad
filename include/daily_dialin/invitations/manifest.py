"""The manifest: what was last published for each meeting, kept as JSON next to the files.

It is how a run knows, without any column in the meetings table, which meetings are new, which
changed (a different :meth:`~.content.InviteContent.fingerprint`: new ``SEQUENCE``), which are
unchanged (nothing to write) and which were published and are now cancelled (a ``CANCEL`` file,
rendered from what the entry remembers). ``stamp`` is the ``DTSTAMP`` of the published version
and the ``iat`` of its host token, so a re-written file is byte-identical. No PIN, no token.

Meetings of a series (rows sharing a ``series_id``, one room) are published as one file per
series: :class:`SeriesEntry`, keyed by series id under ``series``, remembers every occurrence the
file shows (its ``RECURRENCE-ID`` anchor and times) and every cancelled one it excludes
(``EXDATE``). A manifest written before series existed has no ``series`` and loads as is.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field

MANIFEST_VERSION = 1


class ManifestEntry(BaseModel):
    """The published version of one meeting's files."""

    model_config = ConfigDict(extra="ignore")

    room_name: str
    state: Literal["active", "cancelled"]
    fingerprint: str
    sequence: int = Field(ge=0)
    stamp: int = Field(description="unix seconds: DTSTAMP of this version, iat of its host token")
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    room_url: str
    host_file: bool = False

    @property
    def last_ends_at(self) -> datetime:
        """When the last thing the file shows ends: past it, the published file is frozen."""
        return self.ends_at

    def members(self, key: str) -> list[str]:
        """The meetings the file is for (``key``: its meeting id, or its series id)."""
        return [key]

    def cancelled(self, *, sequence: int, stamp: int) -> Self:
        """What the manifest remembers once the file is cancelled, as version ``sequence``."""
        return self.model_copy(update={"state": "cancelled", "sequence": sequence, "stamp": stamp})


class OccurrenceEntry(BaseModel):
    """One occurrence of a published series: in the file (``active``) or excluded by an ``EXDATE``
    (``cancelled``). ``anchor`` is its instance in the recurrence set (``DTSTART``/``RDATE``, the
    ``RECURRENCE-ID`` of an override): its start when first published, kept when it moves."""

    model_config = ConfigDict(extra="ignore")

    state: Literal["active", "cancelled"]
    anchor: datetime
    starts_at: datetime
    ends_at: datetime
    title: str


class SeriesEntry(ManifestEntry):
    """The published version of one series' files (named by the series' room).

    ``starts_at``/``ends_at`` are the master event's ``DTSTART``/``DTEND``; ``fingerprint`` covers
    what every occurrence shares (room, numbers, PIN, zone, room ``exp``); the occurrences carry
    the rest. Every field of a meeting's entry, plus the occurrences."""

    occurrences: dict[str, OccurrenceEntry] = Field(default_factory=dict, description="by meeting id")

    @property
    def last_ends_at(self) -> datetime:
        """When the series' last published occurrence ends (the master's end without any)."""
        return max((o.ends_at for o in self.occurrences.values()), default=self.ends_at)

    def members(self, key: str) -> list[str]:
        return list(self.occurrences)

    def cancelled(self, *, sequence: int, stamp: int) -> Self:
        """The whole series cancelled: every occurrence with it."""
        occurrences = {mid: o.model_copy(update={"state": "cancelled"}) for mid, o in self.occurrences.items()}
        return self.model_copy(
            update={"state": "cancelled", "sequence": sequence, "stamp": stamp, "occurrences": occurrences}
        )


class Manifest(BaseModel):
    """Every meeting ever published by this storage base, keyed by meeting id; series by series id."""

    model_config = ConfigDict(extra="ignore")

    version: int = MANIFEST_VERSION
    meetings: dict[str, ManifestEntry] = Field(default_factory=dict)
    series: dict[str, SeriesEntry] = Field(default_factory=dict)

    def book(self, *, series: bool) -> dict[str, ManifestEntry]:
        """The entries of one kind: series by series id, or one-off meetings by meeting id."""
        return self.series if series else self.meetings  # type: ignore[return-value]

    def series_by_meeting(self) -> dict[str, str]:
        """Meeting id -> the series whose published file holds (or excludes) it."""
        return {mid: series_id for series_id, entry in self.series.items() for mid in entry.occurrences}

    @classmethod
    def from_bytes(cls, data: bytes | None) -> Manifest:
        return cls() if not data else cls.model_validate_json(data)

    def to_bytes(self) -> bytes:
        """Stable JSON (sorted keys): an unchanged manifest is rewritten byte for byte (and one
        without series as before series existed)."""
        data = self.model_dump(mode="json", exclude={"series"} if not self.series else None)
        return (json.dumps(data, sort_keys=True, indent=1) + "\n").encode()
