"""An agent that reaches PlexiFact (`plexifact.*` actions) needs its vault's `data.catalog`."""

from __future__ import annotations

from collections.abc import Iterator

from flexor_iac.checks.context import CheckContext, walk_steps
from flexor_iac.config.diagnostics import Diagnostic
from flexor_iac.config.models import ActionStep, SkillTask
from flexor_iac.resolve import skill_index


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """catalog-missing."""
    for agent in ctx.project.agents:
        vault = ctx.project.agent_vault(agent.spec)
        if vault is None or vault.config.data.catalog:
            continue
        names = [t.skill for t in agent.spec.tasks if isinstance(t, SkillTask)]
        used = {n for n in names if n.startswith("plexifact.")}
        for env in ctx.agent_environments(agent):
            skills, _missing = skill_index(ctx.project, env).closure(names)
            used |= {step.action for skill in skills.values()
                     for step, _loc in walk_steps(skill.spec.steps)
                     if isinstance(step, ActionStep) and step.action.startswith("plexifact.")}
        if used:
            yield ctx.at(agent.path, ("vault",) if agent.spec.vault else ("name",),
                         f"agent uses {', '.join(sorted(used))} but vault "
                         f"`{vault.config.name}` sets no data.catalog", "catalog-missing")
