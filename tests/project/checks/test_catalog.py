"""Catalog rules per environment: a vault may not name another environment's catalog, and an
agent that reads PlexiFact needs its environment's `flexor:catalog`."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.main import main
from tests.helpers.project import LIVE, drop_stack_catalog, init_project


def validate(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["validate", "--project-dir", str(root), *args])
    return code, [line for line in capsys.readouterr().err.splitlines() if line]


def mismatch(env: str, own: str) -> str:
    return (f"vaults/desk/vault.json:7:5: error: data.catalog is {LIVE} but {env} reads "
            f"{own} (flexor:catalog in Pulumi.{env}.yaml); a vault deployed to {env} may name "
            f"only that catalog, or none [catalog-environment]")


def test_validate_env_staging_reports_a_vault_naming_productions_catalog(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = init_project(tmp_path / "fresh")
    assert validate(root, capsys, "--env", "staging") == (
        ExitCode.FAILED, [mismatch("staging", "plexifact://staging/catalog")])
    assert validate(root, capsys, "--env", "production") == (ExitCode.OK, [])
    assert validate(root, capsys) == (ExitCode.FAILED, [
        mismatch("sandbox", "plexifact://sandbox/catalog"),
        mismatch("staging", "plexifact://staging/catalog")])


def test_a_vault_catalog_where_the_stack_names_none_is_an_error_too(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = init_project(tmp_path / "fresh")
    drop_stack_catalog(root, Environment.STAGING)
    code, lines = validate(root, capsys, "--env", "staging")
    assert code == ExitCode.FAILED
    assert lines == [
        "agents/reader.yaml:5:1: error: agent uses plexifact.catalog.get_feed_metadata in "
        "staging, but Pulumi.staging.yaml sets no flexor:catalog [catalog-missing]",
        f"vaults/desk/vault.json:7:5: error: data.catalog is {LIVE} but Pulumi.staging.yaml "
        "sets no flexor:catalog, so staging has no catalog (it never reads a vault's) "
        "[catalog-environment]"]


def test_catalog_missing_follows_the_stack_not_the_vault(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = init_project(tmp_path / "fresh", catalog=None)
    assert validate(root, capsys) == (ExitCode.OK, [])
    drop_stack_catalog(root, Environment.PRODUCTION)
    assert validate(root, capsys, "--env", "staging") == (ExitCode.OK, [])
    assert validate(root, capsys, "--env", "production") == (ExitCode.FAILED, [
        "agents/reader.yaml:5:1: error: agent uses plexifact.catalog.get_feed_metadata in "
        "production, but Pulumi.production.yaml sets no flexor:catalog [catalog-missing]"])
