"""Name resolution by tier (L4 → L3 → L2 → L1), restricted to an environment's tier scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flexor_iac.config.models import ActionStep, CallStep, ConditionStep, ParallelStep, SkillStep
from flexor_iac.config.project import Project, SkillSource
from flexor_iac.constants import TIER_SCOPE, Environment, Tier
from flexor_iac.stdlib import is_library_action


@dataclass(frozen=True)
class Unresolved:
    """A name that resolves to nothing in an environment, with the tiers searched."""

    name: str
    environment: Environment
    searched: tuple[Tier, ...]


def resolve_skill(project: Project, name: str, env: Environment) -> SkillSource | str | None:
    """The skill `name` resolves to in `env`: a vault skill, a library action name, or None."""
    for tier in TIER_SCOPE[env]:
        if tier is Tier.L1:
            return name if is_library_action(name) else None
        for vault in project.vaults:
            if vault.config.tier is not tier or not vault.config.environment.reaches(env):
                continue
            for skill in vault.skills:
                if skill.spec.name == name:
                    return skill
    return None


def called_names(steps: list[SkillStep]) -> Iterator[str]:
    """Every skill name a step list invokes with `call`, including inside `parallel`."""
    for step in steps:
        if isinstance(step, CallStep):
            yield step.call
        elif isinstance(step, ParallelStep):
            yield from called_names(step.parallel)
        elif isinstance(step, ActionStep | ConditionStep):
            continue


def skill_closure(project: Project, roots: list[str], env: Environment
                  ) -> tuple[dict[str, SkillSource], list[Unresolved]]:
    """The vault skills reachable from `roots` in `env` through `call`, and what did not resolve."""
    found: dict[str, SkillSource] = {}
    missing: list[Unresolved] = []
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        target = resolve_skill(project, name, env)
        if target is None:
            missing.append(Unresolved(name, env, TIER_SCOPE[env]))
        elif isinstance(target, SkillSource):
            found[name] = target
            pending.extend(called_names(target.spec.steps))
    return found, missing
