"""The interpreter of one attempt: agent tasks, skill steps, conditions, parallel, on_error.

Errors name where they happened (`task 2 (data-freshness-check) > step 1 (…)`); a failure
that a step tolerates (`optional`, `skip`, `fallback`) is kept for the record and makes the
run `partial`. The attempt's deadline is checked before every task, step and step retry; a
timeout is never tolerated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flexor_iac.language.render_pool import RenderError, RenderTimedOut, render
from flexor_iac.language.templates import names_read
from flexor_iac.project.models import (
    ActionStep,
    CallStep,
    ConditionStep,
    OnError,
    ParallelStep,
    SkillSpec,
    SkillTask,
)
from flexor_iac.runtime.actions import LIBRARY, ActionFailed
from flexor_iac.runtime.limits import Deadline, StepFailed, TimedOut
from flexor_iac.runtime.notify import DeliveryFailed, Notifier
from flexor_iac.runtime.plexifact import Connector, PlexiFactError
from flexor_iac.runtime.signatures import InputProblem, bind_inputs, check_outputs

MAX_DEPTH = 32
Invocation = SkillTask | ActionStep | CallStep


@dataclass
class Frame:
    """One agent or skill invocation: its inputs, captured names and outputs."""

    inputs: dict[str, Any]
    variables: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    depth: int = 0


@dataclass
class Attempt:
    """What one attempt did, for the run record."""

    tasks_executed: list[str] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    tolerated: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    captures: dict[str, Any] = field(default_factory=dict)


@dataclass
class Services:
    """What the interpreter reaches outside itself (built once per run)."""

    skills: dict[str, SkillSpec]
    notifier: Notifier
    connector: Callable[[], Connector]
    log: Callable[[str, str], None]
    now: Callable[[], datetime]
    event: dict[str, Any]
    env: dict[str, str]
    vault: dict[str, Any]
    deadline: Deadline = field(default_factory=Deadline)


@dataclass(frozen=True)
class Node:
    """An item at its place in the file (`number`); a condition holds the items it guards."""

    number: int
    item: Any
    children: list[Node] | None = None


def blocks(items: Sequence[Any], where: str) -> list[Node]:
    """Items with `condition` … `end_condition` folded into nodes holding their children."""
    root: list[Node] = []
    stack = [root]
    for number, item in enumerate(items, start=1):
        if item == "end_condition":
            if len(stack) == 1:
                raise StepFailed(where, f"item {number}: end_condition without a condition")
            stack.pop()
        elif isinstance(item, ConditionStep):
            children: list[Node] = []
            stack[-1].append(Node(number, item, children))
            stack.append(children)
        else:
            stack[-1].append(Node(number, item))
    if len(stack) != 1:
        raise StepFailed(where, "a condition has no end_condition")
    return root


def _target(step: Invocation) -> str:
    if isinstance(step, SkillTask):
        return step.skill
    return step.action if isinstance(step, ActionStep) else step.call


class Interpreter:
    """Runs one attempt of an agent's tasks."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.attempt = Attempt()

    def run_tasks(self, tasks: Sequence[Any], inputs: dict[str, Any]) -> Attempt:
        """Run the agent's tasks; raises StepFailed when a failure is not tolerated."""
        frame = Frame(inputs)
        self.attempt.captures = frame.variables
        self._sequence(blocks(tasks, "tasks"), frame, "task", "")
        return self.attempt

    def context(self, frame: Frame) -> dict[str, Any]:
        """What templates see: captured names, inputs, event, env, vault, now()."""
        s = self.services
        return {**frame.variables, "inputs": frame.inputs, "event": s.event, "env": s.env,
                "vault": s.vault, "now": s.now}

    def _in_time(self, where: str) -> None:
        deadline = self.services.deadline
        if deadline.passed():
            raise TimedOut(where, f"timed out: the attempt ran past its timeout_seconds "
                                  f"({deadline.seconds:g} s)")

    def _sequence(self, nodes: list[Node], frame: Frame, noun: str, prefix: str) -> None:
        for node in nodes:
            label = f"{prefix}{noun} {node.number}"
            self._in_time(label)
            if node.children is not None:
                self._condition(node.item, node.children, frame, noun, prefix, label)
            elif isinstance(node.item, ParallelStep):
                self._parallel(node.item, frame, f"{label} (parallel)")
            else:
                self.invoke(node.item, frame, f"{label} ({_target(node.item)})")

    def _condition(self, step: ConditionStep, children: list[Node], frame: Frame, noun: str,
                   prefix: str, where: str) -> None:
        context = self.context(frame)
        try:
            value = bool(self._render(step.condition, context, where))
        except RenderError as error:
            raise StepFailed(where, f"condition: {error}") from None
        drivers = {name: context[name] for name in sorted(names_read(step.condition))
                   if name in context and name != "now"}
        self.attempt.decisions.append({"where": where, "condition": step.condition,
                                       "result": value, "values": drivers})
        self.services.log("info", f"{where}: condition {step.condition} → "
                                  f"{'true' if value else 'false: skipped'}")
        if value:
            self._sequence(children, frame, noun, prefix)

    def _render(self, value: Any, context: dict[str, Any], where: str) -> Any:
        """`value` rendered within the attempt's time (past it: TimedOut, never tolerated)."""
        deadline = self.services.deadline
        try:
            return render(value, context, deadline.left())
        except RenderTimedOut:
            raise TimedOut(where, "timed out while rendering a template: the attempt ran past "
                                  f"its timeout_seconds ({deadline.seconds:g} s)") from None

    def _parallel(self, step: ParallelStep, frame: Frame, where: str) -> None:
        nodes = blocks(step.parallel, where)
        branches = [Frame(frame.inputs, dict(frame.variables), frame.outputs, frame.depth)
                    for _ in nodes]
        with ThreadPoolExecutor(max_workers=min(len(nodes), 16)) as pool:
            futures = [pool.submit(self._sequence, [node], branch, "branch", f"{where} > ")
                       for node, branch in zip(nodes, branches, strict=True)]
        failures = [f.exception() for f in futures if f.exception() is not None]
        for branch in branches:
            frame.variables.update({k: v for k, v in branch.variables.items()
                                    if frame.variables.get(k, branch) is not v})
        if failures:
            raise failures[0]  # type: ignore[misc]

    def invoke(self, step: Invocation, frame: Frame, where: str) -> None:
        """Run one invocation with its on_error policy; capture its result."""
        policy = step.on_error or OnError()
        tries = 1 + (policy.max_retries if policy.strategy == "retry" else 0)
        failure: StepFailed | None = None
        for attempt in range(1, tries + 1):
            self._in_time(where)
            try:
                value = self._call(step, frame, where)
            except TimedOut:
                raise
            except StepFailed as error:
                failure = error
                if attempt < tries:
                    self.services.log("warning", f"{error} (step retry {attempt}/{tries - 1})")
                continue
            if step.capture:
                frame.variables[step.capture] = value
            return
        assert failure is not None
        self._tolerate_or_raise(step, policy, frame, failure)

    def _tolerate_or_raise(self, step: Invocation, policy: OnError, frame: Frame,
                           failure: StepFailed) -> None:
        if policy.strategy == "fallback":
            if name := policy.capture or step.capture:
                frame.variables[name] = policy.fallback_value
            note = f"{failure} (fallback value used)"
        elif policy.strategy == "skip" or step.optional:
            note = f"{failure} (skipped)"
        else:
            raise failure
        self.attempt.tolerated.append(note)
        self.services.log("warning", note)

    def _call(self, step: Invocation, frame: Frame, where: str) -> Any:
        target = _target(step)
        try:
            args = self._render(step.args, self.context(frame), where)
        except RenderError as error:
            raise StepFailed(where, f"template {error}") from None
        if frame.depth == 0:
            self.attempt.tasks_executed.append(target)
        if not isinstance(step, ActionStep) and target in self.services.skills:
            return self._skill(target, args, frame.depth, where)
        if (action := LIBRARY.get(target)) is None:
            raise StepFailed(where, f"{target!r} is not deployed with this agent "
                                    "and is not a standard-library action")
        try:
            result = action(_StepContext(self, frame), args)
        except (ActionFailed, PlexiFactError, DeliveryFailed) as error:
            raise StepFailed(where, str(error)) from None
        self.services.log("info", f"{where}: ok")
        return result

    def _skill(self, name: str, args: dict[str, Any], depth: int, where: str) -> Any:
        if depth >= MAX_DEPTH:
            raise StepFailed(where, f"skills call each other more than {MAX_DEPTH} deep")
        spec = self.services.skills[name]
        if spec.deprecated:
            successor = next((s.name for s in self.services.skills.values()
                              if s.replaces == name), None)
            self.services.log("warning", f"{where}: skill {name} is deprecated"
                              + (f"; use {successor}" if successor else ""))
        try:
            frame = Frame(bind_inputs(spec, args), depth=depth + 1)
        except InputProblem as problem:
            raise StepFailed(where, str(problem)) from None
        self._sequence(blocks(spec.steps, where), frame, "step", f"{where} > ")
        try:
            check_outputs(spec, frame.outputs)
        except InputProblem as problem:
            raise StepFailed(where, str(problem)) from None
        return dict(frame.outputs)


class _StepContext:
    """The ActionContext of one step: the run's services and the frame's outputs."""

    def __init__(self, interpreter: Interpreter, frame: Frame) -> None:
        self._interpreter = interpreter
        self.notifier = interpreter.services.notifier
        self.outputs = frame.outputs

    def connector(self) -> Connector:
        return self._interpreter.services.connector()

    def audit_event(self, event: dict[str, Any]) -> None:
        self._interpreter.attempt.events.append(event)

    def log(self, message: str) -> None:
        self._interpreter.services.log("info", message)
