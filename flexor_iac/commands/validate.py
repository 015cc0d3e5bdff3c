"""`flexor validate`: load every project file and report all problems, one per line."""

from __future__ import annotations

from flexor_iac.config.diagnostics import Diagnostic, has_errors
from flexor_iac.constants import ExitCode
from flexor_iac.output import Console
from flexor_iac.validate import validate_project
from flexor_iac.workspace import ProjectPaths


def report(console: Console, diagnostics: list[Diagnostic]) -> None:
    """Print diagnostics as `path:line:col: severity: message [rule]` lines (stderr)."""
    for diagnostic in diagnostics:
        text = diagnostic.render()
        colour = "red" if diagnostic.severity == "error" else "yellow"
        print(console.style(text, colour), file=console.err, flush=True)


def run(paths: ProjectPaths, console: Console) -> int:
    """Validate the whole project; exit 0 without errors (warnings allowed), 1 with."""
    _project, diagnostics = validate_project(paths.root)
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    if console.json_mode:
        console.document({"errors": errors, "warnings": warnings,
                          "diagnostics": [d.as_json() for d in diagnostics]})
    else:
        report(console, diagnostics)
        console.line(f"{errors} error(s), {warnings} warning(s)")
    return ExitCode.FAILED if has_errors(diagnostics) else ExitCode.OK
