"""`flexor logs`: an agent's runs, newest first, each with its log lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.runs import LogLine, RunQuery, RunRecord
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths

FOLLOW_INTERVAL_SECONDS = 1.0
STATUS_ALIASES = {"error": "failed"}


@dataclass(frozen=True)
class LogsRequest:
    """Which runs to show."""

    environment: Environment
    agent: str
    status: str | None = None
    limit: int | None = 20
    since: datetime | None = None
    follow: bool = False


def heading(run: RunRecord) -> str:
    """The line that opens a run's section."""
    when = run.trigger_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return (f"== {when}  {run.status:<7}  {run.agent} {run.version}  run {run.run_id}  "
            f"({run.trigger_type}, {run.attempts} attempt(s), {run.duration_ms} ms)")


def _show(console: Console, run: RunRecord, lines: list[LogLine]) -> None:
    console.line(heading(run))
    for line in lines:
        console.line(f"{line.at.strftime('%H:%M:%S')} {line.level:<7} {line.message}")


def _query(request: LogsRequest) -> RunQuery:
    statuses = (STATUS_ALIASES.get(request.status, request.status),) if request.status else ()
    return RunQuery(environment=request.environment.value, agent=request.agent,
                    statuses=statuses, since=request.since, limit=request.limit)


def run(paths: ProjectPaths, request: LogsRequest, console: Console,
        sleep: Callable[[float], None] | None = None) -> int:
    """Print the runs, newest first, with their log lines; with --follow, keep going."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require("logs", request.environment)
        runs = store.runs(_query(request))
        console.document([{**r.audit_entry(), "log": [
            {"at": line.at.isoformat(), "level": line.level, "message": line.message}
            for line in store.run_log(r.run_id)]} for r in runs])
        if not runs and not request.follow:
            console.line(f"No runs of {request.agent} in {request.environment.value}"
                         + (f" with status {request.status}." if request.status else "."))
        for record in runs:
            _show(console, record, store.run_log(record.run_id))
        if request.follow:
            _follow(store, request, console, runs[0] if runs else None, sleep)
    return ExitCode.OK


def _follow(store: ControlPlane, request: LogsRequest, console: Console,
            newest: RunRecord | None, sleep: Callable[[float], None] | None) -> None:
    """Print new runs as they are recorded, until interrupted (Ctrl-C ends it cleanly)."""
    import time

    wait = sleep or time.sleep
    seen = {newest.run_id} if newest else set()
    query = replace(_query(request), limit=None)
    try:
        while True:
            wait(FOLLOW_INTERVAL_SECONDS)
            since = newest.trigger_at if newest else request.since
            fresh = [r for r in store.runs(replace(query, since=since)) if r.run_id not in seen]
            for record in reversed(fresh):
                _show(console, record, store.run_log(record.run_id))
                seen.add(record.run_id)
                newest = record
    except KeyboardInterrupt:
        return
