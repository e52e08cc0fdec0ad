"""Where invitations live: an ``ObjectStoragePath`` base holding the files and the manifest.

Layout under the base (a local folder by default; ``s3://``, ``gs://``, … through the providers
installed)::

    manifest.json            what was last published per meeting (see :mod:`.manifest`)
    attendees/<room>.ics     the invite to send to everyone
    hosts/<room>.ics         the host's invite, with the owner link: give it to the host only

Host files sit under their own prefix so their access can be restricted on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from daily_dialin.invitations.manifest import Manifest
from daily_dialin.invitations.settings import InvitationSettings

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

MANIFEST_NAME = "manifest.json"
ATTENDEES = "attendees"
HOSTS = "hosts"
LOCAL_PROTOCOLS = ("", "file", "local")


@dataclass(frozen=True, kw_only=True)
class FileListing:
    """File names found under ``attendees/`` and ``hosts/``."""

    attendees: frozenset[str]
    hosts: frozenset[str]

    def has_files(self, room_name: str, host: bool) -> bool:
        """Whether a room's attendee file (and, with ``host``, its host file) is there."""
        name = f"{room_name}.ics"
        return name in self.attendees and (not host or name in self.hosts)


class InviteStore:
    """Reads and writes the files of one storage base.

    :param base: the folder (``ObjectStoragePath``) everything goes under.
    """

    def __init__(self, *, base: ObjectStoragePath) -> None:
        self.base = base

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base={str(self.base)!r})"

    @classmethod
    def from_settings(cls, settings: InvitationSettings) -> InviteStore:
        from airflow.sdk import ObjectStoragePath

        return cls(base=ObjectStoragePath(settings.storage_url(), conn_id=settings.storage_conn_id))

    @property
    def url(self) -> str:
        return str(self.base)

    def attendee_path(self, room_name: str) -> ObjectStoragePath:
        return self.base / ATTENDEES / f"{room_name}.ics"

    def host_path(self, room_name: str) -> ObjectStoragePath:
        return self.base / HOSTS / f"{room_name}.ics"

    def listing(self) -> FileListing:
        """The files there are now: one listing per folder, not one request per file."""
        names: dict[str, frozenset[str]] = {}
        for folder in (ATTENDEES, HOSTS):
            path = self.base / folder
            names[folder] = frozenset(p.name for p in path.iterdir()) if path.exists() else frozenset()
        return FileListing(attendees=names[ATTENDEES], hosts=names[HOSTS])

    def read_manifest(self) -> Manifest:
        path = self.base / MANIFEST_NAME
        return Manifest.from_bytes(path.read_bytes() if path.exists() else None)

    def write_manifest(self, manifest: Manifest) -> bool:
        return self.write(self.base / MANIFEST_NAME, manifest.to_bytes())

    def write(self, path: ObjectStoragePath, data: bytes) -> bool:
        """Write ``data`` unless the object already holds exactly that; return whether it wrote."""
        if path.exists() and path.read_bytes() == data:
            return False
        if path.protocol in LOCAL_PROTOCOLS:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return True
