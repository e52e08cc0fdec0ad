"""Where invitations live: an ``ObjectStoragePath`` base holding the files and the manifest.

Layout under the base (a local folder by default; ``s3://``, ``gs://``, … through the providers
installed)::

    manifest.json            what was last published per meeting (see :mod:`.manifest`)
    attendees/<room>.ics     the invite to send to everyone
    hosts/<room>.ics         the host's invite, with the owner link: give it to the host only

Host files sit under their own prefix so their access can be restricted on its own.

The files hold secrets: attendee files the dial-in PIN, host files an owner token (whoever holds
it runs the room). On local storage they are written owner-only, whatever the umask: files
``0600`` (written to a temporary file in the same folder, then renamed over the old one, so a
reader never sees half a file), the folders this store makes ``0700`` (``attendees/``, ``hosts/``,
and the base when it has to create it; a base folder that already exists keeps its mode, as its
owner set it). Files of older runs get ``0600`` again when a run finds them unchanged.

On a bucket the store cannot set this itself; set it on the bucket: private (no public ACL, the
provider's "block public access" on), encryption at rest (server-side, e.g. SSE-S3/SSE-KMS on S3,
the default or a CMEK key on GCS), access for the Airflow connection and whoever sends the
invitations only, and ``hosts/`` readable only by whoever hands the hosts their files.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from daily_dialin.invitations.manifest import Manifest
from daily_dialin.invitations.settings import InvitationSettings

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

MANIFEST_NAME = "manifest.json"
ATTENDEES = "attendees"
HOSTS = "hosts"
LOCAL_PROTOCOLS = ("", "file", "local")
FILE_MODE = 0o600
FOLDER_MODE = 0o700


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
        self._private_folders: set[Path] = set()  # local folders already made owner-only

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
        """Write ``data`` unless the object already holds exactly that; return whether it wrote.

        Local files are owner-only (``0600``, in ``0700`` folders) either way."""
        local = path.protocol in LOCAL_PROTOCOLS
        same = path.exists() and path.read_bytes() == data
        if not local:
            if not same:
                path.write_bytes(data)
            return not same
        target = Path(path.path)
        self._private_folder(target.parent)
        if same:  # e.g. written by an older version with the umask's mode
            _restrict(target, FILE_MODE)
        else:
            _write_private(target, data)
        return not same

    def _private_folder(self, folder: Path) -> None:
        """``folder`` and the folders between it and the base made (``0700``) or restricted to ``0700``."""
        if folder in self._private_folders:
            return
        base = Path(self.base.path)
        if not base.is_dir():
            base.parent.mkdir(parents=True, exist_ok=True)  # above the base: not ours, default modes
            with contextlib.suppress(FileExistsError):  # another task made it meanwhile
                base.mkdir(mode=FOLDER_MODE)
                _restrict(base, FOLDER_MODE)  # mkdir's mode is filtered by the umask
        part = base
        for name in folder.relative_to(base).parts:  # attendees/, hosts/: ours
            part = part / name
            part.mkdir(mode=FOLDER_MODE, exist_ok=True)
            _restrict(part, FOLDER_MODE)
        self._private_folders.add(folder)


def _restrict(path: Path, mode: int) -> None:
    """``chmod`` to ``mode`` when the permission bits differ (no change, no write)."""
    if stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)


def _write_private(target: Path, data: bytes) -> None:
    """``data`` into ``target`` with mode ``0600``, whatever the umask, replacing it in one rename."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), FILE_MODE)  # mkstemp makes 0600; said here, not assumed
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
