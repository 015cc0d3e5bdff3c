"""kill -9 in the middle of a 50-agent update (updates, a create and a delete), of flexor or of
its engine, at ten points: the next plain `flexor deploy` converges, no orphan keeps working,
and the views agree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flexor_iac.core.constants import ExitCode
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.engine_workspace import engine_env

pytestmark = pytest.mark.engine

AGENTS = 50
FLEXOR = str(Path(sys.executable).parent / "flexor")
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


def _flexor(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLEXOR, *args], cwd=project, capture_output=True, text=True,
                          timeout=600, check=False, stdin=subprocess.DEVNULL)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _engine_of(pid: int) -> int:
    """The `pulumi` process flexor started (waits for it to appear)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for child in _children(pid):
            if Path(f"/proc/{child}/comm").read_text().strip() == "pulumi":
                return child
        time.sleep(0.05)
    raise AssertionError("flexor started no engine")


def _descendants(pid: int) -> list[int]:
    found = _children(pid)
    for child in list(found):
        found += _descendants(child)
    return found


def _running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (dead, not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill_during_deploy(project: Path, whom: str, after_steps: int) -> None:
    deploying = subprocess.Popen([FLEXOR, "deploy", "--env", "staging", "--yes"], cwd=project,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
    assert deploying.stderr is not None
    done = 0
    for line in deploying.stderr:
        if after_steps < 0 and line.startswith("Previewing staging"):
            break
        if after_steps == 0 and line.startswith("Deploying to staging"):
            break
        if line.endswith(" done\n"):
            done += 1
            if done >= after_steps > 0:
                break
    else:
        raise AssertionError(f"the deploy ended before the kill point ({done} steps)")
    target = deploying.pid if whom == "flexor" else _engine_of(deploying.pid)
    started = _descendants(deploying.pid)  # the engine and its dynamic-provider processes
    os.kill(target, signal.SIGKILL)
    deploying.wait(timeout=60)
    deadline = time.monotonic() + 15
    while (left := [p for p in started if _running(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], f"processes of the killed deploy still running: {left}"


def _exported_versions(project: Path) -> dict[str, str]:
    done = subprocess.run(["pulumi", "stack", "export", "--stack", "staging",
                           "--non-interactive"], cwd=project, capture_output=True, text=True,
                          env={**os.environ, **engine_env(ProjectPaths(project))}, check=True)
    deployment = json.loads(done.stdout)["deployment"]
    assert not deployment.get("pending_operations")
    return {r["urn"].rsplit("::", 1)[-1]: r["inputs"]["version"]
            for r in deployment["resources"] if r["type"].endswith("flexor:Agent")}


def test_a_killed_update_converges_on_the_next_plain_deploy(project: Path) -> None:
    (project / "agents" / "feed-monitor.yaml").unlink()
    _write_agents(project, "1.0")
    assert _flexor(project, "sync", "--vault", "company").returncode == ExitCode.OK
    assert _flexor(project, "deploy", "--env", "staging", "--yes").returncode == ExitCode.OK
    for cycle, (whom, after_steps) in enumerate(POINTS, start=1):
        expected = _write_agents(project, f"1.{cycle}", cycle)
        _kill_during_deploy(project, whom, after_steps)
        rerun = _flexor(project, "deploy", "--env", "staging", "--yes")
        point = f"kill of {whom} after {after_steps} steps"
        assert rerun.returncode == ExitCode.OK, f"{point}: {rerun.stderr}"
        assert _exported_versions(project) == expected, point
        roster = json.loads(_flexor(project, "agents", "list", "--env", "staging",
                                    "--json").stdout)
        assert {row["name"]: row["version"] for row in roster["agents"]} == expected, point
        status = _flexor(project, "status", "--env", "staging").stdout.splitlines()
        assert status[1] == f"Agents: {len(expected)} active, 0 paused, 0 erroring", point
