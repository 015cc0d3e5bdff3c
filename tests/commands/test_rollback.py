"""`flexor rollback` and `flexor history` on the real engine: retention, targets, holds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor, flexor_ok
from tests.helpers.project import add_staging_agent

pytestmark = pytest.mark.engine

AGENT = Path("agents") / "feed-monitor.yaml"


def _deploy_version(project: Path, version: str, attempts: int) -> None:
    agent = project / AGENT
    text = re.sub(r'version: "[0-9.]+"', f'version: "{version}"', agent.read_text(), count=1)
    agent.write_text(re.sub(r"max_attempts: \d+", f"max_attempts: {attempts}", text))
    flexor_ok(project, "deploy", "--env", "staging", "--yes")


def _active(project: Path, name: str) -> tuple[str, str, dict[str, object]]:
    with ControlPlane(locate(project)) as store:
        agent = next(a for a in store.active_agents("staging") if a.name == name)
    return agent.version, agent.activated_at.isoformat(), agent.spec


def _retained(project: Path) -> list[str]:
    history = json.loads(flexor_ok(project, "history", "--env", "staging", "--json").stdout)
    agent = next(a for a in history["agents"] if a["agent"] == "feed-monitor")
    return [entry["version"] for entry in agent["retained"]]


def test_three_versions_are_retained_and_rollback_walks_them(project: Path) -> None:
    flexor_ok(project, "sync", "--vault", "company")
    for attempts, version in enumerate(("1.0", "1.1", "1.2", "1.3"), start=2):
        _deploy_version(project, version, attempts)
    assert _retained(project) == ["1.1", "1.2", "1.3"]
    back = flexor_ok(project, "rollback", "--agent", "feed-monitor", "--env", "staging", "--yes")
    assert " ~ Agent feed-monitor  1.3 → 1.2  (hold, spec.retry)" in back.stdout.splitlines()
    assert _active(project, "feed-monitor")[0] == "1.2"
    flexor_ok(project, "rollback", "--agent", "feed-monitor", "--env", "staging", "--version",
              "1.1", "--yes")
    assert _active(project, "feed-monitor")[0] == "1.1"
    missing = flexor(project, "rollback", "--agent", "feed-monitor", "--env", "staging",
                     "--version", "1.0", "--yes")
    assert missing.returncode == ExitCode.FAILED
    assert missing.stderr.strip() == "error: version 1.0 is not retained (retained: 1.1, 1.2, 1.3)"
    kinds = [row["kind"] for row in json.loads(
        flexor_ok(project, "history", "--env", "staging", "--json").stdout)["updates"]]
    assert kinds[:2] == ["rollback", "rollback"] and kinds.count("deploy") == 4


def test_rollback_restores_exactly_what_the_old_version_ran(project: Path) -> None:
    flexor_ok(project, "sync", "--vault", "company")
    _deploy_version(project, "1.2", 2)
    deployed_12 = _active(project, "feed-monitor")[2]
    skill = project / "vaults" / "company" / "skills" / "data-freshness-check.yaml"
    skill.write_text(skill.read_text().replace("default: 30", "default: 45")
                     .replace('version: "1.0"', 'version: "1.1"'))
    flexor_ok(project, "sync", "--vault", "company")
    _deploy_version(project, "1.3", 3)
    assert _active(project, "feed-monitor")[2] != deployed_12
    dry = flexor_ok(project, "rollback", "--agent", "feed-monitor", "--env", "staging", "--dry-run")
    assert "1.3 → 1.2" in dry.stdout and _active(project, "feed-monitor")[0] == "1.3"
    flexor_ok(project, "rollback", "--agent", "feed-monitor", "--env", "staging", "--yes")
    assert _active(project, "feed-monitor")[2] == deployed_12  # skill content of 1.2 included


def test_a_rollback_holds_until_the_file_moves_on_and_touches_one_agent(project: Path) -> None:
    add_staging_agent(project)
    flexor_ok(project, "sync", "--vault", "company")
    _deploy_version(project, "1.2", 2)
    _deploy_version(project, "1.3", 3)
    probe_before = _active(project, "staging-probe")
    flexor_ok(project, "rollback", "--agent", "feed-monitor", "--env", "staging", "--yes")
    assert _active(project, "staging-probe") == probe_before  # untouched by the rollback
    after = flexor_ok(project, "deploy", "--env", "staging", "--dry-run").stdout.splitlines()
    assert "No changes." in after  # every other resource is still in the state, unchanged
    assert "   held agent feed-monitor at 1.2 (rolled back from 1.3)" in after
    probe = project / "agents" / "staging-probe.yaml"
    probe.write_text(probe.read_text().replace('"0.1"', '"0.2"').replace("event: probe",
                                                                         "event: probe-2"))
    unrelated = flexor_ok(project, "deploy", "--env", "staging", "--yes")
    assert "   held agent feed-monitor at 1.2 (rolled back from 1.3)" in unrelated.stdout
    assert _active(project, "feed-monitor")[0] == "1.2"
    assert _active(project, "staging-probe")[0] == "0.2"
    _deploy_version(project, "1.4", 4)
    assert _active(project, "feed-monitor")[0] == "1.4"
    assert "held" not in flexor_ok(project, "history", "--env", "staging").stdout


def test_rollback_of_an_agent_not_deployed(project: Path) -> None:
    flexor_ok(project, "sync", "--vault", "company")  # a control plane: rollback makes none
    done = flexor(project, "rollback", "--agent", "ghost", "--env", "staging", "--yes")
    assert done.returncode == ExitCode.FAILED
    assert done.stderr.strip() == "error: agent ghost is not deployed to staging"


def test_a_rollback_in_a_clone_that_deployed_nothing_makes_no_control_plane(
        project: Path) -> None:
    done = flexor(project, "rollback", "--agent", "feed-monitor", "--env", "staging", "--yes")
    assert done.returncode == ExitCode.FAILED
    assert "nothing was synced or deployed from this clone" in done.stderr
    assert not (project / ".flexor" / "control-plane.db").exists()


def test_a_plain_pulumi_up_honours_the_hold(project: Path) -> None:
    import os
    import subprocess

    from flexor_iac.core.workspace import ProjectPaths
    from flexor_iac.deploy.engine_workspace import engine_env

    flexor_ok(project, "sync", "--vault", "company")
    _deploy_version(project, "1.2", 2)
    _deploy_version(project, "1.3", 3)
    flexor_ok(project, "rollback", "--agent", "feed-monitor", "--env", "staging", "--yes")
    direct = subprocess.run(["pulumi", "up", "--stack", "staging", "--yes", "--non-interactive"],
                            cwd=project, env={**os.environ, **engine_env(ProjectPaths(project))},
                            capture_output=True, text=True, timeout=300, check=False)
    assert direct.returncode == 0, direct.stdout + direct.stderr
    assert _active(project, "feed-monitor")[0] == "1.2"
