"""kill -9 of a running `flexor deploy` (or of its engine) at a chosen point, and the checks
that the next deploy converged: tests/engine/test_crash.py and bench/crash_convergence.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.engine_workspace import engine_env
from tests.helpers.cli import flexor
from tests.helpers.waiting import eventually

FLEXOR = str(Path(sys.executable).parent / "flexor")


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def engine_of(pid: int) -> int:
    """The `pulumi` process flexor started (waits for it to appear)."""
    def engine() -> int | None:
        return next((child for child in children(pid)
                     if Path(f"/proc/{child}/comm").read_text().strip() == "pulumi"), None)
    return eventually(engine, "flexor started no engine", timeout=60)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`."""
    found = children(pid)
    for child in list(found):
        found += descendants(child)
    return found


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (dead, not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_during_deploy(project: Path, whom: str, after_steps: int,
                        after_line: str | None = None) -> str:
    """SIGKILL `whom` once `after_steps` steps are done (and `after_line` was said); returns
    what the deploy wrote to stderr after the kill."""
    deploying = subprocess.Popen([FLEXOR, "deploy", "--env", "staging", "--yes"], cwd=project,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
    assert deploying.stderr is not None
    done = 0
    seen = after_line is None
    for line in deploying.stderr:
        seen = seen or line.strip() == after_line
        if after_steps < 0 and line.startswith("Previewing staging"):
            break
        if after_steps == 0 and line.startswith("Deploying to staging"):
            break
        if line.endswith(" done\n"):
            done += 1
            if done >= after_steps > 0 and seen:
                break
    else:
        raise AssertionError(f"the deploy ended before the kill point ({done} steps)")
    target = deploying.pid if whom == "flexor" else engine_of(deploying.pid)
    started = descendants(deploying.pid)  # the engine and its dynamic-provider processes
    os.kill(target, signal.SIGKILL)
    after = deploying.stderr.read()
    deploying.wait(timeout=60)
    eventually(lambda: not any(running(p) for p in started),
               lambda: f"processes of the killed deploy still running: "
                       f"{[p for p in started if running(p)]}", timeout=15)
    return after


def exported_versions(project: Path) -> dict[str, str]:
    """Each agent's version in the staging stack, as `pulumi stack export` shows it."""
    done = subprocess.run(["pulumi", "stack", "export", "--stack", "staging",
                           "--non-interactive"], cwd=project, capture_output=True, text=True,
                          env={**os.environ, **engine_env(ProjectPaths(project))}, check=True)
    deployment = json.loads(done.stdout)["deployment"]
    assert not deployment.get("pending_operations")
    return {r["urn"].rsplit("::", 1)[-1]: r["inputs"]["version"]
            for r in deployment["resources"] if r["type"].endswith("flexor:Agent")}


def roster(project: Path) -> dict[str, str]:
    """Each agent's version in staging, as `flexor agents list` shows it."""
    listed = json.loads(flexor(project, "agents", "list", "--env", "staging", "--json").stdout)
    return {row["name"]: row["version"] for row in listed["agents"]}


def converged(project: Path, expected: dict[str, str], point: str) -> None:
    """The state, `agents list` and `status` all hold exactly `expected` (name → version)."""
    assert exported_versions(project) == expected, point
    assert roster(project) == expected, point
    status = flexor(project, "status", "--env", "staging").stdout.splitlines()
    assert status[1] == f"Agents: {len(expected)} active, 0 paused, 0 erroring", point
