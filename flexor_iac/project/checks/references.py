"""References: skills resolve in every environment that needs them, with fitting arguments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flexor_iac.core.constants import Environment
from flexor_iac.language.templates import is_template
from flexor_iac.project.checks.context import CheckContext, Invocation, target_name, walk_steps
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.documents import Loc
from flexor_iac.project.loading import SkillSource
from flexor_iac.project.models import ActionStep, CallStep, SkillTask
from flexor_iac.project.resolve import skill_index
from flexor_iac.project.stdlib import ACTIONS, OPEN_ARGUMENTS, is_library_action

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,),
}


def with_article(noun: str) -> str:
    """`an integer`, `a string`."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def literal_type_fits(expected: str, value: Any) -> bool:
    """Whether a literal (non-template) argument value fits a skill input type."""
    if value is None or is_template(value):
        return True
    if isinstance(value, bool) and expected in ("integer", "number"):
        return False
    return isinstance(value, _PYTHON_TYPES[expected])


def _arguments(ctx: CheckContext, path: str, loc: Loc, step: Invocation, kind: str,
               target: SkillSource | str) -> Iterator[Diagnostic]:
    """skill-args-unknown, skill-args-missing, skill-args-type for one resolved invocation."""
    if isinstance(target, str):  # a standard-library action
        if target not in OPEN_ARGUMENTS:
            for name in sorted(set(step.args) - ACTIONS[target]):
                allowed = ", ".join(sorted(ACTIONS[target])) or "none"
                yield ctx.at(path, (*loc, "args", name), f"`{target}` takes no argument "
                             f"`{name}` (it takes: {allowed})", "skill-args-unknown")
        return
    inputs = target.spec.inputs
    for name in sorted(set(step.args) - set(inputs)):
        yield ctx.at(path, (*loc, "args", name), f"skill `{target.spec.name}` has no input "
                     f"`{name}` (inputs: {', '.join(sorted(inputs)) or 'none'})",
                     "skill-args-unknown")
    for name, spec in sorted(inputs.items()):
        if spec.required and name not in step.args:
            yield ctx.at(path, (*loc, kind), f"skill `{target.spec.name}` needs input `{name}`",
                         "skill-args-missing")
        elif name in step.args and not literal_type_fits(spec.type, step.args[name]):
            yield ctx.at(path, (*loc, "args", name), f"input `{name}` of skill "
                         f"`{target.spec.name}` expects {with_article(spec.type)}, got "
                         f"{json.dumps(step.args[name])}", "skill-args-type")


def _invocation(ctx: CheckContext, path: str, loc: Loc, step: Invocation,
                envs: list[Environment], successors: dict[str, str]) -> Iterator[Diagnostic]:
    kind, name = target_name(step) or ("", "")
    if isinstance(step, ActionStep):
        if not is_library_action(name):
            yield ctx.at(path, (*loc, "action"), f"unknown standard-library action `{name}`",
                         "action-unknown")
        else:
            yield from _arguments(ctx, path, loc, step, kind, name)
        return
    targets: list[SkillSource | str] = []  # distinct: one skill usually serves every env
    for env in envs:
        target = skill_index(ctx.project, env).resolve(name)
        if target is None and name in ctx.project.invalid_skills:
            continue  # the skill's own file is reported as invalid
        if target is None:
            yield ctx.at(path, (*loc, kind),
                         skill_index(ctx.project, env).unresolved(name).describe(),
                         "skill-unresolved")
        elif not any(target is seen for seen in targets):
            targets.append(target)
    for target in targets:
        yield from _arguments(ctx, path, loc, step, kind, target)
        if isinstance(target, SkillSource) and target.spec.deprecated:
            successor = successors.get(name)
            hint = f"use `{successor}` instead" if successor else "no successor names it in " \
                "`replaces`"
            yield ctx.at(path, (*loc, kind), f"skill `{name}` is deprecated; {hint}",
                         "skill-deprecated", "warning")


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """skill-unresolved, action-unknown, skill-args-*, skill-deprecated."""
    successors = {s.spec.replaces: s.spec.name for v in ctx.project.vaults for s in v.skills
                  if s.spec.replaces}
    seen: set[Diagnostic] = set()
    for agent in ctx.project.agents:
        envs = ctx.agent_environments(agent)
        for index, task in enumerate(agent.spec.tasks):
            if isinstance(task, SkillTask):
                for found in _invocation(ctx, agent.path, ("tasks", index), task, envs,
                                         successors):
                    if found not in seen:
                        seen.add(found)
                        yield found
    for vault in ctx.project.vaults:
        envs = ctx.vault_environments(vault)
        for skill in vault.skills:
            for step, loc in walk_steps(skill.spec.steps):
                if isinstance(step, ActionStep | CallStep):
                    for found in _invocation(ctx, skill.path, loc, step, envs, successors):
                        if found not in seen:
                            seen.add(found)
                            yield found
