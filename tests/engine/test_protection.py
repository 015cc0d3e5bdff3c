"""No way around production's key: `pulumi destroy`, a stack file edited to lower the
protection, and another control plane are each refused once access control is on. The real
CLI, the real engine and `pulumi` run directly, in temp dirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flexor_iac.access.policy import MANAGED_DIRECT
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.engine_workspace import engine_env

pytestmark = pytest.mark.engine

FLEXOR = str(Path(sys.executable).parent / "flexor")
STATE = Path(".flexor/state/.pulumi/stacks/flexor/production.json")


def _run(project: Path, command: list[str], key: str | None = None,
         **extra: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **engine_env(ProjectPaths(project)), **extra}
    environ.pop("FLEXOR_API_KEY", None)
    if key is not None:
        environ["FLEXOR_API_KEY"] = key
    return subprocess.run(command, cwd=project, env=environ, capture_output=True, text=True,
                          timeout=300, check=False, stdin=subprocess.DEVNULL)


def _flexor(project: Path, *args: str, key: str | None = None,
            **extra: str) -> subprocess.CompletedProcess[str]:
    return _run(project, [FLEXOR, *args], key, **extra)


def _pulumi(project: Path, *args: str, key: str | None = None,
            **extra: str) -> subprocess.CompletedProcess[str]:
    return _run(project, ["pulumi", *args, "--stack", "production", "--non-interactive"], key,
                **extra)


def _key(project: Path, user: str, *scopes: str, key: str | None = None,
         **extra: str) -> str:
    args = [a for scope in scopes for a in ("--scope", scope)]
    made = _flexor(project, "keys", "create", "--name", user, "--user", user, *args, "--json",
                   key=key, **extra)
    assert made.returncode == ExitCode.OK, made.stderr
    return str(json.loads(made.stdout)["secret"])


def _production_versions(project: Path) -> dict[str, str]:
    latest = json.loads((project / STATE).read_text())["checkpoint"]["latest"]
    return {r["urn"].rsplit("::", 1)[-1]: r["inputs"]["version"]
            for r in latest["resources"] if r["type"].endswith("flexor:Agent")}


def _active(project: Path) -> dict[str, str]:
    with ControlPlane(locate(project)) as store:
        return {a.name: a.version for a in store.active_agents("production")}


def _bump(project: Path, version: str) -> None:
    agent = project / "agents" / "feed-monitor.yaml"
    agent.write_text(agent.read_text().replace('version: "1.0"', f'version: "{version}"')
                     .replace("backoff_seconds: 60", "backoff_seconds: 61"))


@pytest.fixture
def owner(project: Path) -> str:
    """Access control on (the first key), production deployed at 1.0 with the owner's key."""
    key = _key(project, "ops", "admin", "deploy:production", "read", "run:production")
    assert _flexor(project, "sync", "--vault", "company", key=key).returncode == ExitCode.OK
    deployed = _flexor(project, "deploy", "--env", "production", "--yes", key=key)
    assert deployed.returncode == ExitCode.OK, deployed.stderr
    return key


def _resources(project: Path) -> list[dict[str, object]]:
    return list(json.loads((project / STATE).read_text())["checkpoint"]["latest"]["resources"])


def test_pulumi_destroy_without_a_key_is_one_line_and_deletes_nothing(project: Path,
                                                                      owner: str) -> None:
    before = _resources(project), (project / ".flexor/control-plane.db").read_bytes()
    destroyed = _pulumi(project, "destroy", "--yes")
    said = destroyed.stdout + destroyed.stderr
    assert destroyed.returncode != 0
    assert "Traceback" not in said, said
    refusal = ("refused: `pulumi destroy` on production needs an API key with scope "
               "deploy:production (FLEXOR_API_KEY)")
    # the first resource destroyed (the agent) is refused, one line under it, and the
    # destroy stops there
    diagnostics = [line.strip() for line in said.split("Diagnostics:")[1].splitlines()]
    assert [line for line in diagnostics if "refused" in line] == [f"error: {refusal}"], said
    assert diagnostics[diagnostics.index(f"error: {refusal}") - 1] == \
        "pulumi-python:dynamic/flexor:Agent (feed-monitor):", said
    assert (_resources(project), (project / ".flexor/control-plane.db").read_bytes()) == before
    assert _active(project) == {"feed-monitor": "1.0"}
    # a PLEXI-managed production: refused with a valid key too, in one line naming the way
    assert _pulumi(project, "config", "set", "flexor:managed", "true").returncode == 0
    managed = _pulumi(project, "destroy", "--yes", key=owner)
    said = managed.stdout + managed.stderr
    assert managed.returncode != 0 and "Traceback" not in said, said
    assert [line.strip() for line in said.split("Diagnostics:")[1].splitlines()
            if "refused" in line] == [f"error: {MANAGED_DIRECT}"], said
    assert (_resources(project), (project / ".flexor/control-plane.db").read_bytes()) == before


