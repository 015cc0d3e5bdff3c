"""Which of a project's files a client sends, and which paths the server takes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flexor_iac.core.errors import FlexorError
from flexor_iac.remote import protocol
from flexor_iac.remote.protocol import allowed_path, project_files


@pytest.mark.parametrize("path", ["Pulumi.yaml", "Pulumi.production.yaml",
                                  "agents/feed-monitor.yaml", "vaults/company/skills/a.yaml",
                                  "vaults/company/.hidden"])
def test_the_pulumi_files_agents_and_vaults_are_sent(path: str) -> None:
    assert allowed_path(path)


@pytest.mark.parametrize("path", ["Pulumi.other.yaml", "flexor_iac/program.py", "agents",
                                  "agents/../../etc/passwd", "vaults/./x", "/etc/passwd",
                                  "vaults//x", ".flexor/passphrase", "agents/a\x00b"])
def test_nothing_else_is_taken(path: str) -> None:
    assert not allowed_path(path)


def test_a_project_sends_its_files_not_links_out_of_it_nor_its_state(project: Path,
                                                                    tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("not the project's")
    os.symlink(outside, project / "vaults" / "company" / "leak.md")
    (project / ".flexor").mkdir(exist_ok=True)
    (project / ".flexor" / "passphrase").write_text("x")
    sent = project_files(project)
    assert "Pulumi.yaml" in sent and "agents/feed-monitor.yaml" in sent
    assert "vaults/company/vault.json" in sent
    assert not any(name.startswith(".flexor") or name.endswith("leak.md") for name in sent)


def test_a_file_larger_than_the_server_takes_is_one_line_naming_it(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "MAX_FILE_BYTES", 10)
    with pytest.raises(FlexorError, match=r"^Pulumi.yaml: larger than"):
        project_files(project)
