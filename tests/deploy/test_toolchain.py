"""Finding the toolchain at run time: explicit folder first, a clear error when there is none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flexor_iac.core.errors import ToolchainError
from flexor_iac.deploy import toolchain


@pytest.fixture(autouse=True)
def _fresh_lookup() -> Iterator[None]:
    toolchain.pulumi_bin_dir.cache_clear()
    yield
    toolchain.pulumi_bin_dir.cache_clear()


def _complete(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in toolchain.TOOL_FILES:
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    return folder


def test_explicit_folder_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _complete(tmp_path / "mine" / "bin")
    monkeypatch.setenv("FLEXOR_PULUMI_BIN", str(folder))
    assert toolchain.pulumi_bin_dir() == folder


def test_incomplete_folders_are_passed_over(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "pulumi").write_text("")
    complete = _complete(tmp_path / "complete" / "bin")
    monkeypatch.setattr(toolchain, "_candidates", lambda: [partial, complete])
    assert toolchain.pulumi_bin_dir() == complete


def test_no_toolchain_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolchain, "_candidates", lambda: [tmp_path])
    with pytest.raises(ToolchainError, match=r"not set up: run `scripts/setup`"):
        toolchain.pulumi_bin_dir()
