"""Each environment reads only its own PlexiFact catalog, never the vault's `data.catalog`.

The project is what `flexor init` writes, plus a vault that names the live catalog the way the
vendor's example does (`data.catalog: plexifact://prod/catalog`) and an agent that reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexor_iac.constants import Environment
from flexor_iac.controlplane.runs import RunRecord
from flexor_iac.main import main
from flexor_iac.runtime.connection import health
from flexor_iac.runtime.executor import Executor, RunRequest
from flexor_iac.workspace import ProjectPaths
from tests.runtime.conftest import install, load_catalog

LIVE = "plexifact://prod/catalog"
STAGING_CATALOG = "plexifact://staging/catalog"
READER = """\
name: reader
version: "1.0"
description: "Reads one feed and logs its row count."
owner: "ops-team"
vault: desk
environment: production
trigger:
  type: manual
tasks:
  - skill: plexifact.catalog.get_feed_metadata
    args:
      feed: equity-prices
    capture: meta
  - skill: core.audit.log
    args:
      event: "rows"
      result: "{{ meta.row_count }}"
"""


def feed(rows: int) -> dict[str, list[dict[str, object]]]:
    return {"feeds": [{"name": "equity-prices", "age_minutes": 5, "row_count": rows}]}


def init_project(root: Path, catalog: str | None = LIVE) -> Path:
    """`flexor init` + a vault naming `catalog` (the live one) + an agent reading PlexiFact."""
    assert main(["init", str(root), "--vault", "desk"]) == 0
    vault = root / "vaults" / "desk" / "vault.json"
    config = json.loads(vault.read_text())
    if catalog is not None:
        config["data"] = {"catalog": catalog}
    vault.write_text(json.dumps(config, indent=2) + "\n")
    (root / "agents" / "reader.yaml").write_text(READER)
    return root


def drop_stack_catalog(root: Path, env: Environment) -> None:
    """Remove `flexor:catalog` from Pulumi.<env>.yaml."""
    stack = root / f"Pulumi.{env}.yaml"
    stack.write_text("".join(line for line in stack.read_text().splitlines(keepends=True)
                             if "flexor:catalog" not in line))


@pytest.fixture
def initialised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = init_project(tmp_path / "fresh")
    capsys.readouterr()
    return root


def run(root: Path, env: Environment) -> RunRecord:
    with install(root, env) as store:
        return Executor(ProjectPaths(root), store, environ={}, sleep=lambda _s: None).run(
            RunRequest(env, "reader"))


def logged_rows(record: RunRecord) -> object:
    return record.outputs["audit_log"][0]["result"]


def test_staging_never_reads_a_feed_loaded_only_into_production(initialised: Path) -> None:
    load_catalog(initialised, LIVE, feed(111))
    record = run(initialised, Environment.STAGING)
    assert record.status == "failed"
    assert f"{STAGING_CATALOG} has no data" in record.errors[0]
    assert LIVE not in " ".join(record.errors)


def test_staging_reads_its_own_catalog_and_production_its_own(initialised: Path) -> None:
    load_catalog(initialised, LIVE, feed(111))
    load_catalog(initialised, STAGING_CATALOG, feed(222))
    staging = run(initialised, Environment.STAGING)
    assert staging.status == "success", staging.errors
    assert logged_rows(staging) == 222
    production = run(initialised, Environment.PRODUCTION)
    assert production.status == "success", production.errors
    assert logged_rows(production) == 111


def test_a_stack_without_a_catalog_does_not_fall_back_to_the_vault(initialised: Path) -> None:
    drop_stack_catalog(initialised, Environment.STAGING)
    load_catalog(initialised, LIVE, feed(111))
    record = run(initialised, Environment.STAGING)
    assert record.status == "failed"
    assert record.errors[0].endswith(
        "no PlexiFact catalog is configured for staging (flexor:catalog in Pulumi.staging.yaml)")


def test_status_and_load_use_the_stack_catalog_of_an_init_project(
        initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_catalog(initialised, LIVE, feed(111))
    with install(initialised, Environment.STAGING) as store:
        assert health(ProjectPaths(initialised), Environment.STAGING, store).startswith(
            f"unreachable ({STAGING_CATALOG} has no data")
    assert main(["plexifact", "load", "--env", "staging", "--project-dir",
                 str(initialised)]) == 0
    assert f"into {STAGING_CATALOG} (.flexor/plexifact/staging/catalog.db)" in \
        capsys.readouterr().out
    with install(initialised, Environment.STAGING) as store:
        assert health(ProjectPaths(initialised), Environment.STAGING, store) == "healthy"
