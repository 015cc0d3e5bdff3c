"""`flexor sync`: only regular files inside the vault are published; special files stop it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flexor_iac.constants import ExitCode

# A child process: reading a FIFO blocks and reading /dev/zero never ends on the unfixed code,
# so the CLI runs with a timeout and a memory ceiling instead of hanging the test session.
_CHILD = ("import resource, sys\n"
          "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
          "from flexor_iac.main import main\n"
          "sys.exit(main(sys.argv[1:]))\n")


def flexor_child(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process with a 60 s timeout and a 2 GiB memory ceiling."""
    try:
        return subprocess.run([sys.executable, "-c", _CHILD, *args, "--project-dir",
                               str(project)], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"flexor {' '.join(args)} did not finish within 60 s")


def add_special_files(project: Path, outside: Path) -> list[str]:
    """A FIFO, a device and links leaving the company vault; the diagnostics they should get."""
    vault = project / "vaults" / "company"
    os.mkfifo(vault / "skills" / "pipe.yaml")
    os.mkfifo(vault / "knowledge" / "pipe.md")
    (vault / "skills" / "zero.yaml").symlink_to("/dev/zero")
    (vault / "knowledge" / "passwd").symlink_to("/etc/passwd")
    outside.write_text("the-secret\n")
    (vault / "rules" / "secret.md").symlink_to(outside)
    (vault / "rules" / "routing.md").symlink_to("notification-routing.md")  # inside: fine
    pipe = "error: not a regular file (a named pipe); only regular files are read"
    leaving = "error: a symbolic link leading outside its vault (to {}); only files inside it " \
              "are read"
    return sorted([
        f"vaults/company/knowledge/passwd:1:1: {leaving.format('/etc/passwd')} [file-not-regular]",
        f"vaults/company/knowledge/pipe.md:1:1: {pipe} [file-not-regular]",
        f"vaults/company/rules/secret.md:1:1: {leaving.format(outside.resolve())} "
        "[file-not-regular]",
        f"vaults/company/skills/pipe.yaml:1:1: {pipe} [file-not-regular]",
        f"vaults/company/skills/zero.yaml:1:1: {leaving.format('/dev/zero')} [file-not-regular]",
    ])


def test_special_files_and_links_leaving_the_vault_stop_the_sync(project: Path,
                                                                 tmp_path: Path) -> None:
    expected = add_special_files(project, tmp_path / "secret.md")
    done = flexor_child(project, "sync", "--vault", "company")
    assert done.returncode == ExitCode.FAILED, done.stderr[-2000:]
    assert sorted(line for line in done.stderr.splitlines() if "[file-" in line) == expected
    assert "the vault has errors; nothing was synced" in done.stderr
    assert "the-secret" not in done.stdout + done.stderr
    assert not (project / ".flexor" / "snapshots").exists()

