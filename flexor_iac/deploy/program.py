"""The Pulumi program: the project's files → flexor resources for the stack's environment.

`pulumi preview/up --stack <env>` runs this file (Pulumi.yaml `main:`); the flexor CLI calls
`declare` as an inline program through flexor_iac.deploy.stacks. Both build the same resources.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from flexor_iac.access.policy import MANAGED_DIRECT, Gate
from flexor_iac.access.protection import Protection
from flexor_iac.controlplane.locks import environment_lock
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import TIER_SCOPE, Environment
from flexor_iac.core.errors import FlexorError, PolicyRefusal
from flexor_iac.core.workspace import ProjectPaths, find_project
from flexor_iac.deploy.deployment import DeploymentView
from flexor_iac.deploy.deployment import view as deployment_view
from flexor_iac.deploy.snapshots import publish
from flexor_iac.deploy.stacks import DeployedResource
from flexor_iac.project.diagnostics import has_errors
from flexor_iac.project.digest import json_digest
from flexor_iac.project.loading import AgentSource, Project, SkillSource, VaultSource
from flexor_iac.project.models import SkillTask
from flexor_iac.project.resolve import skill_index
from flexor_iac.project.validate import validate_project
from flexor_iac.resources.agent import Agent
from flexor_iac.resources.environment_binding import EnvironmentBinding
from flexor_iac.resources.vault_tier_scope import VaultTierScope


@dataclass(frozen=True)
class Desired:
    """One resource as the program declares it: its inputs and the resources it needs."""

    kind: str
    name: str
    inputs: dict[str, Any]
    needs: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """`Kind/name`, unique in a stack."""
        return f"{self.kind}/{self.name}"


def binding_inputs(project: Project, env: Environment) -> dict[str, Any]:
    """Inputs of the EnvironmentBinding: scope, enabled triggers, catalog, isolation."""
    stack = project.stacks.get(env)
    settings = stack.settings if stack else None
    default_triggers = ["manual"] if env is Environment.SANDBOX else [
        "schedule", "event", "webhook", "manual"]
    return {
        "name": env.value,
        "environment": env.value,
        "tier_scope": [tier.value for tier in TIER_SCOPE[env]],
        "triggers": list(settings.triggers) if settings and settings.triggers else default_triggers,
        "catalog": settings.catalog if settings else None,
        "isolation": "live" if env is Environment.PRODUCTION else "isolated",
        "protection": Protection.declared(settings, env).to_json(),
    }


def vault_inputs(vault: VaultSource, env: Environment, snapshot: str) -> dict[str, Any]:
    """Inputs of a VaultTierScope: the vault's config (env: references unresolved), snapshot."""
    return {
        "name": vault.config.name,
        "environment": env.value,
        "tier": vault.config.tier.value,
        "config": vault.config.model_dump(mode="json", exclude_none=True),
        "snapshot_digest": snapshot,
    }


def skill_entry(skill: SkillSource) -> dict[str, Any]:
    """One resolved skill as the Agent resource records it: content, not just a name."""
    content = skill.spec.model_dump(mode="json", exclude_none=True)
    return {"version": skill.spec.version, "vault": skill.vault, "tier": skill.tier.value,
            "digest": json_digest(content), "content": content}


def agent_inputs(project: Project, agent: AgentSource, env: Environment,
                 skills: dict[str, SkillSource]) -> dict[str, Any]:
    """Inputs of an Agent: full spec, version, vault and the resolved skill set."""
    vault = project.agent_vault(agent.spec)
    spec = agent.spec.model_dump(mode="json", exclude_none=True)
    resolved = {name: skill_entry(skill) for name, skill in sorted(skills.items())}
    return {
        "name": agent.spec.name,
        "environment": env.value,
        "version": agent.spec.version,
        "vault": vault.config.name if vault else None,
        "spec": spec,
        "skills": resolved,
        "digest": json_digest({"spec": spec, "skills": resolved}),
    }


def task_skill_names(agent: AgentSource) -> list[str]:
    """The skill names an agent's tasks invoke."""
    return [task.skill for task in agent.spec.tasks if isinstance(task, SkillTask)]


def resolved_skills(project: Project, agent: AgentSource, env: Environment
                    ) -> dict[str, SkillSource]:
    """The vault skills an agent uses in `env`, through `call` too."""
    skills, _missing = skill_index(project, env).closure(task_skill_names(agent))
    return skills


def agent_vaults(project: Project, agent: AgentSource, env: Environment) -> set[str]:
    """The vaults an agent depends on in `env`: its own and those its skills come from."""
    needs = {skill.vault for skill in resolved_skills(project, agent, env).values()}
    if (own := project.agent_vault(agent.spec)) is not None:
        needs.add(own.config.name)
    return needs


def desired(view: DeploymentView) -> list[Desired]:
    """The resources of one environment, dependencies first, with real dependencies."""
    project, selection, env = view.project, view.selection, view.environment
    binding = Desired("EnvironmentBinding", env.value, binding_inputs(project, env))
    found = [binding]
    vaults = {}
    for vault in selection.vaults:
        name = vault.config.name
        vaults[name] = Desired("VaultTierScope", name,
                               vault_inputs(vault, env, view.snapshots[name]), (binding.key,))
    found += vaults.values()
    for agent in selection.agents:
        skills = resolved_skills(project, agent, env)
        needs = [binding.key] + [vaults[name].key for name in sorted(
            agent_vaults(project, agent, env)) if name in vaults]
        found.append(Desired("Agent", agent.spec.name, agent_inputs(project, agent, env, skills),
                             tuple(needs)))
    return found


