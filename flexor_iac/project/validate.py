"""Load a project and check it as a whole: every file's schema plus the cross-file rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from flexor_iac.core.constants import Environment
from flexor_iac.project.checks import (
    addresses,
    catalog,
    cycles,
    files,
    names,
    references,
    stacks,
    templates,
    triggers,
    vaults,
)
from flexor_iac.project.checks.context import CheckContext
from flexor_iac.project.diagnostics import Diagnostic
from flexor_iac.project.loading import Project, load_project
from flexor_iac.project.reading import CacheUse, Parsed

CHECKS: tuple[Callable[[CheckContext], Iterable[Diagnostic]], ...] = (
    names.check, vaults.check, stacks.check, triggers.check, templates.check,
    references.check, cycles.check, catalog.check, addresses.check, files.check,
)


def validate_project(root: Path, environments: tuple[Environment, ...] = tuple(Environment),
                     cache: CacheUse = "use", parsed: Parsed | None = None
                     ) -> tuple[Project, list[Diagnostic]]:
    """The loaded project and every diagnostic (sorted by file and position).

    `parsed`: the project's files already parsed (see reading.start_reading).
    """
    project, diagnostics = load_project(root, cache, parsed)
    return project, sorted(set(diagnostics + check_project(project, environments)))


def check_project(project: Project, environments: tuple[Environment, ...] = tuple(Environment)
                  ) -> list[Diagnostic]:
    """The diagnostics of the cross-file rules of a loaded project (sorted): what validating it
    for other `environments` adds, without reading its files again."""
    context = CheckContext(project, environments)
    return sorted({diagnostic for check in CHECKS for diagnostic in check(context)})
