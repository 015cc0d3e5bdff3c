"""The only importer of pulumi.automation: preview / up / destroy / history → our dataclasses.

Every call runs the real engine with the environment of engine_workspace.engine_env (local
`file://` backend, passphrase secrets, no network) and the toolchain of deploy.toolchain.
Operations that change a stack hold the environment's operation lock (flexor_iac.core.locking) and
first recover what a killed operation left: Pulumi lock files of dead processes and pending
operations (every provider operation is an idempotent upsert, so the update re-applies them).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC
from functools import cache
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from pulumi.automation import events

from flexor_iac.controlplane.locks import environment_lock
from flexor_iac.core.constants import PULUMI_PROJECT, Environment
from flexor_iac.core.engine_lifetime import tethered_pulumi
from flexor_iac.core.errors import EngineError, PolicyRefusal, ToolchainError
from flexor_iac.core.locking import holds_lock
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import engine_workspace
from flexor_iac.deploy.engine_outcome import EngineOutcome
from flexor_iac.deploy.engine_workspace import engine_env
from flexor_iac.deploy.stack_files import StackFiles, pending_name
from flexor_iac.deploy.state_records import TYPE_PREFIX, flexor_resources
from flexor_iac.deploy.state_records import DeployedResource as DeployedResource
from flexor_iac.deploy.state_records import HistoryEntry as HistoryEntry
from flexor_iac.deploy.toolchain import pulumi_bin_dir

Program = Callable[[], None]
_OPS = {"create", "update", "delete", "replace", "same"}
_TYPE_PREFIX = TYPE_PREFIX


@dataclass(frozen=True)
class ResourceStep:
    """One flexor resource's step in a preview or update."""

    op: str
    kind: str
    name: str
    urn: str
    old_inputs: dict[str, Any] | None
    new_inputs: dict[str, Any] | None
    old_outputs: dict[str, Any] | None = None


@dataclass(frozen=True)
class EngineResult:
    """The flexor resources' steps in a preview, update or destroy."""

    steps: tuple[ResourceStep, ...]

    @property
    def summary(self) -> dict[str, int]:
        """Steps per operation (flexor resources only, unlike the engine's own summary)."""
        return dict(Counter(step.op for step in self.steps))


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
            old_outputs=dict(meta.old.outputs or {}) if meta.old else None,
            new_inputs=dict(meta.new.inputs or {}) if meta.new else None,
        )
        self.steps[meta.urn] = step
        if outputs and self.on_step:
            self.on_step(step)

    def result(self) -> EngineResult:
        return EngineResult(tuple(self.steps.values()))


@cache
def _command(engine_dir: Path) -> auto.PulumiCommand:
    """The pinned CLI, through a wrapper in `engine_dir`/bin that ends it with this process."""
    bin_dir = pulumi_bin_dir()
    if bin_dir.name != "bin":
        raise ToolchainError(f"the Pulumi toolchain folder must be named `bin`: {bin_dir}")
    command = tethered_pulumi(bin_dir / "pulumi", engine_dir / "bin")
    return auto.PulumiCommand(root=str(command.parent.parent))


