"""`flexor sync`: only regular files inside the vault are published; special files stop it."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor_child
from tests.helpers.project import add_special_files

pytestmark = pytest.mark.engine


def test_special_files_and_links_leaving_the_vault_stop_the_sync(project: Path,
                                                                 tmp_path: Path) -> None:
    expected = add_special_files(project, tmp_path / "secret.md")
    done = flexor_child(project, "sync", "--vault", "company")
    assert done.returncode == ExitCode.FAILED, done.stderr[-2000:]
    assert sorted(line for line in done.stderr.splitlines() if "[file-" in line) == expected
    assert "the vault has errors; nothing was synced" in done.stderr
    assert "the-secret" not in done.stdout + done.stderr
    assert not (project / ".flexor" / "snapshots").exists()

