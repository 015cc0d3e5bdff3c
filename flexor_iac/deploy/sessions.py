"""Where a command gets an environment's stack: `open_stack`, the one seam between the verbs
and the engine.

Commands call `sessions.open_stack(...)` (through the module, never an imported name), so a
test can replace it with stacks kept in memory (tests/helpers/stacks.py) and run a verb in
process; the real engine stays under test in the engine-marked tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from flexor_iac.core.constants import Environment
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.program import Desired, declare
from flexor_iac.deploy.stacks import (
    DeployedResource,
    EngineResult,
    HistoryEntry,
    StackSession,
    StepCallback,
)


class Stack(Protocol):
    """What a command asks of one environment's stack (StackSession is the real one)."""

    def state_digest(self) -> str:
        """A digest of the stack's current state: a plan is stale once it changes."""

    def preview(self, targets: list[str] | None = None, refresh: bool = False) -> EngineResult:
        """A dry run: what an update would do. Changes nothing."""

    def up(self, targets: list[str] | None = None, message: str | None = None,
           on_step: StepCallback | None = None, refresh: bool = False) -> EngineResult:
        """Apply the program to the stack."""

    def history(self, limit: int | None = None) -> list[HistoryEntry]:
        """Recorded operations, newest first."""

    def resources(self) -> list[DeployedResource]:
        """The flexor resources in the stack's current state."""

    def urn(self, kind: str, name: str) -> str:
        """The URN of one flexor resource in this stack."""


def open_stack(paths: ProjectPaths, env: Environment, resources: Sequence[Desired] = (),
               notice: Callable[[str], None] | None = None) -> Stack:
    """The stack of `env`, whose program declares `resources` (none: a stack only read)."""
    declared = list(resources)
    return StackSession(paths, env, lambda: declare(declared), notice)