def inputs_digest(resources: list[Desired]) -> str:
    """One digest of everything a program declares: what a plan was computed from."""
    return json_digest([[r.kind, r.name, r.inputs, list(r.needs)] for r in resources])


def declare(resources: list[Desired]) -> None:
    """Register the resources with the engine (each gets its own copy of its inputs:
    pulumi.dynamic.Resource adds `__provider` to the dict it is given, and the program runs
    twice, for the preview and the update)."""
    registered: dict[str, pulumi.Resource] = {}
    with _without_stack_traces():
        for resource in resources:
            registered[resource.key] = KINDS[resource.kind](
                resource.name, dict(resource.inputs),
                pulumi.ResourceOptions(depends_on=[registered[k] for k in resource.needs]))


@contextmanager
def _without_stack_traces() -> Iterator[None]:
    """Register without the Python call stack the SDK sends with each resource.

    The engine stores that stack in every resource's state (`stackTrace`, `sourcePosition`):
    under the Automation API about 2 KB of frames per resource — a third of an agent's state,
    written with every update — that says only where `declare` was called from. The pinned
    SDK (flexor_iac/toolchain.toml) takes it from `pulumi.runtime.resource._get_stack_trace`;
    tests/commands/test_deploy.py fails if a resource's state carries one again.
    """
    from pulumi.runtime import resource as registration
    from pulumi.runtime.proto import source_pb2

    original = getattr(registration, "_get_stack_trace", None)
    if original is None:  # another SDK: nothing to leave out
        yield
        return
    registration._get_stack_trace = source_pb2.StackTrace  # an empty trace
    try:
        yield
    finally:
        registration._get_stack_trace = original


KINDS = {"EnvironmentBinding": EnvironmentBinding, "VaultTierScope": VaultTierScope,
         "Agent": Agent}


def with_dependencies(deployed: list[DeployedResource], agent: DeployedResource
                      ) -> list[DeployedResource]:
    """The agent and what it depends on: the binding and the vault scopes it resolves from."""
    vaults = {agent.inputs.get("vault")} | {s["vault"] for s in agent.inputs["skills"].values()}
    return [r for r in deployed if r.kind == "EnvironmentBinding" or r.urn == agent.urn
            or (r.kind == "VaultTierScope" and r.name in vaults)]


def redeclared(deployed: list[DeployedResource], overrides: dict[str, dict[str, Any]]
               ) -> list[Desired]:
    """The stack's resources again from their state inputs (with some replaced).

    Rollback uses this: it needs nothing but the stack, and only the overridden resources
    differ from what is deployed.
    """
    order = {"EnvironmentBinding": 0, "VaultTierScope": 1, "Agent": 2}
    found: list[Desired] = []
    for resource in sorted(deployed, key=lambda r: order[r.kind]):
        inputs = overrides.get(resource.urn, resource.inputs)
        needs = [d.key for d in found if d.kind == "EnvironmentBinding"]
        if resource.kind == "Agent":
            vaults = {inputs.get("vault")} | {s["vault"] for s in inputs["skills"].values()}
            scopes = {d.name for d in found if d.kind == "VaultTierScope"}
            needs += [f"VaultTierScope/{v}" for v in sorted(vaults, key=str) if v in scopes]
        found.append(Desired(resource.kind, resource.name, inputs, tuple(needs)))
    return found


def authorize_direct_update(root: Path, store: ControlPlane, view: DeploymentView) -> None:
    """`pulumi up` run directly obeys the same policy as `flexor deploy` (CI cannot bypass
    it): the key, the roles, the recorded protection, and no direct change to a PLEXI-managed
    production. A refusal names `pulumi up`, the command that was run."""
    if Gate(root, store).authorize_change(view.environment, view.vault_names,
                                          command="pulumi up").managed:
        raise PolicyRefusal(MANAGED_DIRECT)


_HELD = ExitStack()


def _hold_lock_until_exit(paths: ProjectPaths, env: Environment) -> None:
    """A direct `pulumi up` holds the environment's operation lock while its program runs,
    which is until the update ends: it never slips in while `flexor deploy` waits at its
    prompt, and flexor refuses to start while it runs."""
    _HELD.enter_context(environment_lock(paths, env))
    atexit.register(_HELD.close)


def run_for_stack(start: Path | None = None) -> None:
    """Entry point for `pulumi preview/up`: the same validation, guards and resources as deploy."""
    stack = pulumi.get_stack()
    try:
        env = Environment(stack)
    except ValueError:
        raise pulumi.RunError(f"stack {stack!r} is not a Flexor environment "
                              "(sandbox, staging, production)") from None
    # Newer language hosts pass the project root; the pinned one does not, so fall back to
    # walking up from the program's working directory (the `main` folder).
    given = start or pulumi.runtime.get_root_directory()
    paths = find_project(Path(given) if given else None)
    project, diagnostics = validate_project(paths.root, (env,))
    if has_errors(diagnostics):
        lines = [d.render() for d in diagnostics if d.severity == "error"]
        raise pulumi.RunError("the project has errors:\n" + "\n".join(lines))
    store = ControlPlane.of(paths)
    try:
        view = deployment_view(paths, project, env, store)
        if not pulumi.runtime.is_dry_run():
            _hold_lock_until_exit(paths, env)
            authorize_direct_update(paths.root, store, view)
            for vault in view.to_publish:
                publish(paths, vault, store)
    except FlexorError as error:
        raise pulumi.RunError(str(error)) from None
    finally:
        store.close()
    for warning in view.warnings:
        pulumi.log.warn(warning)
    declare(desired(view))


if __name__ == "__main__":
    run_for_stack()
