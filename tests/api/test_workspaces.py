"""The team server's workspaces: built once per set of files, held by a lease while a verb
runs in one, pruned a day after their last use only when no verb holds them."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexor_iac.api import workspaces
from flexor_iac.api.workspaces import UNUSED_SECONDS, MissingContent, Workspaces
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.errors import UsageError
from flexor_iac.remote.protocol import digest_of

PULUMI = b"name: flexor\nruntime: python\n"
AGENT = b"name: a\n"


@pytest.fixture
def store(project: Path) -> Iterator[ControlPlane]:
    with ControlPlane(locate(project)) as opened:
        opened.store_files({digest_of(PULUMI): PULUMI, digest_of(AGENT): AGENT})
        yield opened


def _listing(*extra: bytes) -> dict[str, str]:
    files = {"Pulumi.yaml": digest_of(PULUMI)}
    files.update({f"agents/a{index}.yaml": digest_of(content)
                  for index, content in enumerate(extra)})
    return files


def _age(folder: Path) -> None:
    """As if last used more than a day ago."""
    old = time.time() - UNUSED_SECONDS - 60
    os.utime(folder, (old, old))


def test_a_workspace_holds_exactly_the_files_and_is_reused(store: ControlPlane,
                                                          tmp_path: Path) -> None:
    spaces = Workspaces(tmp_path / "spaces")
    first = spaces.prepare(store, _listing(AGENT))
    assert (first.path / "agents" / "a0.yaml").read_bytes() == AGENT
    assert sorted(p.name for p in first.path.iterdir()) == ["Pulumi.yaml", "agents"]
    again = spaces.prepare(store, _listing(AGENT))
    assert again.path == first.path
    first.release()
    again.release()


def test_a_workspace_a_verb_holds_is_not_pruned_however_old(store: ControlPlane,
                                                           tmp_path: Path) -> None:
    spaces = Workspaces(tmp_path / "spaces")
    held = spaces.prepare(store, _listing(AGENT))
    _age(held.path)
    spaces.prepare(store, _listing()).release()  # a prepare prunes the others
    assert (held.path / "Pulumi.yaml").is_file()  # its verb is still running in it
    held.release()
    _age(held.path)
    spaces.prepare(store, _listing()).release()
    assert not held.path.exists()
    assert not (held.path.parent / f".{held.path.name}.lock").exists()  # nothing piles up
    assert (spaces.prepare(store, _listing(AGENT)).path / "Pulumi.yaml").is_file()  # rebuilt


def test_a_refused_prepare_holds_nothing(store: ControlPlane, tmp_path: Path) -> None:
    spaces = Workspaces(tmp_path / "spaces")
    with pytest.raises(MissingContent):
        spaces.prepare(store, {**_listing(), "agents/x.yaml": digest_of(b"never uploaded")})
    lock = next((tmp_path / "spaces").glob(".*.lock"))
    with open(lock, "rb") as opened:
        fcntl.flock(opened, fcntl.LOCK_EX | fcntl.LOCK_NB)  # would raise if a lease held it


def test_a_workspace_is_read_in_parts_and_refused_past_its_size(
        store: ControlPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    agents = [f"name: a{index}\n".encode() * 100 for index in range(5)]  # 800 bytes each
    store.store_files({digest_of(content): content for content in agents})
    monkeypatch.setattr(workspaces, "READ_BYTES", 2000)
    reads: list[int] = []
    contents = store.file_contents
    monkeypatch.setattr(store, "file_contents",
                        lambda digests: reads.append(len(list(digests))) or contents(digests))
    built = Workspaces(tmp_path / "spaces").prepare(store, _listing(*agents))
    assert [(built.path / "agents" / f"a{i}.yaml").read_bytes() for i in range(5)] == agents
    assert max(reads) < 6 and sum(reads) == 6  # never all six files at once
    built.release()
    monkeypatch.setattr(workspaces, "MAX_WORKSPACE_BYTES", 3000)
    with pytest.raises(UsageError, match="lays out at most"):
        Workspaces(tmp_path / "other").prepare(store, _listing(*agents))
