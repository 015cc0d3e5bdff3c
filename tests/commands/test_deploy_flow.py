"""The deploy workflow end to end: the vendor's steps, guards, dry runs, repair, parity with
`pulumi preview` — the real CLI as a subprocess and the real engine, in temp dirs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.engine_workspace import engine_env
from tests.conftest import add_vault
from tests.helpers.cli import flexor, flexor_ok
from tests.helpers.project import add_staging_agent

pytestmark = pytest.mark.engine


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` except the Pulumi CLI's own diagnostic logs (not state)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and "pulumi-home/logs" not in p.as_posix()}


def _deployed_then_bumped(project: Path) -> None:
    """Staging deployed at 1.0, then feed-monitor edited to 1.1 (not deployed)."""
    flexor_ok(project, "sync", "--vault", "company")
    flexor_ok(project, "deploy", "--env", "staging", "--yes")
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('"1.0"', '"1.1"').replace("max_attempts: 2",
                                                                         "max_attempts: 3"))


def _production_key(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FLEXOR_API_KEY: the first key (its user owns every vault), able to deploy production."""
    made = flexor_ok(project, "keys", "create", "--name", "ci", "--user", "ci@fund.com", "--scope",
                     "admin", "--scope", "deploy:production", "--scope", "read", "--json")
    monkeypatch.setenv("FLEXOR_API_KEY", json.loads(made.stdout)["secret"])


def test_the_vendor_workflow(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _production_key(project, monkeypatch)
    add_staging_agent(project)
    flexor_ok(project, "validate")
    synced = flexor_ok(project, "sync", "--vault", "company").stdout
    assert "company: published snapshot sha256:" in synced
    staging = flexor_ok(project, "deploy", "--env", "staging", "--yes")
    assert "Deployed to staging: 4 create." in staging.stdout
    production = flexor_ok(project, "deploy", "--env", "production", "--yes")
    assert " + Agent feed-monitor  1.0" in production.stdout.splitlines()
    assert ("   skipped agent staging-probe: agent declares environment staging"
            in production.stdout.splitlines())
    status = flexor_ok(project, "status", "--env", "production").stdout.splitlines()
    assert status[:2] == ["Environment: production",  # feed-monitor: a schedule, no server
                          "Agents: 0 active, 0 paused, 0 erroring, 1 not served "
                          "(no `flexor serve --env production` running)"]
    roster = flexor_ok(project, "agents", "list", "--env", "staging").stdout.splitlines()
    assert roster[0].split() == ["NAME", "TRIGGER", "ENVIRONMENT", "STATUS", "VERSION", "LAST",
                                 "RUN"]
    assert [line.split()[:5] for line in roster[1:]] == [
        ["feed-monitor", "schedule", "production", "active", "1.0"],
        ["staging-probe", "manual", "staging", "active", "0.1"]]
    # targeting one agent, and a dry run of the whole environment, change nothing more
    flexor_ok(project, "deploy", "--env", "production", "--agent", "feed-monitor")
    assert "No changes." in flexor_ok(project, "deploy", "--env", "production", "--dry-run").stdout


def test_a_dry_run_changes_nothing_anywhere(project: Path) -> None:
    _deployed_then_bumped(project)
    before = _files(project / ".flexor")
    dry = flexor(project, "deploy", "--env", "staging", "--dry-run", "--detailed-exitcode")
    assert dry.returncode == ExitCode.CHANGES_PRESENT
    after = _files(project / ".flexor")
    assert after.keys() == before.keys()
    assert [name for name in after if after[name] != before[name]] == []


def test_production_refuses_an_agent_declared_for_staging(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _production_key(project, monkeypatch)
    add_staging_agent(project)
    flexor_ok(project, "sync", "--vault", "company")
    refused = flexor(project, "deploy", "--env", "production", "--agent", "staging-probe",
                     "--yes")
    assert refused.returncode == ExitCode.REFUSED
    assert refused.stderr.strip().splitlines() == [
        "error: refused: agent staging-probe cannot be deployed to production: agent declares "
        "environment staging"]
    assert not (project / ".flexor" / "state" / ".pulumi" / "stacks" / "flexor" /
                "production.json").exists()


def test_unsynced_vaults_are_refused_in_production_and_warned_elsewhere(project: Path) -> None:
    never = flexor(project, "deploy", "--env", "staging", "--yes")
    assert never.returncode == ExitCode.REFUSED
    assert "vault company was never synced (run `flexor sync --vault company`)" in never.stderr
    flexor_ok(project, "sync", "--vault", "company")
    (project / "vaults" / "company" / "knowledge" / "new.md").write_text("# new\n")
    production = flexor(project, "deploy", "--env", "production", "--yes")
    assert production.returncode == ExitCode.REFUSED
    assert "vault company has local changes not synced" in production.stderr
    staging = flexor_ok(project, "deploy", "--env", "staging", "--yes")
    assert "warning: vault company has local changes that are not synced" in staging.stderr
    status = flexor_ok(project, "status", "--env", "staging").stdout
    assert "(stale)" in status


def test_a_changed_spec_needs_a_new_version_outside_sandbox(project: Path) -> None:
    flexor_ok(project, "sync", "--vault", "company")
    flexor_ok(project, "deploy", "--env", "staging", "--yes")
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace("max_attempts: 2", "max_attempts: 5"))
    refused = flexor(project, "deploy", "--env", "staging", "--yes")
    assert refused.returncode == ExitCode.REFUSED
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: refused: agent feed-monitor changed (spec.retry) but its version is still 1.0; "
        "bump `version` in its file to deploy to staging")


