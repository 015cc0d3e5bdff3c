"""kill -9 in the middle of a 50-agent update (updates, a create and a delete), of flexor or of
its engine, at ten points: the next plain `flexor deploy` converges, no orphan keeps working,
and the views agree — also when the project goes back to what it was before the killed update
(the update writes the state once, at its end: deploy/recovery.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from tests.helpers.cli import flexor
from tests.helpers.crash import converged, kill_during_deploy

pytestmark = pytest.mark.engine

AGENTS = 50
# (whom to kill, after how many finished resource steps; -1: while previewing)
POINTS = [("flexor", -1), ("engine", -1), ("flexor", 0), ("engine", 1), ("flexor", 4),
          ("engine", 9), ("flexor", 17), ("engine", 26), ("flexor", 38), ("engine", 48)]


def _write_agents(project: Path, version: str, cycle: int = 0) -> dict[str, str]:
    """AGENTS probes at `version`, and one agent of this cycle only (the last cycle's goes):
    each update creates, updates and deletes. Returns the agents and versions expected."""
    for stale in (project / "agents").glob("cycle-*.yaml"):
        stale.unlink()
    names = [f"probe-{index:02d}" for index in range(AGENTS)] + [f"cycle-{cycle:02d}"]
    for index, name in enumerate(names):
        (project / "agents" / f"{name}.yaml").write_text(
            f'name: {name}\nversion: "{version}"\ndescription: "Probe {index}."\n'
            'owner: "ops-team"\nvault: company\nenvironment: staging\ntrigger:\n'
            "  type: manual\ntasks:\n  - skill: core.audit.log\n    args:\n"
            f"      event: probe-{version}\n")
    return dict.fromkeys(names, version)


def test_a_killed_update_converges_on_the_next_plain_deploy(project: Path) -> None:
    (project / "agents" / "feed-monitor.yaml").unlink()
    _write_agents(project, "1.0")
    assert flexor(project, "sync", "--vault", "company").returncode == ExitCode.OK
    assert flexor(project, "deploy", "--env", "staging", "--yes").returncode == ExitCode.OK
    for cycle, (whom, after_steps) in enumerate(POINTS, start=1):
        expected = _write_agents(project, f"1.{cycle}", cycle)
        kill_during_deploy(project, whom, after_steps)
        rerun = flexor(project, "deploy", "--env", "staging", "--yes")
        point = f"kill of {whom} after {after_steps} steps"
        assert rerun.returncode == ExitCode.OK, f"{point}: {rerun.stderr}"
        converged(project, expected, point)


@pytest.mark.parametrize("whom", ["flexor", "engine"])
def test_a_killed_update_converges_when_the_project_goes_back(project: Path, whom: str) -> None:
    (project / "agents" / "feed-monitor.yaml").unlink()
    before = _write_agents(project, "1.0")
    assert flexor(project, "sync", "--vault", "company").returncode == ExitCode.OK
    assert flexor(project, "deploy", "--env", "staging", "--yes").returncode == ExitCode.OK
    _write_agents(project, "1.1", cycle=1)  # 50 updates, cycle-01 created, cycle-00 deleted
    kill_during_deploy(project, whom, 10, after_line="+ Agent cycle-01 done")
    _write_agents(project, "1.0")  # the files go back; cycle-01 is gone from the project
    rerun = flexor(project, "deploy", "--env", "staging", "--yes")
    assert rerun.returncode == ExitCode.OK, rerun.stderr
    assert "the last update of staging was cut off" in rerun.stderr
    assert "Agent cycle-01 removed from the control plane" in rerun.stderr
    converged(project, before, f"kill of {whom}, then the files went back")
    again = flexor(project, "deploy", "--env", "staging", "--yes")
    assert "cut off" not in again.stderr and "No changes." in again.stdout


def test_a_killed_engine_is_said_as_such(project: Path) -> None:
    (project / "agents" / "feed-monitor.yaml").unlink()
    _write_agents(project, "1.0")
    assert flexor(project, "sync", "--vault", "company").returncode == ExitCode.OK
    said = kill_during_deploy(project, "engine", 5).strip().splitlines()
    assert said[-1] == (
        "error: the Pulumi engine was killed (signal 9) during the update of staging; the "
        "next `flexor deploy --env staging` recovers what it left (docs/decisions/013)"), said
    rerun = flexor(project, "deploy", "--env", "staging", "--yes")
    assert rerun.returncode == ExitCode.OK, rerun.stderr
