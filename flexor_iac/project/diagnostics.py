"""A problem found in a project file, rendered as `path:line:col: severity: message [rule]`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from flexor_iac.core.output import Console

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One error or warning, located in a file (line and column are 1-based)."""

    path: str
    line: int
    col: int
    severity: Severity
    message: str
    rule: str

    def render(self) -> str:
        """The one-line form every verb prints."""
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message} [{self.rule}]"

    def as_json(self) -> dict[str, Any]:
        """The --json form."""
        return asdict(self)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    """Whether any diagnostic is an error (warnings alone do not fail)."""
    return any(d.severity == "error" for d in diagnostics)


def report(console: Console, diagnostics: list[Diagnostic]) -> None:
    """Print diagnostics as `path:line:col: severity: message [rule]` lines (stderr)."""
    for diagnostic in diagnostics:
        colour = "red" if diagnostic.severity == "error" else "yellow"
        print(console.style(diagnostic.render(), colour), file=console.err, flush=True)
