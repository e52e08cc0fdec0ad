"""Invitation files hold secrets (PINs, owner tokens): on local storage they are owner-only.

``InviteStore`` driven directly, under a permissive and a wide-open umask: files ``0600``, the
folders it makes ``0700``; files left by an older run with the umask's mode are restricted when a
run finds them unchanged; a rewrite replaces the file whole (no temporary file left behind). And
the output of one real invitations run (``dag.test``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from daily_dialin.invitations.manifest import Manifest
from daily_dialin.invitations.store import InviteStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def _store(base: Path) -> InviteStore:
    from airflow.sdk import ObjectStoragePath

    return InviteStore(base=ObjectStoragePath(f"file://{base}"))


def test_files_are_0600_and_folders_0700_whatever_the_umask(tmp_path, umask):
    base = tmp_path / "deep" / "invites"
    store = _store(base)
    assert store.write(store.attendee_path("mtg-1"), b"PIN 123456")
    assert store.write(store.host_path("mtg-1"), b"owner token")
    assert store.write_manifest(Manifest.from_bytes(None))

    for folder in (base, base / "attendees", base / "hosts"):
        assert _mode(folder) == 0o700, folder
    for file in (base / "attendees/mtg-1.ics", base / "hosts/mtg-1.ics", base / "manifest.json"):
        assert _mode(file) == 0o600, file
    assert (base / "hosts/mtg-1.ics").read_bytes() == b"owner token"
    assert sorted(p.name for p in base.rglob("*") if p.is_file()) == ["manifest.json", "mtg-1.ics", "mtg-1.ics"]


def test_a_rewrite_stays_0600_and_leaves_no_temporary_file(tmp_path, umask):
    store = _store(tmp_path / "invites")
    path = store.attendee_path("mtg-1")
    assert store.write(path, b"first")
    assert not store.write(path, b"first")  # same bytes: not written
    assert store.write(path, b"second")
    folder = tmp_path / "invites" / "attendees"
    assert [p.name for p in folder.iterdir()] == ["mtg-1.ics"]
    assert (folder / "mtg-1.ics").read_bytes() == b"second"
    assert _mode(folder / "mtg-1.ics") == 0o600


def test_files_of_an_older_run_are_restricted_when_found_unchanged(tmp_path, umask):
    base = tmp_path / "invites"
    (base / "hosts").mkdir(parents=True)
    (base / "hosts").chmod(0o755)
    old = base / "hosts" / "mtg-1.ics"
    old.write_bytes(b"owner token")
    old.chmod(0o644)
    mtime = old.stat().st_mtime_ns

    store = _store(base)
    assert not store.write(store.host_path("mtg-1"), b"owner token")
    assert (_mode(old), _mode(base / "hosts")) == (0o600, 0o700)
    assert old.stat().st_mtime_ns == mtime  # not rewritten
    assert _mode(base) == 0o777 & ~umask  # a base that already existed keeps its owner's mode


def test_remote_storage_is_written_as_before(tmp_path):
    from airflow.sdk import ObjectStoragePath

    store = InviteStore(base=ObjectStoragePath("memory://invites-permissions"))
    path = store.attendee_path("mtg-1")
    assert store.write(path, b"PIN")
    assert not store.write(path, b"PIN")
    assert path.read_bytes() == b"PIN"


@pytest.mark.slow  # a provisioning run and an invitations run (dag.test)
def test_a_real_invitations_run_writes_owner_only_files(invitations_dag, provisioned, invites_dir):
    previous = os.umask(0o022)
    try:
        assert invitations_dag.test(run_conf={"meeting_ids": [], "force": False}).state == "success"
    finally:
        os.umask(previous)
    files = [p for p in invites_dir.rglob("*") if p.is_file()]
    assert {p.parent.name for p in files} == {"attendees", "hosts", "invites"}
    assert {(p.relative_to(invites_dir).as_posix(), _mode(p)) for p in files} == {
        (p.relative_to(invites_dir).as_posix(), 0o600) for p in files
    }
    assert {_mode(folder) for folder in (invites_dir, invites_dir / "attendees", invites_dir / "hosts")} == {0o700}
