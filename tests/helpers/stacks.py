"""The stacks of a test in memory, in place of the Pulumi engine (`sessions.open_stack`).

A fake stack diffs what the program declares against its state with the real providers'
`diff`, and applies a step with the real providers' control-plane writes, in this process and
in milliseconds. It runs no engine, writes only the Pulumi state files flexor reads without it
(a history file per operation, the checkpoint's flexor resources) and skips the providers'
guard (their key and control-plane checks): the engine tests keep those, and the fake never
replaces them. A refresh is not faked: test `--refresh` on the engine.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from flexor_iac.controlplane.location import team_database
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import PULUMI_PROJECT, Environment
from flexor_iac.core.workspace import PROJECT_VARIABLE, ProjectPaths
from flexor_iac.deploy import sessions
from flexor_iac.deploy.program import Desired
from flexor_iac.deploy.stacks import (
    DeployedResource,
    EngineResult,
    HistoryEntry,
    ResourceStep,
    StepCallback,
)
from flexor_iac.project.digest import json_digest
from flexor_iac.resources.agent import AgentProvider
from flexor_iac.resources.base import FlexorProvider, whole_numbers
from flexor_iac.resources.environment_binding import EnvironmentBindingProvider
from flexor_iac.resources.guard import CONTROL_PLANE_KEY, plane_record
from flexor_iac.resources.vault_tier_scope import VaultTierScopeProvider

PROVIDERS: dict[str, FlexorProvider] = {"EnvironmentBinding": EnvironmentBindingProvider(),
                                        "VaultTierScope": VaultTierScopeProvider(),
                                        "Agent": AgentProvider()}
_TYPE_PREFIX = "pulumi-python:dynamic/flexor:"


@dataclass
class FakeStacks:
    """Every stack of one test: the state and history per (project, environment), and each
    operation asked of them as (operation, environment)."""

    states: dict[tuple[Path, Environment], dict[str, DeployedResource]] = \
        field(default_factory=dict)
    histories: dict[tuple[Path, Environment], list[HistoryEntry]] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def open(self, paths: ProjectPaths, env: Environment, resources: Sequence[Desired] = (),
             notice: Callable[[str], None] | None = None) -> FakeStack:
        """What `sessions.open_stack` returns while the fake is in use."""
        return FakeStack(self, paths, env, [copy.deepcopy(r) for r in resources])

    def asked_of(self, env: Environment) -> list[str]:
        """The operations asked of `env`'s stack, in order."""
        return [op for op, name in self.asked if name == env.value]


def write_state_file(paths: ProjectPaths, env: Environment, name: str,
                      content: bytes) -> None:
    """One file of the Pulumi state (`name` under the backend), where the engine writes it:
    the file:// folder, or the team database's `pulumi_state` table."""
    url = team_database(paths.root)
    if url is None:
        target = paths.backend_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        return
    with ControlPlane(url) as store, store.database.transaction():
        store.database.execute("CREATE TABLE IF NOT EXISTS pulumi_state (key TEXT PRIMARY KEY, "
                               "data JSONB NOT NULL)", ())
        store.database.execute(
            "INSERT INTO pulumi_state VALUES (?, ?::jsonb) ON CONFLICT (key) DO UPDATE SET "
            "data = excluded.data", (f"{urlsplit(url).path.strip('/')}/{name}",
                                     json.dumps({"data": base64.b64encode(content).decode()})))


def _write_history_file(paths: ProjectPaths, env: Environment, entry: HistoryEntry) -> None:
    """What the engine writes after an operation: its history file, which `status` and
    `history` read without the engine (controlplane/pulumi_files.py)."""
    content = json.dumps({
        "kind": entry.kind, "result": entry.result, "message": entry.message,
        "startTime": int(entry.start_time.timestamp()),
        "endTime": int((entry.end_time or entry.start_time).timestamp()),
        "resourceChanges": entry.resource_changes}).encode()
    write_state_file(paths, env, f".pulumi/history/{PULUMI_PROJECT}/{env.value}/"
                                  f"{env.value}-{time.time_ns():019d}.history.json", content)


def _write_checkpoint(paths: ProjectPaths, env: Environment,
                      state: dict[str, DeployedResource]) -> None:
    """What the engine writes after an operation: the stack's checkpoint (the flexor
    resources only), which `history` reads without the engine."""
    resources = [{"urn": r.urn, "type": f"{_TYPE_PREFIX}{r.kind}", "custom": True,
                  "inputs": {"__provider": "(the serialized provider)", **r.inputs},
                  "outputs": r.outputs} for r in state.values()]
    content = json.dumps({"version": 3, "checkpoint": {
        "stack": f"organization/{PULUMI_PROJECT}/{env.value}",
        "latest": {"manifest": {}, "resources": resources}}}).encode()
    write_state_file(paths, env, f".pulumi/stacks/{PULUMI_PROJECT}/{env.value}.json", content)


def use_fake_stacks(monkeypatch: pytest.MonkeyPatch) -> FakeStacks:
    """Every stack the commands open is a fake one, for the rest of the test."""
    fake = FakeStacks()
    monkeypatch.setattr(sessions, "open_stack", fake.open)
    return fake


@contextmanager
def _as_the_engine(paths: ProjectPaths) -> Iterator[None]:
    """The providers find the project as they do under the engine (engine_env)."""
    before = os.environ.get(PROJECT_VARIABLE)
    os.environ[PROJECT_VARIABLE] = str(paths.root)
    try:
        yield
    finally:
        if before is None:
            del os.environ[PROJECT_VARIABLE]
        else:
            os.environ[PROJECT_VARIABLE] = before


