"""Which paths are read as project files: examined without being opened, read without blocking."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.documents import read_document
from flexor_iac.project.files import (
    DIRECTORY,
    FILE,
    NotRegular,
    Refused,
    TooLarge,
    examine,
    identify,
    project_boundary,
    read_regular,
    vault_boundary,
)


def test_examine_tells_files_folders_and_refusals_apart(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    root = project_boundary(project)
    (tmp_path / "outside.yaml").write_text("x: 1\n")
    (project / "a.yaml").write_text("x: 1\n")
    (project / "inside.yaml").symlink_to("a.yaml")
    (project / "out.yaml").symlink_to(tmp_path / "outside.yaml")
    (project / "gone.yaml").symlink_to("missing.yaml")
    os.mkfifo(project / "pipe")
    assert examine(project / "a.yaml", root) == FILE
    assert examine(project / "inside.yaml", root) == FILE
    assert examine(project, root) == DIRECTORY
    assert examine(project / "pipe", root) == Refused(
        "not a regular file (a named pipe); only regular files are read", "file-not-regular")
    assert examine(project / "gone.yaml", root) == Refused(
        "cannot read file: No such file or directory", "file-unreadable")
    assert examine(project / "out.yaml", root) == Refused(
        f"a symbolic link leading outside the project (to {(tmp_path / 'outside.yaml').resolve()})"
        "; only files inside it are read", "file-not-regular")


def test_a_vault_boundary_is_the_folder_as_named_not_where_it_leads(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "vault.json").write_text("{}")
    (tmp_path / "vaults").mkdir()
    (tmp_path / "vaults" / "v").symlink_to(tmp_path / "elsewhere")
    found = examine(tmp_path / "vaults" / "v" / "vault.json",
                    vault_boundary(tmp_path / "vaults" / "v"), "its vault")
    assert isinstance(found, Refused) and "outside its vault" in found.message


def test_read_regular_refuses_what_is_not_a_regular_file_without_waiting(
        tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(NotRegular, match="a named pipe"):
        read_regular(tmp_path / "pipe")  # opened without blocking, then refused
    with pytest.raises(NotRegular, match="a character device"):
        read_regular("/dev/zero")
    (tmp_path / "big").write_bytes(b"x" * 100)
    with pytest.raises(TooLarge):
        read_regular(tmp_path / "big", limit=99)
    assert read_regular(tmp_path / "big") == b"x" * 100


def _swapped(kind: str, path: Path, outside: Path) -> None:
    """Replace `path` by what `kind` names: a link out of the project, a FIFO, another file."""
    if kind == "a link to a file outside":
        path.unlink()
        path.symlink_to(outside)
    elif kind == "a FIFO":
        path.unlink()
        os.mkfifo(path)
    else:
        replacement = path.with_name("replacement")
        replacement.write_text("y: 2\n")
        replacement.replace(path)  # a new file (inode) at the examined name


@pytest.mark.parametrize("kind", ["a link to a file outside", "a FIFO", "another file"])
def test_a_file_swapped_between_examining_and_opening_is_not_read(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    outside = tmp_path / "passwd"
    outside.write_text("root: the-secret\n")
    path = project / "a.yaml"
    path.write_text("x: 1\n")
    real_open = os.open

    def swap_then_open(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fspath(name) == str(path) and not path.is_symlink() and path.is_file():
            _swapped(kind, path, outside)  # after examine looked, before the read opens
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", swap_then_open)
    found = read_document(path, "a.yaml")
    assert isinstance(found, Diagnostic), found
    assert (found.rule, found.line) == ("file-not-regular", 1)
    assert "only regular files are read" in found.message


def test_read_regular_reads_only_the_file_examined(tmp_path: Path) -> None:
    root = project_boundary(tmp_path)
    (tmp_path / "outside").write_text("the-secret\n")
    (tmp_path / "a.yaml").write_text("x: 1\n")
    (tmp_path / "link.yaml").symlink_to("a.yaml")  # a link inside: read where it leads
    for name in ("a.yaml", "link.yaml"):
        found, identity = identify(tmp_path / name, root)
        assert found == FILE and read_regular(tmp_path / name, identity=identity) == b"x: 1\n"
    _found, identity = identify(tmp_path / "a.yaml", root)
    (tmp_path / "a.yaml").unlink()
    (tmp_path / "a.yaml").symlink_to(tmp_path / "outside")
    with pytest.raises(NotRegular, match="replaced by another file"):
        read_regular(tmp_path / "a.yaml", identity=identity)
