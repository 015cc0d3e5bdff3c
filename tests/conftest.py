"""Shared fixtures: the write guard, example-project copies, and the toolchain marker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexor_iac.scaffold import PROGRAM_FILE, PROGRAM_TEXT

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_FILES = ("Pulumi.yaml", "Pulumi.sandbox.yaml", "Pulumi.staging.yaml",
                 "Pulumi.production.yaml", "agents", "vaults")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class WriteOutsideSandbox(AssertionError):
    """A test opened a file for writing outside its allowed folders."""


class WriteGuard:
    """Fails any in-process open-for-writing outside the allowed roots (an audit hook)."""

    def __init__(self) -> None:
        self.allowed: list[Path] = []
        self.active = False

    def allows(self, path: Path) -> bool:
        return str(path) == os.devnull or "__pycache__" in path.parts or any(
            path == root or root in path.parents for root in self.allowed)

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active or event != "open" or not isinstance(args[0], str | Path):
            return
        mode, flags = args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS)
        if writing:
            target = Path(os.path.abspath(args[0]))
            if not self.allows(target):
                self.active = False  # let pytest itself report
                raise WriteOutsideSandbox(f"test wrote outside its temp dir: {target}")


GUARD = WriteGuard()
sys.addaudithook(GUARD)


def _repo_snapshot() -> str:
    """Tracked and untracked (not ignored) changes in the repository, as git sees them."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, check=False).stdout


@pytest.fixture(scope="session", autouse=True)
def repo_unchanged() -> Iterator[None]:
    """Subprocesses (the Pulumi engine, the CLI) must not change the repository either."""
    before = _repo_snapshot()
    yield
    after = _repo_snapshot()
    assert after == before, f"the test session changed the repository:\n{after}"


@pytest.fixture(autouse=True)
def write_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WriteGuard]:
    """Each test may write only under its tmp_path (its HOME and TMPDIR are moved there too)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("FLEXOR_ENV", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    GUARD.allowed = [tmp_path.resolve()]
    GUARD.active = True
    yield GUARD
    GUARD.active = False


def add_vault(root: Path, name: str, tier: str, environment: str,
              skills: dict[str, str] | None = None) -> Path:
    """Add a vault (and skill files: name → YAML) to a project; returns its folder."""
    folder = root / "vaults" / name
    (folder / "skills").mkdir(parents=True)
    (folder / "vault.json").write_text(
        f'{{"name": "{name}", "tier": "{tier}", "environment": "{environment}"}}')
    for skill, text in (skills or {}).items():
        (folder / "skills" / f"{skill}.yaml").write_text(text)
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's example project in a temp dir, with its own .flexor/."""
    root = tmp_path / "project"
    root.mkdir()
    for name in EXAMPLE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    # Outside this repository a project runs the installed program through a root __main__.py.
    (root / PROGRAM_FILE).write_text(PROGRAM_TEXT)
    pulumi_yaml = root / "Pulumi.yaml"
    pulumi_yaml.write_text(pulumi_yaml.read_text().replace(
        "main: flexor_iac/program.py", f"main: {PROGRAM_FILE}"))
    return root
