"""The manifest: what was last published for each meeting, kept as JSON next to the files.

It is how a run knows, without any column in the meetings table, which meetings are new, which
changed (a different :meth:`~.content.InviteContent.fingerprint`: new ``SEQUENCE``), which are
unchanged (nothing to write) and which were published and are now cancelled (a ``CANCEL`` file,
rendered from what the entry remembers). ``stamp`` is the ``DTSTAMP`` of the published version
and the ``iat`` of its host token, so a re-written file is byte-identical. No PIN, no token.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

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


class Manifest(BaseModel):
    """Every meeting ever published by this storage base, keyed by meeting id."""

    model_config = ConfigDict(extra="ignore")

    version: int = MANIFEST_VERSION
    meetings: dict[str, ManifestEntry] = Field(default_factory=dict)

    @classmethod
    def from_bytes(cls, data: bytes | None) -> Manifest:
        return cls() if not data else cls.model_validate_json(data)

    def to_bytes(self) -> bytes:
        """Stable JSON (sorted keys): an unchanged manifest is rewritten byte for byte."""
        return (json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=1) + "\n").encode()
