"""Skill calls form no cycle (a skill that calls itself, directly or through others)."""

from __future__ import annotations

from collections.abc import Iterator

from flexor_iac.project.checks.context import CheckContext, walk_steps
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.documents import Loc
from flexor_iac.project.loading import SkillSource
from flexor_iac.project.models import CallStep


def _edges(ctx: CheckContext) -> dict[str, list[tuple[str, SkillSource, Loc]]]:
    """name → the calls its skill files make: (callee, calling skill, step location)."""
    edges: dict[str, list[tuple[str, SkillSource, Loc]]] = {}
    for vault in ctx.project.vaults:
        for skill in vault.skills:
            calls = edges.setdefault(skill.spec.name, [])
            for step, loc in walk_steps(skill.spec.steps):
                if isinstance(step, CallStep):
                    calls.append((step.call, skill, (*loc, "call")))
    return edges


def check(ctx: CheckContext) -> Iterator[Diagnostic]:
    """skill-cycle: reported once per cycle, at the call that closes it."""
    edges = _edges(ctx)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(edges):
        if state.get(start):
            continue
        path: list[str] = [start]
        stack = [iter(edges[start])]
        state[start] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            callee, caller, loc = step
            if state.get(callee) == 1:
                cycle = [*path[path.index(callee):], callee]
                yield ctx.at(caller.path, loc, "skill call cycle: " + " → ".join(cycle),
                             "skill-cycle")
            elif callee in edges and not state.get(callee):
                state[callee] = 1
                path.append(callee)
                stack.append(iter(edges[callee]))
