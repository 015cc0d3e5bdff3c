"""Vault snapshots: immutable, content-addressed copies of a vault directory (see decision 004)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.errors import FlexorError
from flexor_iac.core.workspace import ProjectPaths, private_dir
from flexor_iac.project.digest import tree_digest
from flexor_iac.project.files import NotRegular, TooLarge, describe_size, read_regular
from flexor_iac.project.loading import VaultSource

JOURNAL = "journal.jsonl"
# The largest file a snapshot takes: a snapshot is read whole (digest, copy, control plane), so
# a vault file is never read past this (a 2 GiB file in rules/ is refused, not loaded).
MAX_VAULT_FILE_BYTES = 16 << 20


@dataclass(frozen=True)
class Published:
    """The outcome of a sync: the snapshot's digest and whether it is new."""

    vault: str
    digest: str
    files: tuple[str, ...]
    created: bool


def vault_directory(paths: ProjectPaths, vault: VaultSource) -> Path:
    """The vault's folder in the working tree."""
    return paths.root / "vaults" / vault.directory


@contextmanager
def _listed_files(source: Path) -> Iterator[None]:
    """A vault file that is no longer the one listed (a link or FIFO swapped in), or one too
    large for a snapshot, is one line."""
    try:
        yield
    except NotRegular as error:
        raise FlexorError(f"{error.filename}: {error.message} [file-not-regular]") from None
    except TooLarge as error:
        raise FlexorError(f"{error.filename or source}: the file is "
                          f"{describe_size(error.size)}; a vault's files may be at most "
                          f"{describe_size(MAX_VAULT_FILE_BYTES)} [file-too-large]") from None


def local_digest(paths: ProjectPaths, vault: VaultSource) -> str:
    """The digest the vault's working-tree content would have as a snapshot."""
    source = vault_directory(paths, vault)
    with _listed_files(source):
        return tree_digest(source, vault.files, vault.identities, MAX_VAULT_FILE_BYTES)


def snapshot_directory(paths: ProjectPaths, digest: str) -> Path:
    """Where a snapshot's files live (written once, never changed)."""
    return paths.state_dir / "snapshots" / digest.removeprefix("sha256:")


def publish(paths: ProjectPaths, vault: VaultSource, control_plane: ControlPlane) -> Published:
    """Record the vault's content as a snapshot in the control plane, and keep a copy in its
    content-addressed folder (written atomically, once)."""
    digest = local_digest(paths, vault)
    source = vault_directory(paths, vault)
    content: dict[str, bytes] = {}
    for name in vault.files:
        # The bytes, never a link; only the regular files listed (vault.files).
        with _listed_files(source):
            content[name] = read_regular(source / name, MAX_VAULT_FILE_BYTES,
                                         identity=vault.identities[name])
    _write_folder(snapshot_directory(paths, digest), content)
    created = control_plane.publish_snapshot(digest, vault.config.name, list(vault.files),
                                             content=content)
    published_at = control_plane.snapshot_time(vault.config.name, digest)
    if created and published_at is not None:
        _journal(paths, {"vault": vault.config.name, "digest": digest, "files": list(vault.files),
                         "created_at": published_at.isoformat()})
    return Published(vault.config.name, digest, vault.files, created)


def _write_folder(target: Path, content: dict[str, bytes]) -> None:
    """Write a snapshot's folder once, atomically (a rename of a complete copy)."""
    if target.exists():
        return
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    for name, data in content.items():
        private_dir((staging / name).parent)
        (staging / name).write_bytes(data)
    private_dir(staging)  # a vault of no listed files
    try:
        os.rename(staging, target)
    except OSError:  # another process wrote the same content first: same bytes
        shutil.rmtree(staging, ignore_errors=True)


def snapshot_folder(paths: ProjectPaths, control_plane: ControlPlane, digest: str) -> Path:
    """A snapshot's files on this machine: the clone's copy, else written out from the control
    plane (a team database holds every synced snapshot, so a fresh clone needs no `.flexor/`)."""
    target = snapshot_directory(paths, digest)
    if not target.is_dir():
        content = control_plane.snapshot_content(digest)
        if content is None:
            raise FlexorError(f"snapshot {digest[:19]}… has no content here or in the control "
                              "plane: run `flexor sync` in the clone that has the vault")
        _write_folder(target, content)
    return target


def _journal(paths: ProjectPaths, entry: dict[str, Any]) -> None:
    """Append one publication to the journal a lost control plane is rebuilt from."""
    with (paths.state_dir / "snapshots" / JOURNAL).open("a") as handle:
        handle.write(json.dumps(entry) + "\n")


def recover(paths: ProjectPaths, control_plane: ControlPlane) -> int:
    """Replay the publication journal into a control plane that lost its records."""
    journal = paths.state_dir / "snapshots" / JOURNAL
    if control_plane.has_snapshots() or not journal.exists():
        return 0
    replayed = 0
    for line in journal.read_text().splitlines():
        entry = json.loads(line)
        folder = snapshot_directory(paths, entry["digest"])
        if folder.is_dir():
            content = {name: (folder / name).read_bytes() for name in entry["files"]}
            control_plane.publish_snapshot(entry["digest"], entry["vault"], entry["files"],
                                           entry["created_at"], content=content)
            replayed += 1
    return replayed
