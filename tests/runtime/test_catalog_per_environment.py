"""Each environment reads only its own PlexiFact catalog, never the vault's `data.catalog`.

The project is what `flexor init` writes, plus a vault that names the live catalog the way the
vendor's example does (`data.catalog: plexifact://prod/catalog`) and an agent that reads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.controlplane.runs import RunRecord
from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.main import main
from flexor_iac.runtime.connection import health
from flexor_iac.runtime.executor import Executor, RunRequest
from tests.helpers.project import LIVE, drop_stack_catalog, init_project
from tests.helpers.runtime import install, load_catalog

STAGING_CATALOG = "plexifact://staging/catalog"


def feed(rows: int) -> dict[str, list[dict[str, object]]]:
    return {"feeds": [{"name": "equity-prices", "age_minutes": 5, "row_count": rows}]}


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
