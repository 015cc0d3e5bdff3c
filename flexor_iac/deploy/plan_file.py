"""What a plan was computed from, checked again before it is applied; saved plans on disk.

A deploy applies the plan it showed only while its basis still holds: the stack's state, the
inputs of every declared resource (the project as the environment gets it), the bound vault
snapshots and the targets. `deploy --plan-out FILE` saves a plan with its basis and `deploy
--plan FILE` applies exactly that plan, refusing (exit 3) when anything in the basis moved.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from flexor_iac import __version__
from flexor_iac.core.errors import PolicyRefusal, UsageError
from flexor_iac.deploy import plan as plans
from flexor_iac.project.files import NotRegular, TooLarge, read_regular

KIND = "flexor-plan"
FORMAT_VERSION = 1
# A plan of 1,000 agents is about 300 KiB; a file past this is no plan flexor wrote.
MAX_PLAN_BYTES = 16 << 20


@dataclass(frozen=True)
class Basis:
    """What a plan was computed from."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # read back from a saved plan

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


class _SavedPlanDocument(BaseModel):
    """A saved plan file; `kind` and `format_version` are checked first, for their messages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["flexor-plan"]
    format_version: Literal[1]
    flexor_version: str
    basis: Basis  # the dataclass itself, validated by pydantic
    plan: plans.PlanDocument


def save(path: Path, basis: Basis, plan: plans.Plan) -> None:
    """Write the plan atomically (a reader never sees half a file) and durably; only a regular
    file, or a new one, is written (never a device: `/dev/full` is no place for a plan)."""
    doc: dict[str, Any] = {"kind": KIND, "format_version": FORMAT_VERSION,
                           "flexor_version": __version__, "basis": asdict(basis),
                           "plan": plans.to_json(plan)}
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG((found := path.stat()).st_mode):
            raise UsageError(f"--plan-out {path}: {NotRegular(found.st_mode).strerror}; "
                             "name a file to write the plan to")
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with scratch.open("w") as out:
            out.write(json.dumps(doc, indent=2) + "\n")
            out.flush()
            os.fsync(out.fileno())  # a full disk says so here, not after "Plan saved"
        scratch.replace(path)
    except OSError as error:
        scratch.unlink(missing_ok=True)
        raise UsageError(f"--plan-out {path}: cannot write it ({error.strerror})") from None


def load(path: Path) -> SavedPlan:
    """Read a saved plan; a missing, malformed, oversized or irregular file is a usage error
    (exit 64), found without waiting on a pipe or reading past MAX_PLAN_BYTES."""
    try:
        doc = json.loads(read_regular(path, MAX_PLAN_BYTES))
    except TooLarge:
        raise UsageError(f"--plan {path}: larger than {MAX_PLAN_BYTES >> 20} MiB, so not a "
                         "saved flexor plan") from None
    except NotRegular as error:
        raise UsageError(f"--plan {path}: {error.strerror}; a saved plan is the file "
                         "--plan-out wrote") from None
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
        saved = _SavedPlanDocument.model_validate(doc)
    except ValidationError as error:
        raise UsageError(f"--plan {path}: the saved plan is incomplete ({_first(error)}); "
                         "make it again with --plan-out") from None
    return SavedPlan(saved.basis, saved.plan.plan())


def _first(error: ValidationError) -> str:
    """The first problem pydantic found, as `plan.changes.0.op: Input should be …`."""
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {problem['msg']}{more}"
