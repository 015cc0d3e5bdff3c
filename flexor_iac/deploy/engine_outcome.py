"""How a Pulumi CLI call ended, read back from the Automation API's CommandError, which keeps
only its text (`\n code: N\n stdout: …\n stderr: …`): a killed engine has a negative code and
often nothing on stderr, and must not be reported as an empty `stderr:`."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class EngineOutcome:
    """How the CLI ended: its exit code (negative: the signal that killed it) and output."""

    code: int | None
    stdout: str
    stderr: str

    @classmethod
    def of(cls, text: str) -> EngineOutcome:
        """The outcome in the text of a CommandError."""
        found = re.match(r"\s*code: (-?\d+)\n stdout: ", text)
        if found is None:
            return cls(None, "", text)
        stdout, _sep, stderr = text[found.end():].rpartition("\n stderr: ")
        return cls(int(found.group(1)), stdout, stderr)

    @property
    def signal(self) -> int | None:
        """The signal that ended the CLI (a negative exit code), if one did."""
        return -self.code if self.code is not None and self.code < 0 else None

    def last_line(self) -> str:
        """The last line the CLI said (stderr first), else its exit code."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines:
                return lines[-1]
        return f"exit code {self.code}" if self.code is not None else "unknown error"

    def killed(self, env: str, doing: str | None, changes: bool) -> str:
        """A killed engine said as such, with the way on: what a killed update left, the next
        deploy recovers (docs/decisions/013); anything else changed nothing."""
        during = f"during the {doing} of {env}" if doing else f"on {env}"
        way_on = (f"the next `flexor deploy --env {env}` recovers what it left "
                  "(docs/decisions/013)") if changes else "it changed nothing: run it again"
        return f"the Pulumi engine was killed (signal {self.signal}) {during}; {way_on}"
