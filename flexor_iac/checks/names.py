"""Names are unique: agents in the project, skills within a tier, vaults in the project."""

from __future__ import annotations

from collections.abc import Iterator

from flexor_iac.checks.context import CheckContext
from flexor_iac.config.diagnostics import Diagnostic


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """duplicate-agent, duplicate-skill, duplicate-vault."""
    first_agent: dict[str, str] = {}
    for agent in ctx.project.agents:
        name = agent.spec.name
        if name in first_agent:
            yield ctx.at(agent.path, ("name",), f"agent `{name}` is already defined in "
                         f"{first_agent[name]}", "duplicate-agent")
        first_agent.setdefault(name, agent.path)
    first_vault: dict[str, str] = {}
    first_skill: dict[tuple[str, str], str] = {}
    for vault in ctx.project.vaults:
        name = vault.config.name
        if name in first_vault:
            yield ctx.at(vault.path, ("name",), f"vault `{name}` is already defined in "
                         f"{first_vault[name]}", "duplicate-vault")
        first_vault.setdefault(name, vault.path)
        for skill in vault.skills:
            key = (skill.tier.value, skill.spec.name)
            if key in first_skill:
                yield ctx.at(skill.path, ("name",), f"skill `{skill.spec.name}` is already "
                             f"defined at tier {skill.tier.value} in {first_skill[key]}",
                             "duplicate-skill")
            first_skill.setdefault(key, skill.path)