def test_a_skill_change_updates_exactly_the_agents_that_use_it(project: Path) -> None:
    add_staging_agent(project)
    flexor_ok(project, "sync", "--vault", "company")
    flexor_ok(project, "deploy", "--env", "staging", "--yes")
    skill = project / "vaults" / "company" / "skills" / "data-freshness-check.yaml"
    skill.write_text(skill.read_text().replace("default: 30", "default: 45")
                     .replace('version: "1.0"', 'version: "1.1"'))
    flexor_ok(project, "sync", "--vault", "company")
    plan = json.loads(flexor_ok(project, "deploy", "--env", "staging", "--dry-run",
                                "--json").stdout)
    assert [(c["kind"], c["resource"], c["op"], c["fields"]) for c in plan["changes"]] == [
        ("VaultTierScope", "company", "update", ["snapshot_digest"]),
        ("Agent", "feed-monitor", "update", ["skills.data-freshness-check"])]
    assert plan["summary"]["unchanged"] == 2


@pytest.mark.embedded
def test_losing_the_control_plane_is_repaired_by_refresh(project: Path) -> None:
    flexor_ok(project, "sync", "--vault", "company")
    flexor_ok(project, "deploy", "--env", "staging", "--yes")
    database = project / ".flexor" / "control-plane.db"
    for leftover in database.parent.glob("control-plane.db*"):
        leftover.unlink()
    lost = flexor(project, "status", "--env", "staging")  # says so, and makes nothing
    assert lost.returncode == ExitCode.FAILED
    assert "it was lost; `flexor deploy --refresh --env E` rebuilds" in lost.stderr
    assert not database.exists()
    repaired = flexor_ok(project, "deploy", "--env", "staging", "--refresh", "--yes")
    assert "Deployed to staging: 3 update." in repaired.stdout
    status = flexor_ok(project, "status", "--env", "staging").stdout
    assert "Agents: 0 active, 0 paused, 0 erroring, 1 not served" in status  # no server
    assert "(current)" in status
    assert "No changes." in flexor_ok(project, "deploy", "--env", "staging", "--yes").stdout


def test_pulumi_preview_shows_the_same_changes_as_a_flexor_dry_run(project: Path) -> None:
    _deployed_then_bumped(project)
    ours = json.loads(flexor_ok(project, "deploy", "--env", "staging", "--dry-run",
                                "--json").stdout)
    direct = subprocess.run(["pulumi", "preview", "--stack", "staging", "--json",
                             "--non-interactive"], cwd=project,
                            env={**os.environ, **engine_env(ProjectPaths(project))},
                            capture_output=True, text=True, timeout=300, check=False)
    assert direct.returncode == 0, direct.stderr
    steps = json.loads(direct.stdout)["steps"]
    theirs = sorted((s["urn"].rsplit("::", 1)[-1], s["op"]) for s in steps
                    if "dynamic/flexor:" in s["urn"] and s["op"] != "same")
    assert theirs == sorted((c["resource"], c["op"]) for c in ours["changes"])
    assert theirs == [("feed-monitor", "update")]


@pytest.mark.parametrize("extra", [[], ["--dry-run"]])
def test_sync_is_a_no_op_when_nothing_changed(project: Path, extra: list[str]) -> None:
    flexor_ok(project, "sync", "--vault", "company")
    again = flexor_ok(project, "sync", "--vault", "company", *extra, "--json")
    assert json.loads(again.stdout)["vaults"][0]["changed"] is False


def test_sync_of_an_unknown_vault_is_a_usage_error(project: Path) -> None:
    done = flexor(project, "sync", "--vault", "nowhere")
    assert done.returncode == ExitCode.USAGE
    assert "no vault named nowhere (vaults: company)" in done.stderr


def test_agent_targets_only_that_agent_and_its_own_vaults(project: Path) -> None:
    add_vault(project, "desk", "L4", "production")
    flexor_ok(project, "sync", "--vault", "company")
    flexor_ok(project, "sync", "--vault", "desk")
    flexor_ok(project, "deploy", "--env", "staging", "--yes")
    (project / "vaults" / "desk" / "rules.md").write_text("# changed\n")
    flexor_ok(project, "sync", "--vault", "desk")
    targeted = json.loads(flexor_ok(project, "deploy", "--env", "staging", "--agent",
                                    "feed-monitor", "--dry-run", "--json").stdout)
    assert targeted["changes"] == []  # desk changed, but feed-monitor does not depend on it
    whole = json.loads(flexor_ok(project, "deploy", "--env", "staging", "--dry-run",
                                 "--json").stdout)
    assert [(c["kind"], c["resource"]) for c in whole["changes"]] == [("VaultTierScope", "desk")]
