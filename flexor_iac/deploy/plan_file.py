"""What a plan was computed from, checked again before it is applied; saved plans on disk.

A deploy applies the plan it showed only while its basis still holds: the stack's state, the
inputs of every declared resource (the project as the environment gets it), the bound vault
snapshots and the targets. `deploy --plan-out FILE` saves a plan with its basis and `deploy
--plan FILE` applies exactly that plan, refusing (exit 3) when anything in the basis moved.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flexor_iac import __version__
from flexor_iac.core.errors import PolicyRefusal, UsageError
from flexor_iac.deploy import plan as plans

KIND = "flexor-plan"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Basis:
    """What a plan was computed from."""

    environment: str
    state: str
    inputs: str
    snapshots: dict[str, str]
    agents: tuple[str, ...]

    def moved(self, current: Basis) -> list[str]:
        """What differs in `current`, in words (empty: the plan still holds)."""
        found = []
        if current.state != self.state:
            found.append(f"the {self.environment} stack's state changed (another deploy, "
                         "rollback, refresh or a direct pulumi command ran)")
        if current.snapshots != self.snapshots:
            vaults = sorted(v for v in set(self.snapshots) | set(current.snapshots)
                            if self.snapshots.get(v) != current.snapshots.get(v))
            found.append(f"the bound snapshot of vault {', '.join(vaults)} changed")
        if current.inputs != self.inputs:
            found.append("the project's files changed")
        if current.agents != self.agents:
            found.append("the --agent targets differ")
        return found


def check_current(planned: Basis, current: Basis, verb: str = "deploy") -> None:
    """Refuse (exit 3) a plan whose basis moved since it was shown."""
    if moved := planned.moved(current):
        raise PolicyRefusal(f"the plan is stale: {'; '.join(moved)} since it was shown; "
                            f"nothing was applied; run {verb} again")


@dataclass(frozen=True)
class SavedPlan:
    """A plan and its basis, as `--plan-out` wrote them."""

    basis: Basis
    plan: plans.Plan


def save(path: Path, basis: Basis, plan: plans.Plan) -> None:
    """Write the plan atomically (a reader never sees half a file)."""
    doc: dict[str, Any] = {"kind": KIND, "format_version": FORMAT_VERSION,
                           "flexor_version": __version__, "basis": asdict(basis),
                           "plan": plans.to_json(plan)}
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        scratch.write_text(json.dumps(doc, indent=2) + "\n")
        scratch.replace(path)
    except OSError as error:
        scratch.unlink(missing_ok=True)
        raise UsageError(f"--plan-out {path}: cannot write it ({error.strerror})") from None


def load(path: Path) -> SavedPlan:
    """Read a saved plan; a missing or malformed file is a usage error (exit 64)."""
    try:
        doc = json.loads(path.read_text())
    except OSError as error:
        raise UsageError(f"--plan {path}: cannot read it ({error.strerror})") from None
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deep
        raise UsageError(f"--plan {path}: not a saved flexor plan (invalid JSON: "
                         f"{type(error).__name__ if isinstance(error, RecursionError) else error})"
                         ) from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise UsageError(f"--plan {path}: not a saved flexor plan (write one with --plan-out)")
    if doc.get("format_version") != FORMAT_VERSION:
        raise UsageError(f"--plan {path}: plan format {doc.get('format_version')} is not "
                         f"{FORMAT_VERSION}; make the plan again with this flexor")
    try:
        raw = doc["basis"]
        basis = Basis(str(raw["environment"]), str(raw["state"]), str(raw["inputs"]),
                      {str(k): str(v) for k, v in raw["snapshots"].items()},
                      tuple(str(a) for a in raw["agents"]))
        return SavedPlan(basis, plans.from_json(doc["plan"]))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UsageError(f"--plan {path}: the saved plan is incomplete ({error!r}); make "
                         "it again with --plan-out") from None
