"""`flexor deploy` and `flexor status` as a user runs them: the real CLI and the real engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from flexor_iac.deploy.toolchain import TOOL_FILES, pulumi_bin_dir
from tests.helpers.cli import flexor

pytestmark = pytest.mark.engine


@pytest.fixture(autouse=True)
def _toolchain() -> None:
    pulumi_bin_dir()


def _state(project: Path) -> dict[str, bytes]:
    root = project / ".flexor" / "state"
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_deploy_shows_the_plan_applies_it_and_status_counts_the_agent(project: Path) -> None:
    assert flexor(project, "sync", "--vault", "company").returncode == ExitCode.OK
    done = flexor(project, "deploy", "--env", "staging", "--yes")
    assert done.returncode == ExitCode.OK, done.stderr
    lines = done.stdout.splitlines()
    assert " + EnvironmentBinding staging" in lines
    assert " + VaultTierScope company" in lines
    assert " + Agent feed-monitor  1.0" in lines
    assert "Plan for staging: 3 to create, 0 to update, 0 to replace, 0 to delete; " \
        "0 unchanged, 0 skipped." in lines
    assert lines[-1] == "Deployed to staging: 3 create."

    status = flexor(project, "status", "--env", "staging")
    assert status.returncode == ExitCode.OK, status.stderr
    out = status.stdout.splitlines()
    assert out[0] == "Environment: staging"
    assert out[1] == ("Agents: 0 active, 0 paused, 0 erroring, 1 not served "  # a schedule,
                      "(no `flexor serve --env staging` running)")  # no server
    assert out[2].startswith("Last deployment: 20") and out[2].endswith(" UTC")
    assert out[3].startswith("Vault sync: 20") and out[3].endswith(" UTC (current)")
    assert out[4] == ("PlexiFact connection: unreachable (plexifact://staging/catalog has no "
                      "data; load it with `flexor plexifact load`)")
    assert out[5] == "Last run: never"
    assert flexor(project, "plexifact", "load", "--env", "staging").returncode == ExitCode.OK
    status = flexor(project, "status", "--env", "staging").stdout.splitlines()
    assert status[4] == "PlexiFact connection: healthy"


def test_second_deploy_has_no_changes(project: Path) -> None:
    assert flexor(project, "sync", "--vault", "company").returncode == ExitCode.OK
    assert flexor(project, "deploy", "--env", "staging", "--yes").returncode == ExitCode.OK
    again = flexor(project, "deploy", "--env", "staging", "--yes")
    assert again.returncode == ExitCode.OK
    assert "No changes." in again.stdout.splitlines()


def test_the_state_keeps_no_call_stacks(project: Path) -> None:
    """Each resource's state is what a diff and a rollback need, not where it was declared."""
    assert flexor(project, "sync", "--vault", "company").returncode == ExitCode.OK
    assert flexor(project, "deploy", "--env", "staging", "--yes").returncode == ExitCode.OK
    state = project / ".flexor" / "state" / ".pulumi" / "stacks" / "flexor" / "staging.json"
    resources = json.loads(state.read_text())["checkpoint"]["latest"]["resources"]
    flexor_resources = [r for r in resources if "dynamic/flexor:" in r["type"]]
    assert len(flexor_resources) == 3
    assert all("stackTrace" not in r and "sourcePosition" not in r for r in flexor_resources)


def test_a_deploy_with_nothing_changed_starts_no_engine(project: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert flexor(project, "sync", "--vault", "company").returncode == ExitCode.OK
    assert flexor(project, "deploy", "--env", "staging", "--yes").returncode == ExitCode.OK
    broken = tmp_path / "broken-toolchain"  # a Pulumi that fails whatever it is asked
    broken.mkdir()
    for name in TOOL_FILES:
        (broken / name).write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
        (broken / name).chmod(0o755)
    monkeypatch.setenv("FLEXOR_PULUMI_BIN", str(broken))
    again = flexor(project, "deploy", "--env", "staging", "--yes")
    assert again.returncode == ExitCode.OK, again.stderr
    assert "No changes." in again.stdout.splitlines()
    assert "Plan for staging: 0 to create, 0 to update, 0 to replace, 0 to delete; " \
        "3 unchanged, 0 skipped." in again.stdout.splitlines()
    refreshing = flexor(project, "deploy", "--env", "staging", "--yes", "--refresh")
    assert refreshing.returncode != ExitCode.OK  # --refresh always asks the engine
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "1.1"'))
    changed = flexor(project, "deploy", "--env", "staging", "--yes")
    assert changed.returncode != ExitCode.OK and "Pulumi" in changed.stderr


def test_dry_run_changes_nothing_and_reports_changes_with_detailed_exitcode(
        project: Path) -> None:
    assert flexor(project, "sync", "--vault", "company").returncode == ExitCode.OK
    assert flexor(project, "deploy", "--env", "staging", "--yes").returncode == ExitCode.OK
    before = _state(project)
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "1.1"')
                     .replace("max_attempts: 2", "max_attempts: 3"))
    dry = flexor(project, "deploy", "--env", "staging", "--dry-run", "--detailed-exitcode")
    assert dry.returncode == ExitCode.CHANGES_PRESENT, dry.stderr
    assert " ~ Agent feed-monitor  1.0 → 1.1  (spec.retry)" in \
        dry.stdout.splitlines()
    assert _state(project) == before


def test_sandbox_lists_what_it_skips(project: Path) -> None:
    done = flexor(project, "deploy", "--env", "sandbox", "--dry-run", "--json")
    assert done.returncode == ExitCode.OK, done.stderr
    plan = json.loads(done.stdout)
    assert plan["format_version"] == 1 and plan["environment"] == "sandbox"
    assert [(c["kind"], c["resource"], c["op"]) for c in plan["changes"]] == [
        ("EnvironmentBinding", "sandbox", "create")]
    assert {(s["kind"], s["name"]) for s in plan["skipped"]} == {
        ("vault", "company"), ("agent", "feed-monitor")}
    assert "tier L2 is not in sandbox's scope (L4+L3+L1)" in plan["skipped"][0]["reason"]


def test_invalid_project_deploys_nothing(project: Path) -> None:
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('version: "1.0"', 'version: "one"'))
    done = flexor(project, "deploy", "--env", "staging", "--yes")
    assert done.returncode == ExitCode.FAILED
    assert "agents/feed-monitor.yaml:2:1: error: version: 'one' does not match" in done.stderr
    assert "nothing was deployed" in done.stderr
    assert not (project / ".flexor" / "state").exists()
