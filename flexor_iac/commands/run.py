"""`flexor run AGENT --now`: run the deployed version of an agent, with its retry policy."""

from __future__ import annotations

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.runs import RunRecord
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.runtime.executor import Executor, RunRequest


def summary(record: RunRecord) -> list[str]:
    """The lines `run` prints about a finished run."""
    seconds = record.duration_ms / 1000
    lines = [f"Run {record.run_id}: {record.agent} {record.version} in {record.environment}: "
             f"{record.status} ({record.attempts} attempt(s), {seconds:.2f} s)",
             f"  tasks: {', '.join(record.tasks_executed) or 'none'}"]
    for decision in record.decisions:
        outcome = "true" if decision["result"] else "false"
        lines.append(f"  decision {decision['where']}: {decision['condition']} → {outcome}")
    lines += [f"  error: {error}" for error in record.errors]
    lines.append(f"Logs: flexor logs --agent {record.agent} --env {record.environment} --limit 1")
    return lines


def run(paths: ProjectPaths, request: RunRequest, console: Console) -> int:
    """Run one agent now; exit 0 on success, 1 when the run failed or was partial."""
    live = console.verbose or console.err.isatty()
    with ControlPlane.of(paths) as store:
        Gate(paths.root, store).require("run", request.environment)
        # The wait between attempts is always shown: counting down on a terminal, else one line.
        record = Executor(paths, store, echo=console.progress if live else None,
                          countdown=console.countdown).run(request)
    console.document(record.audit_entry())
    for line in summary(record):
        console.line(line)
    return ExitCode.OK if record.status == "success" else ExitCode.FAILED
