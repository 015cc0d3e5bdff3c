"""What every check gets: the project, the environments in question, and a way to locate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flexor_iac.core.constants import Environment
from flexor_iac.project.diagnostics import Diagnostic, Severity
from flexor_iac.project.documents import Loc
from flexor_iac.project.loading import AgentSource, Project, VaultSource
from flexor_iac.project.models import (
    ActionStep,
    CallStep,
    ParallelStep,
    SkillStep,
    SkillTask,
)
from flexor_iac.project.selection import agent_skip_reason, vault_skip_reason

Invocation = ActionStep | CallStep | SkillTask


@dataclass(frozen=True)
class CheckContext:
    """A loaded project and the environments whose rules apply (all, or `--env`)."""

    project: Project
    environments: tuple[Environment, ...] = tuple(Environment)

    def at(self, path: str, loc: Loc, message: str, rule: str,
           severity: Severity = "error") -> Diagnostic:
        """A diagnostic at `loc` in the file `path` (line 1 when the file has no marks)."""
        document = self.project.documents.get(path)
        if document is None:
            return Diagnostic(path, 1, 1, severity, message, rule)
        return document.diagnostic(loc, message, rule, severity)

    def agent_environments(self, agent: AgentSource) -> list[Environment]:
        """The environments (of those in question) the agent takes part in."""
        return [env for env in self.environments
                if agent_skip_reason(self.project, agent, env) is None]

    def vault_environments(self, vault: VaultSource) -> list[Environment]:
        """The environments (of those in question) the vault takes part in."""
        return [env for env in self.environments if vault_skip_reason(vault, env) is None]


def walk_steps(steps: list[SkillStep], base: Loc = ("steps",)
               ) -> Iterator[tuple[SkillStep, Loc]]:
    """Every step with its location, descending into `parallel` blocks."""
    for index, step in enumerate(steps):
        loc = (*base, index)
        yield step, loc
        if isinstance(step, ParallelStep):
            yield from walk_steps(step.parallel, (*loc, "parallel"))


def target_name(step: object) -> tuple[str, str] | None:
    """(`action`|`call`|`skill`, name) of an invocation, else None."""
    if isinstance(step, ActionStep):
        return "action", step.action
    if isinstance(step, CallStep):
        return "call", step.call
    if isinstance(step, SkillTask):
        return "skill", step.skill
    return None


def strings(value: Any, loc: Loc) -> Iterator[tuple[str, Loc]]:
    """Every string inside a (nested) value, with its location."""
    if isinstance(value, str):
        yield value, loc
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, (*loc, index))
