"""The only importer of pulumi.automation: preview / up / destroy / history → our dataclasses.

Every call runs the real engine with the environment of flexor_iac.workspace.engine_env (local
`file://` backend, passphrase secrets, no network) and the toolchain of flexor_iac.toolchain.
Operations on one stack are serialized with a lock file; a second one is refused (exit 3).
"""

from __future__ import annotations

import fcntl
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from pulumi import automation as auto
from pulumi.automation import events

from flexor_iac.constants import PULUMI_PROJECT, Environment
from flexor_iac.errors import EngineError, PolicyRefusal, ToolchainError
from flexor_iac.toolchain import pulumi_bin_dir
from flexor_iac.workspace import ProjectPaths, engine_env

Program = Callable[[], None]
_OPS = {"create", "update", "delete", "replace", "same"}
_TYPE_PREFIX = "pulumi-python:dynamic/flexor:"


@dataclass(frozen=True)
class ResourceStep:
    """One flexor resource's step in a preview or update."""

    op: str
    kind: str
    name: str
    urn: str
    old_inputs: dict[str, Any] | None
    new_inputs: dict[str, Any] | None


@dataclass(frozen=True)
class EngineResult:
    """The flexor resources' steps in a preview, update or destroy."""

    steps: tuple[ResourceStep, ...]

    @property
    def summary(self) -> dict[str, int]:
        """Steps per operation (flexor resources only, unlike the engine's own summary)."""
        return dict(Counter(step.op for step in self.steps))


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded stack operation (newest first in lists)."""

    kind: str
    result: str
    start_time: datetime
    end_time: datetime | None
    message: str
    resource_changes: dict[str, int]


@dataclass(frozen=True)
class DeployedResource:
    """A flexor resource as the stack's state records it."""

    kind: str
    name: str
    urn: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


StepCallback = Callable[[ResourceStep], None]


@dataclass
class _Collector:
    """Gathers flexor steps and error diagnostics from the engine's event stream."""

    on_step: StepCallback | None = None
    steps: dict[str, ResourceStep] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def __call__(self, event: events.EngineEvent) -> None:
        if event.diagnostic_event and event.diagnostic_event.severity == "error":
            self.errors.append(event.diagnostic_event.message.strip())
        outputs = event.res_outputs_event
        pre = event.resource_pre_event
        meta = outputs.metadata if outputs else pre.metadata if pre else None
        if meta is None or not meta.type.startswith(_TYPE_PREFIX) or meta.op.value not in _OPS:
            return
        step = ResourceStep(
            op=meta.op.value,
            kind=meta.type.removeprefix(_TYPE_PREFIX),
            name=meta.urn.rsplit("::", 1)[-1],
            urn=meta.urn,
            old_inputs=dict(meta.old.inputs or {}) if meta.old else None,
            new_inputs=dict(meta.new.inputs or {}) if meta.new else None,
        )
        self.steps[meta.urn] = step
        if outputs and self.on_step:
            self.on_step(step)

    def result(self) -> EngineResult:
        return EngineResult(tuple(self.steps.values()))


@cache
def _command() -> auto.PulumiCommand:
    bin_dir = pulumi_bin_dir()
    if bin_dir.name != "bin":
        raise ToolchainError(f"the Pulumi toolchain folder must be named `bin`: {bin_dir}")
    return auto.PulumiCommand(root=str(bin_dir.parent))


class StackSession:
    """The Pulumi stack of one environment of one project."""

    def __init__(self, paths: ProjectPaths, env: Environment, program: Program) -> None:
        self.paths, self.env, self.program = paths, env, program
        self._selected: auto.Stack | None = None

    def _stack(self) -> auto.Stack:
        """The workspace stack, selected (or created) once per session: it costs CLI calls."""
        if self._selected is None:
            self._selected = self._select()
        return self._selected

    def _select(self) -> auto.Stack:
        options = auto.LocalWorkspaceOptions(
            work_dir=str(self.paths.root),
            pulumi_home=str(self.paths.pulumi_home),
            env_vars=engine_env(self.paths),
            pulumi_command=_command(),
            secrets_provider="passphrase",
        )
        return auto.create_or_select_stack(self.env.value, project_name=PULUMI_PROJECT,
                                           program=self.program, opts=options)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        locks = self.paths.state_dir / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with (locks / f"{self.env.value}.lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PolicyRefusal(f"another flexor operation on {self.env.value} is running; "
                                    "try again when it has finished") from None
            yield

    def _run(self, action: Callable[[auto.Stack, _Collector], Any], collector: _Collector
             ) -> Any:
        with self._locked():
            try:
                return action(self._stack(), collector)
            except auto.CommandError as error:
                detail = collector.errors[-1] if collector.errors else _last_line(str(error))
                raise EngineError(f"the Pulumi engine failed on {self.env.value}: {detail}") \
                    from None

    def preview(self, targets: list[str] | None = None, refresh: bool = False) -> EngineResult:
        """A dry run: what an update would do. Changes nothing."""
        collector = _Collector()
        self._run(lambda stack, c: stack.preview(
            on_event=c, target=targets or None, target_dependents=False, refresh=refresh or None,
            color="never", suppress_progress=True, on_output=lambda _line: None), collector)
        return collector.result()

    def up(self, targets: list[str] | None = None, message: str | None = None,
           on_step: StepCallback | None = None, refresh: bool = False) -> EngineResult:
        """Apply the program to the stack."""
        collector = _Collector(on_step)
        self._run(lambda stack, c: stack.up(
            on_event=c, target=targets or None, message=message, refresh=refresh or None,
            color="never", suppress_progress=True, on_output=lambda _line: None), collector)
        return collector.result()

    def destroy(self, on_step: StepCallback | None = None) -> EngineResult:
        """Delete every resource of the stack."""
        collector = _Collector(on_step)
        self._run(lambda stack, c: stack.destroy(
            on_event=c, color="never", suppress_progress=True,
            on_output=lambda _line: None), collector)
        return collector.result()

    def history(self, limit: int | None = None) -> list[HistoryEntry]:
        """Recorded operations, newest first (all of them unless `limit`)."""
        entries = self._stack().history(page_size=limit or 10_000, page=1)
        return [HistoryEntry(e.kind, e.result, e.start_time, e.end_time, e.message or "",
                             {str(k): int(v) for k, v in (e.resource_changes or {}).items()})
                for e in entries]

    def resources(self) -> list[DeployedResource]:
        """The flexor resources in the stack's current state."""
        deployment = self._stack().export_stack().deployment or {}
        found = []
        for resource in deployment.get("resources", []):
            kind = str(resource.get("type", ""))
            if kind.startswith(_TYPE_PREFIX):
                urn = str(resource["urn"])
                inputs = {k: v for k, v in (resource.get("inputs") or {}).items()
                          if k != "__provider"}
                found.append(DeployedResource(kind.removeprefix(_TYPE_PREFIX),
                                              urn.rsplit("::", 1)[-1], urn, inputs,
                                              dict(resource.get("outputs") or {})))
        return found

    def urn(self, kind: str, name: str) -> str:
        """The URN of one flexor resource in this stack (for --target)."""
        return (f"urn:pulumi:{self.env.value}::{PULUMI_PROJECT}::"
                f"{_TYPE_PREFIX}{kind}::{name}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"