@dataclass
class FakeStack:
    """One environment's stack (the same methods as deploy.stacks.StackSession)."""

    stacks: FakeStacks
    paths: ProjectPaths
    env: Environment
    declared: list[Desired]

    @property
    def _key(self) -> tuple[Path, Environment]:
        return self.paths.root, self.env

    @property
    def _state(self) -> dict[str, DeployedResource]:
        return self.stacks.states.setdefault(self._key, {})

    @property
    def _history(self) -> list[HistoryEntry]:
        return self.stacks.histories.setdefault(self._key, [])

    def _ask(self, operation: str) -> None:
        self.stacks.asked.append((operation, self.env.value))

    def urn(self, kind: str, name: str) -> str:
        """The URN the engine gives a flexor resource of this stack."""
        return f"urn:pulumi:{self.env.value}::{PULUMI_PROJECT}::{_TYPE_PREFIX}{kind}::{name}"

    def state_digest(self) -> str:
        """Changes whenever an update or destroy ran, as the state file's digest does."""
        return json_digest([[r.urn, r.inputs, r.outputs] for r in self._state.values()]
                           + [len(self._history)])

    def _step(self, resource: Desired) -> ResourceStep:
        urn = self.urn(resource.kind, resource.name)
        old = self._state.get(urn)
        news = copy.deepcopy(resource.inputs)
        if old is None:
            return ResourceStep("create", resource.kind, resource.name, urn, None, news)
        diff = PROVIDERS[resource.kind].diff(urn, old.outputs, news)
        op = "replace" if diff.replaces else "update" if diff.changes else "same"
        return ResourceStep(op, resource.kind, resource.name, urn, old.inputs, news,
                            old.outputs)

    def _steps(self, targets: list[str] | None) -> list[ResourceStep]:
        """What an update would do: the declared resources, then deletes of the others."""
        chosen = set(targets or ())
        declared = {self.urn(r.kind, r.name): r for r in self.declared}
        with _as_the_engine(self.paths):
            steps = [self._step(r) for urn, r in declared.items()
                     if not chosen or urn in chosen]
        steps += [ResourceStep("delete", old.kind, old.name, urn, old.inputs, None, old.outputs)
                  for urn, old in reversed(self._state.items())
                  if urn not in declared and (not chosen or urn in chosen)]
        return steps

    def preview(self, targets: list[str] | None = None, refresh: bool = False) -> EngineResult:
        """A dry run: what an update would do. Changes nothing."""
        assert not refresh, "the fake stacks do not refresh: test --refresh on the engine"
        self._ask("preview")
        return EngineResult(tuple(self._steps(targets)))

    def up(self, targets: list[str] | None = None, message: str | None = None,
           on_step: StepCallback | None = None, refresh: bool = False) -> EngineResult:
        """Apply the declared resources: the control plane changes as the providers change it."""
        assert not refresh, "the fake stacks do not refresh: test --refresh on the engine"
        self._ask("up")
        return self._apply(self._steps(targets), "update", message or "", on_step)

    def destroy(self, on_step: StepCallback | None = None) -> EngineResult:
        """Delete every resource of the stack."""
        self._ask("destroy")
        steps = [ResourceStep("delete", old.kind, old.name, urn, old.inputs, None, old.outputs)
                 for urn, old in reversed(self._state.items())]
        return self._apply(steps, "destroy", "", on_step)

    def _apply(self, steps: list[ResourceStep], kind: str, message: str,
               on_step: StepCallback | None) -> EngineResult:
        started = clock.now()
        # the providers open the control plane themselves, once per operation
        with _as_the_engine(self.paths), ControlPlane(locate(self.paths.root)) as store:
            for step in steps:
                self._apply_step(store, step)
                if on_step is not None:
                    on_step(step)
        result = EngineResult(tuple(steps))
        changes = {op: n for op, n in result.summary.items()}
        entry = HistoryEntry(kind, "succeeded", started, clock.now(), message, changes)
        self._history.insert(0, entry)
        _write_history_file(self.paths, self.env, entry)
        _write_checkpoint(self.paths, self.env, self._state)
        return result

    def _apply_step(self, store: ControlPlane, step: ResourceStep) -> None:
        provider = PROVIDERS[step.kind]
        old = self._state.get(step.urn)
        if old is not None and step.op in ("delete", "replace"):
            provider.erase(store, whole_numbers(old.outputs))
            del self._state[step.urn]
            old = None
        if step.op in ("create", "update", "replace") and step.new_inputs is not None:
            olds = old.outputs if old is not None else None
            props = provider.effective(olds, step.new_inputs)
            provider.write(store, whole_numbers(props))
            outputs: dict[str, Any] = {**provider.outputs(olds, props),
                                       CONTROL_PLANE_KEY: plane_record(store)}
            self._state[step.urn] = DeployedResource(step.kind, step.name, step.urn,
                                                     step.new_inputs, outputs)

    def history(self, limit: int | None = None) -> list[HistoryEntry]:
        """Recorded operations, newest first (all of them unless `limit`)."""
        self._ask("history")
        return list(self._history[:limit])

    def resources(self) -> list[DeployedResource]:
        """The flexor resources in the stack's current state."""
        self._ask("resources")
        return list(self._state.values())
