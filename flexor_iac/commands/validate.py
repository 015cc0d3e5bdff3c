"""`flexor validate`: load every project file and report all problems, one per line.

The project's files start parsing before the model and check modules are imported: on a large
project the two cost about the same and proceed at once (docs/decisions/008-validate-speed.md).
This module therefore imports only light modules at its top.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import UsageError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.project.diagnostics import has_errors, report
from flexor_iac.project.reading import project_files, start_reading


@dataclass(frozen=True)
class ValidateRequest:
    """What to report: some paths, only changed files, one environment's rules."""

    paths: tuple[Path, ...] = ()
    changed: bool = False
    base: str | None = None
    env: Environment | None = None


def _selected(paths: ProjectPaths, request: ValidateRequest) -> set[str] | None:
    """Project-relative path prefixes to report on (None: everything)."""
    if not request.paths:
        return None
    return {_inside(paths, Path(p)).as_posix().rstrip(".") for p in request.paths}


def _inside(paths: ProjectPaths, given: Path) -> Path:
    """`given`, relative to the project root; a path outside the project is a usage error."""
    try:
        return given.resolve().relative_to(paths.root.resolve())
    except (ValueError, OSError, RuntimeError):
        raise UsageError(f"{given} is not a path inside the project {paths.root}") from None


def run(paths: ProjectPaths, request: ValidateRequest, console: Console) -> int:
    """Validate the whole project, report the requested part; exit 1 on any reported error."""
    envs = (request.env,) if request.env else tuple(Environment)
    pending = start_reading(project_files(paths.root), paths.root)
    from flexor_iac.project.validate import (
        validate_project,  # the models and checks: while files parse
    )

    project, diagnostics = validate_project(paths.root, envs, parsed=pending.result())
    console.debug(f"loaded {len(project.documents)} files: {len(project.vaults)} vaults, "
                  f"{sum(len(v.skills) for v in project.vaults)} skills, "
                  f"{len(project.agents)} agents; rules of {', '.join(e.value for e in envs)}")
    if (prefixes := _selected(paths, request)) is not None:
        diagnostics = [d for d in diagnostics if any(
            p in ("", d.path) or d.path.startswith(p.rstrip("/") + "/") for p in prefixes)]
    if request.changed:
        from flexor_iac.project.changes import changed_files, with_referrers

        wanted = with_referrers(project, changed_files(paths.root, request.base))
        diagnostics = [d for d in diagnostics if d.path in wanted]
    errors = sum(1 for d in diagnostics if d.severity == "error")
    if console.json_mode:
        console.document([d.as_json() for d in diagnostics])
    else:
        report(console, diagnostics)
        console.line(f"{errors} error(s), {len(diagnostics) - errors} warning(s)")
    return ExitCode.FAILED if has_errors(diagnostics) else ExitCode.OK
