"""`flexor init`: a new project that validates clean and deploys with the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flexor_iac import main as cli_main
from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor


@pytest.mark.engine
def test_init_creates_a_project_that_validates_and_deploys(tmp_path: Path) -> None:
    target = tmp_path / "new-project"
    created = flexor(tmp_path, "init", str(target), "--vault", "desk")
    assert created.returncode == ExitCode.OK, created.stderr
    assert (target / "vaults" / "desk" / "vault.json").is_file()
    assert "flexor sync --vault desk && flexor deploy --env sandbox" in created.stdout
    assert flexor(target, "validate").returncode == ExitCode.OK
    assert flexor(target, "sync", "--vault", "desk").returncode == ExitCode.OK
    deployed = flexor(target, "deploy", "--env", "sandbox", "--yes")
    assert deployed.returncode == ExitCode.OK, deployed.stderr
    assert " + Agent hello-agent  1.0" in deployed.stdout.splitlines()


def test_init_refuses_an_existing_project(project: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "Pulumi.yaml").read_text()
    assert cli_main.main(["init", str(project)]) == ExitCode.FAILED
    assert "already exists; nothing was written" in capsys.readouterr().err
    assert (project / "Pulumi.yaml").read_text() == before


def test_init_rejects_a_bad_vault_name(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["init", str(tmp_path / "p"), "--vault", "my_vault"]) == ExitCode.USAGE
    assert not (tmp_path / "p").exists()


def test_init_gives_each_environment_its_own_catalog(tmp_path: Path) -> None:
    target = tmp_path / "p"
    assert cli_main.main(["init", str(target)]) == ExitCode.OK
    catalogs = {env: yaml.safe_load((target / f"Pulumi.{env}.yaml").read_text())["config"]
                for env in ("sandbox", "staging", "production")}
    assert {env: config["flexor:catalog"] for env, config in catalogs.items()} == {
        "sandbox": "plexifact://sandbox/catalog", "staging": "plexifact://staging/catalog",
        "production": "plexifact://prod/catalog"}
