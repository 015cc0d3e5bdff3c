"""Names are unique: agents in the project, skills within a tier, vaults in the project."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator

from flexor_iac.project.checks.context import CheckContext
from flexor_iac.project.diagnostics import Diagnostic


def repeats(items: Iterable[tuple[Hashable, str]]) -> Iterator[tuple[str, str]]:
    """(path, path of the first occurrence) for every item whose key was seen before."""
    first: dict[Hashable, str] = {}
    for key, path in items:
        if key in first:
            yield path, first[key]
        else:
            first[key] = path


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """duplicate-agent, duplicate-skill, duplicate-vault."""
    project = ctx.project
    names = {a.path: a.spec.name for a in project.agents}
    for path, first in repeats((a.spec.name, a.path) for a in project.agents):
        yield ctx.at(path, ("name",), f"agent `{names[path]}` is already defined in {first}",
                     "duplicate-agent")
    vault_names = {v.path: v.config.name for v in project.vaults}
    for path, first in repeats((v.config.name, v.path) for v in project.vaults):
        yield ctx.at(path, ("name",), f"vault `{vault_names[path]}` is already defined in "
                     f"{first}", "duplicate-vault")
    skills = [s for v in project.vaults for s in v.skills]
    by_path = {s.path: s for s in skills}
    for path, first in repeats(((s.tier, s.spec.name), s.path) for s in skills):
        skill = by_path[path]
        yield ctx.at(path, ("name",), f"skill `{skill.spec.name}` is already defined at tier "
                     f"{skill.tier.value} in {first}", "duplicate-skill")
