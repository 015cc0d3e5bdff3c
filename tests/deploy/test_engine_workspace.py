"""The engine's folder and environment: the engine works on a copy of the tracked stack file,
and paths the caller gave relative to where they ran flexor keep their meaning there."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.engine_workspace import engine_env, prepare


def test_relative_paths_of_the_caller_stay_the_callers(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLEXOR_CONTROL_PLANE", "other.db")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "secrets/pass")
    env = engine_env(ProjectPaths(project))
    assert env["FLEXOR_CONTROL_PLANE"] == str(tmp_path / "other.db")
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(tmp_path / "secrets" / "pass")


def test_the_engine_works_on_a_fresh_copy_of_the_tracked_stack_file(project: Path) -> None:
    paths = ProjectPaths(project)
    tracked = project / "Pulumi.staging.yaml"
    before = tracked.read_text()
    folder = prepare(paths, Environment.STAGING)
    copy = folder / "Pulumi.staging.yaml"
    assert copy.read_text() == before
    copy.write_text(before + "encryptionsalt: v1:local\n")  # what the engine adds there
    tracked.write_text(before + "  flexor:triggers: [manual]\n")
    prepare(paths, Environment.STAGING)
    assert copy.read_text() == tracked.read_text()  # the tracked file wins, every session
    assert "encryptionsalt" not in tracked.read_text()