class StackSession:
    """The Pulumi stack of one environment of one project."""

    def __init__(self, paths: ProjectPaths, env: Environment, program: Program,
                 notice: Callable[[str], None] | None = None) -> None:
        self.paths, self.env, self.program = paths, env, program
        self.notice = notice or (lambda _line: None)
        self.files = StackFiles.of(paths, env)
        self._selected: auto.Stack | None = None

    def _stack(self) -> auto.Stack:
        """The workspace stack, selected (or created) once per session: it costs CLI calls."""
        if self._selected is None:
            if self.files is not None and holds_lock(self.paths, self.env):
                # no one else may write now: clear what a killed operation left
                self.files.break_dead_locks(self.notice)
                self.files.repair_metadata(self.notice)
            self._selected = self._select()
        return self._selected

    def _select(self) -> auto.Stack:
        options = auto.LocalWorkspaceOptions(
            work_dir=str(engine_workspace.prepare(self.paths, self.env)),
            pulumi_home=str(self.paths.pulumi_home),
            env_vars=engine_env(self.paths),
            pulumi_command=_command(self.paths.state_dir / "engine"),
            secrets_provider="passphrase",
        )
        return auto.create_or_select_stack(self.env.value, project_name=PULUMI_PROJECT,
                                           program=self.program, opts=options)

    def _run(self, action: Callable[[auto.Stack, _Collector], Any], collector: _Collector,
             doing: str, changes: bool = False) -> Any:
        """Run one engine call (`doing`: "update", say); one that changes the stack holds the
        lock and recovers first (a preview changes nothing and takes no lock)."""
        with environment_lock(self.paths, self.env) if changes else nullcontext():
            try:
                stack = self._stack()
                if changes:
                    self._recover(stack)
                return action(stack, collector)
            except auto.CommandError as error:
                raise self._failure(error, collector.errors, doing, changes) from None

    def _failure(self, error: auto.CommandError, errors: list[str] | None = None,
                 doing: str | None = None, changes: bool = False) -> Exception:
        """The one-line error for a failed engine call (a damaged state file named as such)."""
        self._deployment(exported=False)  # raises StateError when the state file broke
        for line in [*(errors or []), str(error)]:  # a provider's policy refusal: exit 3
            if (at := line.find("refused: ")) >= 0:
                return PolicyRefusal(line[at:].strip().splitlines()[0])
        result = EngineOutcome.of(str(error))
        if result.signal is not None:
            return EngineError(result.killed(self.env.value, doing, changes))
        detail = errors[-1] if errors else result.last_line()
        return EngineError(f"the Pulumi engine failed on {self.env.value}: {detail}")

    # --- the state, read without the engine where the backend is a local folder -----------

    def state_digest(self) -> str:
        """A digest of the stack's current state: a plan is stale once it changes."""
        if self.files is not None and self.files.checkpoint.is_file():
            return self.files.digest()  # the stack exists: no engine needed
        try:
            self._stack()  # a new stack is created first, so creating it is not a change
        except auto.CommandError as error:
            raise self._failure(error) from None
        if self.files is not None:
            return self.files.digest()
        text = json.dumps(self._exported(), sort_keys=True).encode()
        return "sha256:" + hashlib.sha256(text).hexdigest()

    def _exported(self) -> dict[str, Any]:
        """The current deployment, exported by the engine."""
        try:
            return dict(self._stack().export_stack().deployment or {})
        except auto.CommandError as error:
            raise self._failure(error) from None

    def _deployment(self, exported: bool = True) -> dict[str, Any]:
        """The current deployment (resources, pending operations); {} for a new stack.

        Read from the file on a local backend, else exported by the engine (or {} when not
        `exported`). A damaged state file is a StateError.
        """
        read = self.files.deployment() if self.files is not None else None
        if read is None:
            return self._exported() if exported else {}
        return read

    def _recover(self, stack: auto.Stack) -> None:
        """Settle the pending operations of an interrupted update (its lock files and
        damaged metadata were dealt with when the stack was selected): every provider
        operation is an idempotent upsert, so this update re-applies them."""
        pending = self._deployment().get("pending_operations") or []
        if not pending:
            return
        names = ", ".join(pending_name(op) for op in pending)
        self.notice(f"{self.env.value}: {len(pending)} operation(s) of an interrupted update "
                    f"({names}) are re-applied by this one")
        exported = stack.export_stack()
        settled = dict(exported.deployment or {})
        settled.pop("pending_operations", None)
        stack.import_stack(auto.Deployment(version=exported.version, deployment=settled))

    def preview(self, targets: list[str] | None = None, refresh: bool = False) -> EngineResult:
        """A dry run: what an update would do. Changes nothing."""
        collector = _Collector()
        self._run(lambda stack, c: stack.preview(
            on_event=c, target=targets or None, target_dependents=False, refresh=refresh or None,
            color="never", suppress_progress=True, on_output=lambda _line: None), collector,
            "preview")
        return collector.result()

    def up(self, targets: list[str] | None = None, message: str | None = None,
           on_step: StepCallback | None = None, refresh: bool = False) -> EngineResult:
        """Apply the program to the stack."""
        collector = _Collector(on_step)
        self._run(lambda stack, c: stack.up(
            on_event=c, target=targets or None, message=message, refresh=refresh or None,
            color="never", suppress_progress=True, on_output=lambda _line: None), collector,
            "update", changes=True)
        return collector.result()

    def destroy(self, on_step: StepCallback | None = None) -> EngineResult:
        """Delete every resource of the stack."""
        collector = _Collector(on_step)
        self._run(lambda stack, c: stack.destroy(
            on_event=c, color="never", suppress_progress=True,
            on_output=lambda _line: None), collector, "destroy", changes=True)
        return collector.result()

    def history(self, limit: int | None = None) -> list[HistoryEntry]:
        """Recorded operations, newest first (all of them unless `limit`)."""
        try:
            entries = self._stack().history(page_size=limit or 10_000, page=1)
        except auto.CommandError as error:
            raise self._failure(error) from None
        # the CLI gives UTC times, which the automation API parses without a zone
        return [HistoryEntry(e.kind, e.result, e.start_time.replace(tzinfo=UTC),
                             e.end_time.replace(tzinfo=UTC) if e.end_time else None,
                             e.message or "",
                             {str(k): int(v) for k, v in (e.resource_changes or {}).items()})
                for e in entries]

    def resources(self) -> list[DeployedResource]:
        """The flexor resources in the stack's current state."""
        return flexor_resources(self._exported())

    def urn(self, kind: str, name: str) -> str:
        """The URN of one flexor resource in this stack (for --target)."""
        return (f"urn:pulumi:{self.env.value}::{PULUMI_PROJECT}::"
                f"{_TYPE_PREFIX}{kind}::{name}")
