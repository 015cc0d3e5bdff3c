"""The folders the team server runs a client's verbs in: one per set of files.

A workspace is a copy of exactly the files a client sent (their content from the control
plane's `server_files`, so any server on the database can build it), named by the digest of
the whole listing: the next verb on the same files reuses it. It is built in a temporary
folder and renamed into place, so a workspace is whole or absent; ones unused for a day go.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.errors import UsageError
from flexor_iac.core.workspace import private_dir
from flexor_iac.remote.protocol import MAX_FILES, allowed_path, digest_of, valid_digest

UNUSED_SECONDS = 24 * 3600


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


class Workspaces:
    """The server's workspaces, under `root` (the server project's .flexor/server/)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self, store: ControlPlane, files: Mapping[str, str]) -> Path:
        """The workspace holding `files` (built when new); MissingContent when the control
        plane lacks any of their content."""
        listing = checked_listing(files)
        name = digest_of(json.dumps(listing).encode())[:32]
        target = self.root / name
        if (target / "Pulumi.yaml").is_file():
            os.utime(target)
            return target
        contents = store.file_contents(listing.values())
        if missing := set(listing.values()) - set(contents):
            raise MissingContent(missing)
        private_dir(self.root)
        building = self.root / f".{name}.{os.getpid()}.{time.monotonic_ns()}"
        try:
            for path, digest in listing.items():
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
        self._prune(keep=target)
        return target

    def _prune(self, keep: Path) -> None:
        """Remove workspaces unused for a day (a verb running in one keeps it fresh)."""
        limit = time.time() - UNUSED_SECONDS
        for folder in self.root.iterdir():
            try:
                stale = folder != keep and folder.stat().st_mtime < limit
            except OSError:
                continue
            if stale:
                shutil.rmtree(folder, ignore_errors=True)
