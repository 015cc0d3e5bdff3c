"""Which paths are read as project files: examined without being opened, read without blocking."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flexor_iac.config.files import (
    DIRECTORY,
    FILE,
    NotRegular,
    Refused,
    TooLarge,
    examine,
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
