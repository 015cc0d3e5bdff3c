"""PlexiFact catalogs per environment: each environment reads only its stack's `flexor:catalog`.

A vault's `data.catalog` chooses nothing at run time; it declares the catalog the vault expects,
so it must be the catalog of every environment the vault is deployed to
(docs/decisions/009-catalog-per-environment.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from flexor_iac.core.constants import Environment
from flexor_iac.project.checks.context import CheckContext, walk_steps
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.loading import AgentSource, Project
from flexor_iac.project.models import ActionStep, SkillTask
from flexor_iac.project.resolve import skill_index


def stack_catalog(project: Project, env: Environment) -> str | None:
    """The catalog `env` reads: `flexor:catalog` of Pulumi.<env>.yaml (None: it has none)."""
    stack = project.stacks.get(env)
    return stack.settings.catalog if stack is not None else None


def _plexifact_actions(ctx: CheckContext, agent: AgentSource, env: Environment) -> set[str]:
    """The plexifact.* actions the agent reaches in `env`, directly or through its skills."""
    names = [t.skill for t in agent.spec.tasks if isinstance(t, SkillTask)]
    skills, _missing = skill_index(ctx.project, env).closure(names)
    return {n for n in names if n.startswith("plexifact.")} | {
        step.action for skill in skills.values() for step, _loc in walk_steps(skill.spec.steps)
        if isinstance(step, ActionStep) and step.action.startswith("plexifact.")}


def _agents(ctx: CheckContext) -> Iterator[Diagnostic]:
    for agent in ctx.project.agents:
        for env in ctx.agent_environments(agent):
            # A missing or unreadable stack file is reported once, as that file's problem.
            if env not in ctx.project.stacks or stack_catalog(ctx.project, env):
                continue
            if used := _plexifact_actions(ctx, agent, env):
                yield ctx.at(agent.path, ("vault",) if agent.spec.vault else ("name",),
                             f"agent uses {', '.join(sorted(used))} in {env}, but "
                             f"Pulumi.{env}.yaml sets no flexor:catalog", "catalog-missing")


def _vaults(ctx: CheckContext) -> Iterator[Diagnostic]:
    for vault in ctx.project.vaults:
        declared = vault.config.data.catalog
        if not declared:
            continue
        for env in ctx.vault_environments(vault):
            if env not in ctx.project.stacks:
                continue
            own = stack_catalog(ctx.project, env)
            if own == declared:
                continue
            reads = (f"{env} reads {own} (flexor:catalog in Pulumi.{env}.yaml); a vault "
                     f"deployed to {env} may name only that catalog, or none" if own else
                     f"Pulumi.{env}.yaml sets no flexor:catalog, so {env} has no catalog "
                     "(it never reads a vault's)")
            yield ctx.at(vault.path, ("data", "catalog"), f"data.catalog is {declared} but "
                         f"{reads}", "catalog-environment")


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """catalog-missing, catalog-environment."""
    yield from _agents(ctx)
    yield from _vaults(ctx)
