"""Templates parse, `env.X` reads are allowed by the vault, conditions are balanced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flexor_iac.language.templates import facts, is_template
from flexor_iac.project.checks.context import CheckContext, strings, walk_steps
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.documents import Loc
from flexor_iac.project.loading import VaultSource
from flexor_iac.project.models import ActionStep, CallStep, ConditionStep, SkillTask


def _templates(ctx: CheckContext, path: str, value: Any, loc: Loc,
               vault: VaultSource | None) -> Iterator[Diagnostic]:
    for text, where in strings(value, loc):
        if not is_template(text):
            continue
        found = facts(text)
        if found.error is not None:
            yield ctx.at(path, where, f"template {text!r} does not parse: {found.error}",
                         "template-syntax")
            continue
        if vault is None:
            continue
        for name in sorted(found.env_reads - set(vault.config.env_allowlist)):
            yield ctx.at(path, where, f"template reads env.{name}, which vault "
                         f"`{vault.config.name}` does not allow (add it to env_allowlist)",
                         "env-not-allowed")


def _balance(ctx: CheckContext, path: str, items: list[Any], base: Loc,
             noun: str) -> Iterator[Diagnostic]:
    open_at: list[Loc] = []
    for index, item in enumerate(items):
        if isinstance(item, ConditionStep):
            open_at.append((*base, index))
        elif item == "end_condition":
            if not open_at:
                yield ctx.at(path, (*base, index), f"`end_condition` without a `condition` "
                             f"before it in these {noun}", "condition-balance")
            else:
                open_at.pop()
    for loc in open_at:
        yield ctx.at(path, loc, f"`condition` is never closed by `end_condition` in these "
                     f"{noun}", "condition-balance")


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """template-syntax, env-not-allowed, condition-balance."""
    for agent in ctx.project.agents:
        vault = ctx.project.agent_vault(agent.spec)
        yield from _balance(ctx, agent.path, agent.spec.tasks, ("tasks",), "tasks")
        for index, task in enumerate(agent.spec.tasks):
            if isinstance(task, SkillTask):
                yield from _templates(ctx, agent.path, task.args, ("tasks", index, "args"), vault)
            elif isinstance(task, ConditionStep):
                yield from _templates(ctx, agent.path, task.condition,
                                      ("tasks", index, "condition"), vault)
        if agent.spec.trigger.filter:
            yield from _templates(ctx, agent.path, agent.spec.trigger.filter,
                                  ("trigger", "filter"), vault)
    for vault in ctx.project.vaults:
        for skill in vault.skills:
            yield from _balance(ctx, skill.path, skill.spec.steps, ("steps",), "steps")
            for step, loc in walk_steps(skill.spec.steps):
                if isinstance(step, ConditionStep):
                    yield from _templates(ctx, skill.path, step.condition,
                                          (*loc, "condition"), vault)
                elif isinstance(step, ActionStep | CallStep):
                    yield from _templates(ctx, skill.path, step.args, (*loc, "args"), vault)