def test_pulumi_import_without_a_key_imports_nothing(project: Path, owner: str) -> None:
    before = _resources(project), (project / ".flexor/control-plane.db").read_bytes()
    imported = _pulumi(project, "import", "--yes", "pulumi-python:dynamic/flexor:Agent",
                       "copy", "production/agent/feed-monitor")
    assert imported.returncode != 0
    # Not a refusal of flexor's: Pulumi's dynamic-provider server cannot read a resource
    # without its serialized provider, which an import does not have (KeyError: '__provider',
    # before any flexor code runs), with a key or without.
    assert "KeyError: '__provider'" in imported.stdout, imported.stdout
    assert (_resources(project), (project / ".flexor/control-plane.db").read_bytes()) == before


def test_editing_the_stack_file_does_not_lower_the_protection(project: Path,
                                                             owner: str) -> None:
    lowered = _pulumi(project, "config", "set", "flexor:requireApiKey", "false")
    assert lowered.returncode == 0, lowered.stderr
    _bump(project, "1.1")
    needed = "needs an API key with scope deploy:production (FLEXOR_API_KEY)"
    deploy = _flexor(project, "deploy", "--env", "production", "--yes")
    assert (deploy.returncode, deploy.stderr.strip().splitlines()[-1]) == (
        ExitCode.REFUSED, f"error: refused: `flexor deploy` on production {needed}")
    direct = _pulumi(project, "up", "--yes")
    assert direct.returncode != 0
    assert f"error: refused: `pulumi up` on production {needed}" in direct.stdout, direct.stdout
    assert "Traceback" not in direct.stdout + direct.stderr
    run = _flexor(project, "run", "feed-monitor", "--now", "--env", "production")
    assert run.returncode == ExitCode.REFUSED
    assert "needs an API key with scope run:production" in run.stderr
    assert _production_versions(project) == {"feed-monitor": "1.0"}
    # a key that may deploy, but is no admin key, may not lower it either
    ci = _key(project, "ops", "deploy:production", key=owner)
    refused = _flexor(project, "deploy", "--env", "production", "--yes", key=ci)
    assert refused.returncode == ExitCode.REFUSED
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: refused: Pulumi.production.yaml lowers production's recorded protection "
        "(flexor:requireApiKey); only a deploy with an admin key (FLEXOR_API_KEY) may lower it")
    assert _active(project) == {"feed-monitor": "1.0"}
    # the owner's deploy lowers it on purpose; from then on production needs no key
    lowered_on_purpose = _flexor(project, "deploy", "--env", "production", "--yes", key=owner)
    assert lowered_on_purpose.returncode == ExitCode.OK, lowered_on_purpose.stderr
    assert " ~ EnvironmentBinding production  (protection)" in \
        lowered_on_purpose.stdout.splitlines()
    assert _flexor(project, "status", "--env", "production").returncode == ExitCode.OK


def test_a_stack_is_refused_by_another_control_plane(project: Path, owner: str,
                                                     tmp_path: Path) -> None:
    other = {"FLEXOR_CONTROL_PLANE": str(tmp_path / "other.db")}
    eve = _key(project, "eve", "admin", "deploy:production", **other)
    assert _flexor(project, "sync", "--vault", "company", key=eve, **other).returncode == 0
    original = (project / "agents" / "feed-monitor.yaml").read_text()
    _bump(project, "6.6")
    real = locate(project)
    for extra in ([], ["--refresh"]):
        attempt = _flexor(project, "deploy", "--env", "production", "--yes", *extra, key=eve,
                          **other)
        assert attempt.returncode == ExitCode.REFUSED, attempt.stderr
        assert f"refused: this stack was applied to the control plane at {real}" in \
            attempt.stderr
    # a new agent alone (only creates) is refused too
    (project / "agents" / "feed-monitor.yaml").write_text(original)
    agents = project / "agents"
    (agents / "feed-copy.yaml").write_text(
        (agents / "feed-monitor.yaml").read_text().replace("name: feed-monitor", "name: feed-copy"))
    created = _flexor(project, "deploy", "--env", "production", "--yes", key=eve, **other)
    assert created.returncode == ExitCode.REFUSED, created.stderr
    assert f"refused: this stack was applied to the control plane at {real}" in created.stderr
    (agents / "feed-copy.yaml").unlink()
    _bump(project, "6.6")
    assert _production_versions(project) == {"feed-monitor": "1.0"}
    assert _active(project) == {"feed-monitor": "1.0"}
    # the owner, on the real control plane, is not affected
    assert _flexor(project, "deploy", "--env", "production", "--yes", key=owner).returncode \
        == ExitCode.OK
    assert _active(project) == {"feed-monitor": "6.6"}


def test_the_vendors_ci_key_flow_works_as_documented(project: Path, owner: str) -> None:
    """An owner makes a key with only deploy:production for CI; CI deploys with it alone."""
    ci = _key(project, "ci", "deploy:production", key=owner)
    _bump(project, "1.1")
    deployed = _flexor(project, "deploy", "--env", "production", "--yes", key=ci)
    assert deployed.returncode == ExitCode.OK, deployed.stderr
    assert _active(project) == {"feed-monitor": "1.1"}
    assert _flexor(project, "status", "--env", "production", key=owner).returncode == 0
