"""Name resolution by tier (L4 → L3 → L2 → L1), restricted to an environment's tier scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from flexor_iac.core.constants import TIER_SCOPE, Environment, Tier
from flexor_iac.project.loading import Project, SkillSource
from flexor_iac.project.models import CallStep, ParallelStep, SkillStep
from flexor_iac.project.stdlib import is_library_action


@dataclass(frozen=True)
class Unresolved:
    """A name that resolves to nothing in an environment, with the tiers searched."""

    name: str
    environment: Environment
    searched: tuple[Tier, ...]

    def describe(self) -> str:
        """`skill x does not resolve in production (searched L4, L2, L1)`."""
        tiers = ", ".join(t.value for t in self.searched)
        return (f"skill `{self.name}` does not resolve in {self.environment.value} "
                f"(searched {tiers})")


class SkillIndex:
    """What each skill name resolves to in one environment: the first match by tier."""

    def __init__(self, project: Project, env: Environment) -> None:
        self.environment = env
        self._skills: dict[str, SkillSource] = {}
        for tier in TIER_SCOPE[env]:
            for vault in project.vaults:
                if vault.config.tier is tier and vault.config.environment.reaches(env):
                    for skill in vault.skills:
                        self._skills.setdefault(skill.spec.name, skill)

    def resolve(self, name: str) -> SkillSource | str | None:
        """A vault skill, a standard-library action name (L1), or None."""
        if (skill := self._skills.get(name)) is not None:
            return skill
        return name if is_library_action(name) else None

    def unresolved(self, name: str) -> Unresolved:
        """The description of `name` failing to resolve here."""
        return Unresolved(name, self.environment, TIER_SCOPE[self.environment])

    def closure(self, roots: list[str]) -> tuple[dict[str, SkillSource], list[Unresolved]]:
        """Vault skills reachable from `roots` through `call`, and names that did not resolve."""
        found: dict[str, SkillSource] = {}
        missing: list[Unresolved] = []
        pending = list(roots)
        while pending:
            name = pending.pop()
            if name in found:
                continue
            target = self.resolve(name)
            if target is None:
                missing.append(self.unresolved(name))
            elif isinstance(target, SkillSource):
                found[name] = target
                pending.extend(called_names(target.spec.steps))
        return found, missing


@lru_cache(maxsize=16)
def skill_index(project: Project, env: Environment) -> SkillIndex:
    """The index of one loaded project (by identity) in one environment, built once."""
    return SkillIndex(project, env)


def called_names(steps: list[SkillStep]) -> Iterator[str]:
    """Every skill name a step list invokes with `call`, including inside `parallel`."""
    for step in steps:
        if isinstance(step, CallStep):
            yield step.call
        elif isinstance(step, ParallelStep):
            yield from called_names(step.parallel)
