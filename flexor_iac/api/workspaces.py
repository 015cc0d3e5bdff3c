"""The folders the team server runs a client's verbs in: one per set of files.

A workspace is a copy of exactly the files a client sent (their content from the control
plane's `server_files`, so any server on the database can build it), named by the digest of
the whole listing: the next verb on the same files reuses it. It is built in a temporary
folder and renamed into place, so a workspace is whole or absent; ones unused for a day go.

A verb holds its workspace by a lease: a shared lock on the workspace's lock file, from before
it is looked up until the verb has ended. Pruning takes that lock exclusively, without waiting,
so a workspace in use (however long its verb runs, on any server process on this machine) is
never removed under it, and one being removed is built again by the next verb.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import weakref
from collections.abc import Mapping
from pathlib import Path

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.errors import UsageError
from flexor_iac.core.workspace import private_dir
from flexor_iac.remote.protocol import MAX_FILES, allowed_path, digest_of, valid_digest

UNUSED_SECONDS = 24 * 3600
MAX_WORKSPACE_BYTES = 256 << 20  # the files of one workspace, together
READ_BYTES = 32 << 20  # about this much content is read from the database at a time


class MissingContent(Exception):
    """The client must upload these digests first."""

    def __init__(self, missing: set[str]) -> None:
        super().__init__(f"{len(missing)} file(s) to upload")
        self.missing = missing


def checked_listing(files: Mapping[str, str]) -> dict[str, str]:
    """The listing a client sent, or UsageError naming the first entry the server refuses."""
    if len(files) > MAX_FILES:
        raise UsageError(f"more than {MAX_FILES} files")
    if "Pulumi.yaml" not in files:
        raise UsageError("the files sent hold no Pulumi.yaml")
    for path, digest in files.items():
        if not allowed_path(path):
            raise UsageError(f"{path!r}: the server takes only Pulumi files, agents/ and vaults/")
        if not valid_digest(digest):
            raise UsageError(f"{path}: {digest!r} is not a SHA-256 digest")
    return dict(sorted(files.items()))


def _parts(listing: dict[str, str], sizes: Mapping[str, int]) -> list[dict[str, str]]:
    """`listing` in parts of about READ_BYTES of content each (never a whole workspace in
    memory at once)."""
    parts: list[dict[str, str]] = [{}]
    held = 0
    for path, digest in listing.items():
        if parts[-1] and held + sizes[digest] > READ_BYTES:
            parts.append({})
            held = 0
        parts[-1][path] = digest
        held += sizes[digest]
    return parts


class Lease:
    """A workspace held for one verb: `release()` once it has ended (closing the lock; also
    done if the lease is dropped unreleased)."""

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._closer = weakref.finalize(self, os.close, descriptor)

    def release(self) -> None:
        self._closer()


def _locked(lock: Path, operation: int) -> int | None:
    """A descriptor of `lock` (made if absent) holding `operation`'s flock, on the file that is
    still at that path (one a prune removed meanwhile is let go and the new one taken); None
    when a non-blocking lock is held elsewhere."""
    while True:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, operation)
        except BlockingIOError:
            os.close(descriptor)
            return None
        try:
            same = os.stat(lock).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return descriptor
        os.close(descriptor)


class Workspaces:
    """The server's workspaces, under `root` (the server project's .flexor/server/)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self, store: ControlPlane, files: Mapping[str, str]) -> Lease:
        """The workspace holding `files` (built when new), held until the lease is released;
        MissingContent when the control plane lacks any of their content."""
        listing = checked_listing(files)
        name = digest_of(json.dumps(listing).encode())[:32]
        private_dir(self.root)
        descriptor = _locked(self.root / f".{name}.lock", fcntl.LOCK_SH)
        assert descriptor is not None  # a blocking lock
        lease = Lease(self.root / name, descriptor)
        try:
            self._build(store, name, listing)
        except BaseException:
            lease.release()
            raise
        self._prune(keep=lease.path)
        return lease

    def _build(self, store: ControlPlane, name: str, listing: dict[str, str]) -> None:
        target = self.root / name
        if (target / "Pulumi.yaml").is_file():
            os.utime(target)
            return
        sizes = store.file_sizes(listing.values())
        if missing := set(listing.values()) - set(sizes):
            raise MissingContent(missing)
        if (total := sum(sizes[digest] for digest in set(listing.values()))) \
                > MAX_WORKSPACE_BYTES:
            raise UsageError(f"the files sent hold {total >> 20} MiB; the server lays out at "
                             f"most {MAX_WORKSPACE_BYTES >> 20} MiB for one verb")
        building = self.root / f".{name}.{os.getpid()}.{time.monotonic_ns()}"
        try:
            for part in _parts(listing, sizes):
                contents = store.file_contents(part.values())
                if gone := set(part.values()) - set(contents):  # pruned meanwhile
                    raise MissingContent(gone)
                for path, digest in part.items():
                    destination = building / path
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(contents[digest])
            try:
                building.rename(target)
            except OSError:  # another request built it first
                if not (target / "Pulumi.yaml").is_file():
                    raise
        finally:
            shutil.rmtree(building, ignore_errors=True)

    def _prune(self, keep: Path) -> None:
        """Remove workspaces unused for a day that no verb holds, with their lock files, and
        folders left half-built by a server that died."""
        limit = time.time() - UNUSED_SECONDS
        for folder in self.root.iterdir():
            try:
                stale = folder != keep and folder.is_dir() and folder.stat().st_mtime < limit
            except OSError:
                continue
            if not stale:
                continue
            lock = self.root / f".{folder.name}.lock"
            if folder.name.startswith("."):  # a build's temporary folder
                shutil.rmtree(folder, ignore_errors=True)
            elif (descriptor := _locked(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)) is not None:
                try:  # held by no verb: gone, and its lock file with it
                    shutil.rmtree(folder, ignore_errors=True)
                    lock.unlink(missing_ok=True)
                finally:
                    os.close(descriptor)
