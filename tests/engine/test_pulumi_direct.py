"""`pulumi preview --stack sandbox` run directly, as CI pipelines that already use Pulumi do.

The repository's own Pulumi.yaml and `main: flexor_iac/program.py` are used unchanged; the
project files are laid out in a temp dir (with the program file copied in) so that `stack init`,
which writes the passphrase salt into Pulumi.<env>.yaml, never touches the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_example

pytestmark = pytest.mark.engine


def _repo_layout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    copy_example(root)
    # The program file itself, byte for byte; the package comes from the installed flexor_iac.
    (root / "flexor_iac").mkdir()
    shutil.copy2(REPO / "flexor_iac" / "program.py", root / "flexor_iac" / "program.py")
    return root


def _pulumi(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(root, "pulumi", *args, "--non-interactive")


def _run(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ,
               PATH=f"{REPO / '.tools' / 'bin'}{os.pathsep}{os.environ['PATH']}",
               PULUMI_BACKEND_URL=f"file://{root / '.flexor' / 'state'}",
               PULUMI_CONFIG_PASSPHRASE="direct-test",
               PULUMI_SKIP_UPDATE_CHECK="true",
               PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
               PULUMI_HOME=str(root / ".flexor" / "pulumi-home"))
    (root / ".flexor" / "state").mkdir(parents=True, exist_ok=True)
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_repo_pulumi_yaml_previews_with_the_tools_folder_on_path(tmp_path: Path) -> None:
    root = _repo_layout(tmp_path)
    assert (root / "Pulumi.yaml").read_text() == (REPO / "Pulumi.yaml").read_text()
    init = _pulumi(root, "stack", "init", "sandbox")
    assert init.returncode == 0, init.stderr
    unsynced = _pulumi(root, "preview", "--stack", "sandbox")
    assert unsynced.returncode != 0  # a CI job publishes the snapshots first, as below
    assert "vault desk was never synced (run `flexor sync --vault desk`)" in unsynced.stdout
    synced = _run(root, str(Path(sys.executable).parent / "flexor"), "sync", "--all")
    assert synced.returncode == 0, synced.stderr
    preview = _pulumi(root, "preview", "--stack", "sandbox", "--diff")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "pulumi-python:dynamic/flexor:EnvironmentBinding" in preview.stdout
    assert "+ 4 to create" in preview.stdout  # the stack, the binding, the desk vault, its agent


def test_direct_preview_reports_project_errors(tmp_path: Path) -> None:
    root = _repo_layout(tmp_path)
    agent = root / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "one"'))
    assert _pulumi(root, "stack", "init", "staging").returncode == 0
    preview = _pulumi(root, "preview", "--stack", "staging")
    assert preview.returncode != 0
    assert "agents/feed-monitor.yaml:2:1: error:" in preview.stdout + preview.stderr
