"""Load a project and check it as a whole: schema problems plus cross-file rules."""

from __future__ import annotations

from pathlib import Path

from flexor_iac.config.diagnostics import Diagnostic
from flexor_iac.config.project import Project, load_project


def validate_project(root: Path) -> tuple[Project, list[Diagnostic]]:
    """The loaded project and every diagnostic, sorted by file and position."""
    project, diagnostics = load_project(root)
    return project, sorted(diagnostics)
