"""`flexor audit`: one entry per run (table, JSON or CSV), redacted as recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tabulate import tabulate

from flexor_iac.access.policy import KEY_VARIABLE, Gate
from flexor_iac.controlplane.runs import RunQuery
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import audit_csv
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths

FORMATS = ("table", "json", "csv")
TABLE_HEADERS = ("RUN", "AGENT", "ENVIRONMENT", "TRIGGER", "TRIGGER AT (UTC)", "STATUS",
                 "DURATION MS", "TASKS", "ERRORS")


@dataclass(frozen=True)
class AuditRequest:
    """Which entries, in which format."""

    environment: Environment | None = None
    agent: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None
    limit: int | None = None
    format: str = "table"


def _visible_environments(paths: ProjectPaths, request: AuditRequest, store: ControlPlane,
                          console: Console) -> list[str] | None:
    """With --env: that one (its key rule applies). Without: those the caller may read."""
    gate = Gate(paths.root, store)
    if request.environment is not None:
        gate.require("audit", request.environment)
        return None
    principal = gate.principal()
    readable = principal is not None and principal.may("read")
    hidden = [env.value for env in Environment if gate.required(env) and not readable]
    if hidden:
        console.warning(f"entries of {', '.join(hidden)} are left out: they need an API key "
                        f"with scope read ({KEY_VARIABLE})")
    return [env.value for env in Environment if env.value not in hidden]


def run(paths: ProjectPaths, request: AuditRequest, console: Console) -> int:
    """Print the audit entries matching the request, newest first."""
    with ControlPlane.of(paths, create=False) as store:
        visible = _visible_environments(paths, request, store, console)
        query = RunQuery(environment=request.environment.value if request.environment else None,
                         agent=request.agent,
                         statuses=(request.status,) if request.status else (),
                         since=request.start, until=request.end, limit=request.limit,
                         audited_only=True, environments=visible)
        entries = [run.audit_entry() for run in store.runs(query)]
    if console.json_mode or request.format == "json":
        console.json_mode = True
        console.document(entries)
    elif request.format == "csv":
        audit_csv.write(console.out, entries)
    elif not entries:
        console.line("No audit entries match.")
    else:
        rows = [[e["run_id"][:12], e["agent_name"], e["environment"], e["trigger_type"],
                 e["trigger_at"][:19].replace("T", " "), e["status"], e["duration_ms"],
                 ", ".join(e["tasks_executed"]), len(e["errors"])] for e in entries]
        console.line(tabulate(rows, headers=TABLE_HEADERS, tablefmt="plain",
                              disable_numparse=True))
    return ExitCode.OK
