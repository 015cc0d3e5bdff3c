"""The real engine end to end through the Automation API on a `file://` backend in a temp dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import deployment
from flexor_iac.deploy.program import declare, desired
from flexor_iac.deploy.snapshots import publish
from flexor_iac.deploy.stacks import StackSession
from flexor_iac.project.loading import load_project

pytestmark = pytest.mark.engine


def _session(root: Path, env: Environment) -> StackSession:
    """Sync every vault, then a session whose program declares what a deploy would."""
    paths = ProjectPaths(root)
    project, diagnostics = load_project(root)
    assert diagnostics == []
    with ControlPlane(locate(root)) as store:
        for vault in project.vaults:
            publish(paths, vault, store)
        view = deployment.view(paths, project, env, store)

    def program() -> None:
        declare(desired(view))

    return StackSession(paths, env, program)


def test_preview_up_noop_destroy(project: Path) -> None:
    session = _session(project, Environment.STAGING)

    preview = session.preview()
    kinds = sorted((s.kind, s.name) for s in preview.steps)
    assert kinds == [("Agent", "feed-monitor"), ("EnvironmentBinding", "staging"),
                     ("VaultTierScope", "company")]
    assert {s.op for s in preview.steps} == {"create"}
    assert _resources(project, "staging") == []  # a preview records nothing

    up = session.up()
    assert up.summary.get("create") == 3
    assert sorted((r.kind, r.name) for r in session.resources()) == kinds
    with ControlPlane(locate(project)) as store:  # the providers wrote the control plane
        assert [a.name for a in store.active_agents("staging")] == ["feed-monitor"]
        assert [b.vault for b in store.bindings("staging")] == ["company"]
        assert store.environment("staging") is not None
    agent = next(r for r in session.resources() if r.kind == "Agent")
    assert agent.outputs["version"] == "1.0"
    for where in (agent.inputs, agent.outputs["retained"][-1]):  # the skill content, not a name
        assert where["skills"]["data-freshness-check"]["content"]["steps"][0]["action"] == \
            "plexifact.catalog.get_feed_metadata"

    again = session.preview()
    assert {s.op for s in again.steps} == {"same"}
    assert again.summary.get("same") == 3 and "create" not in again.summary

    gone = session.destroy()
    assert gone.summary.get("delete") == 3
    assert session.resources() == []
    assert _resources(project, "staging") == []
    with ControlPlane(locate(project)) as store:
        assert store.active_agents("staging") == [] and store.bindings("staging") == []
        assert store.environment("staging") is None


def test_skill_change_updates_the_agent_that_uses_it(project: Path) -> None:
    _session(project, Environment.STAGING).up()
    skill = project / "vaults" / "company" / "skills" / "data-freshness-check.yaml"
    skill.write_text(skill.read_text().replace("default: 30", "default: 45"))

    preview = _session(project, Environment.STAGING).preview()
    ops = {(s.kind, s.name): s.op for s in preview.steps}
    assert ops[("Agent", "feed-monitor")] == "update"
    assert ops[("VaultTierScope", "company")] == "update"
    assert ops[("EnvironmentBinding", "staging")] == "same"


def test_sandbox_skips_the_l2_vault_and_its_agent(project: Path) -> None:
    preview = _session(project, Environment.SANDBOX).preview()
    assert [(s.kind, s.op) for s in preview.steps] == [("EnvironmentBinding", "create")]


def _resources(root: Path, stack: str) -> list[str]:
    state = root / ".flexor" / "state" / ".pulumi" / "stacks" / "flexor" / f"{stack}.json"
    if not state.exists():
        return []
    resources = json.loads(state.read_text())["checkpoint"].get("latest", {}).get("resources", [])
    return [r["urn"] for r in resources or [] if "dynamic/flexor" in r["type"]]
