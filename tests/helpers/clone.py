"""A fresh clone of this repository in a temp dir: its files as git has them, nothing generated,
and the machine's set-up (the .venv and the Pulumi toolchain) reused, as on a machine where
`scripts/setup` already ran once."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from flexor_iac.deploy.toolchain import pins, pulumi_bin_dir
from tests.conftest import REPO

STAMP = ".flexor-setup-stamp"  # scripts/setup: the pyproject.toml hash .venv was set up for


def git(where: Path, *args: str) -> str:
    """Run git in `where` (as a throwaway identity) and return its output."""
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          cwd=where, capture_output=True, text=True, check=True)
    return done.stdout


def fresh_clone(tmp_path: Path) -> Path:
    """The repository's files (committed and new, not ignored) committed in a new git repo."""
    clone = tmp_path / "clone"
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, clone / name)
    git(clone, "init", "-q")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "clone")
    return clone


def set_up_machine(clone: Path, tmp_path: Path) -> dict[str, str]:
    """What `scripts/setup` finds on a machine that ran it before: this checkout's .venv (up to
    date with pyproject.toml) and the built toolchain in the cache. Returns the environment
    that points the clone's set-up at that cache."""
    venv = clone / ".venv"
    venv.mkdir()
    for entry in (REPO / ".venv").iterdir():  # bin, lib, pyvenv.cfg
        if entry.name != STAMP:
            (venv / entry.name).symlink_to(entry)
    # The stamp is the clone's own, a file, up to date: the clone's set-up must never install
    # into this checkout's .venv (through the links above).
    (venv / STAMP).write_text(
        hashlib.sha256((clone / "pyproject.toml").read_bytes()).hexdigest())
    real_bin = (pulumi_bin_dir() / "pulumi").resolve().parent
    cache = tmp_path / "tools-cache"
    (cache / f"pulumi-v{pins()['cli']}").mkdir(parents=True)
    (cache / f"pulumi-v{pins()['cli']}" / "bin").symlink_to(real_bin)
    return {"FLEXOR_TOOLS_CACHE": str(cache)}
