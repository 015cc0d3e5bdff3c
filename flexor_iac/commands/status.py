"""`flexor status`: the vendor's five-line health summary of one environment, from the real
state, and a sixth line: the environment's most recent run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cronsim import CronSimError

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.agents import ActiveAgent
from flexor_iac.controlplane.location import redacted
from flexor_iac.controlplane.pulumi_files import PulumiFiles
from flexor_iac.controlplane.runs import RunRecord, agent_state
from flexor_iac.controlplane.serving import ALIVE, ServerRecord
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.moments import utc
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.snapshots import local_digest
from flexor_iac.project.loading import load_project
from flexor_iac.runtime.connection import health
from flexor_iac.serve.roster import FIRED, trigger_of
from flexor_iac.serve.schedule import Schedule


@dataclass(frozen=True)
class Status:
    """The values `status` prints."""

    environment: Environment
    active: int
    paused: int
    erroring: int
    last_deployment: datetime | None
    vault_sync: datetime | None
    vault_sync_state: str
    plexifact: str
    last_run: RunRecord | None = None
    unserved: int = 0  # would be active, but their trigger fires only under `flexor serve`
    servers: list[ServerRecord] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)


def _vault_sync(paths: ProjectPaths, env: Environment, store: ControlPlane
                ) -> tuple[datetime | None, str]:
    """When the bound snapshots were synced, and whether they equal the local vault content."""
    bindings = store.bindings(env.value)
    if not bindings:
        return None, "never"
    project, _diagnostics = load_project(paths.root)
    local = {v.config.name: local_digest(paths, v) for v in project.vaults}
    times = [store.snapshot_time(b.vault, b.digest) for b in bindings]
    current = all(local.get(b.vault) == b.digest for b in bindings)
    return max((t for t in times if t), default=None), "current" if current else "stale"


def _schedules(agents: list[ActiveAgent], ticks: dict[str, datetime], now: datetime
               ) -> list[dict[str, Any]]:
    """Each scheduled agent's last tick taken and next fire time (status --json)."""
    found = []
    for agent in agents:
        trigger = trigger_of(agent)
        if trigger.get("type") != "schedule" or not trigger.get("cron"):
            continue
        last = ticks.get(agent.name)
        zone = trigger.get("timezone") or "UTC"
        try:
            upcoming = Schedule(trigger["cron"], zone).next_after(max(now, last or now))
        except (CronSimError, ValueError, KeyError):
            continue  # validate refuses such a schedule; one deployed never fires

        found.append({"agent": agent.name, "cron": trigger["cron"], "timezone": zone,
                      "last_tick": last.isoformat() if last else None,
                      "next_fire": upcoming.isoformat()})
    return found


def _last_deployment(paths: ProjectPaths, env: Environment, store: ControlPlane
                     ) -> datetime | None:
    """When the newest successful update ended: read from the state's history files where they
    can be (no engine process, nothing decrypted), else asked of the engine."""
    if (files := PulumiFiles.of(paths, store)) is not None:
        entry = files.last_update(env.value)
        moment = entry and (entry.get("endTime") or entry.get("startTime"))
        return datetime.fromtimestamp(int(moment), UTC) if moment else None
    from flexor_iac.deploy import sessions  # the engine's SDK: 0.15 s to import

    history = sessions.open_stack(paths, env).history()
    deployments = [h for h in history if h.kind == "update" and h.result == "succeeded"]
    return (deployments[0].end_time or deployments[0].start_time) if deployments else None


def collect(paths: ProjectPaths, env: Environment) -> Status:
    """Read the control plane and the stack's newest update for one environment."""
    now = clock.now()
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require("status", env)
        agents = store.active_agents(env.value)
        latest = store.latest_runs(env.value)
        synced, sync_state = _vault_sync(paths, env, store)
        plexifact = health(paths, env, store)
        servers = store.live_servers(env.value, now - ALIVE)
        enabled = set((store.environment(env.value) or {}).get("triggers") or ())
        schedules = _schedules(agents, store.schedule_ticks(env.value), now)
        last = _last_deployment(paths, env, store)
    states = [agent_state(a.paused, latest.get(a.name)) for a in agents]
    if not servers:  # an agent only `flexor serve` fires is not active while none runs
        states = ["unserved" if state == "active" and trigger_of(a).get("type") in FIRED
                  and trigger_of(a).get("type") in enabled else state
                  for a, state in zip(agents, states, strict=True)]
    newest = max(latest.values(), key=lambda r: r.trigger_at, default=None)
    return Status(env, states.count("active"), states.count("paused"), states.count("erroring"),
                  last, synced, sync_state, plexifact, newest, states.count("unserved"),
                  servers, schedules)


def agents_line(status: Status) -> str:
    """`Agents: 1 active, 0 paused, 0 erroring` (`, 2 not served (no flexor serve running)`
    when agents wait for a server)."""
    line = f"Agents: {status.active} active, {status.paused} paused, {status.erroring} erroring"
    if status.unserved:
        line += (f", {status.unserved} not served (no `flexor serve --env "
                 f"{status.environment.value}` running)")
    return line


def _last_run(run: RunRecord | None) -> str:
    """`feed-check 1.0: success, 2026-04-30 14:40 UTC`, or `never`."""
    if run is None:
        return "never"
    return f"{run.agent} {run.version}: {run.status}, {utc(run.trigger_at)}"


def run(paths: ProjectPaths, env: Environment, console: Console) -> int:
    """Print the status of `env`."""
    status = collect(paths, env)
    console.debug(f"control plane: {redacted(str(locate(paths.root)))}")
    sync = "never" if status.vault_sync is None else \
        f"{utc(status.vault_sync)} ({status.vault_sync_state})"
    console.document({
        "environment": env.value,
        "agents": {"active": status.active, "paused": status.paused,
                   "erroring": status.erroring, "unserved": status.unserved},
        "servers": [{"host": s.host, "pid": s.pid, "address": s.address,
                     "started_at": s.started_at.isoformat(),
                     "heartbeat_at": s.heartbeat_at.isoformat()} for s in status.servers],
        "schedules": status.schedules,
        "last_deployment": status.last_deployment.isoformat() if status.last_deployment else None,
        "vault_sync": status.vault_sync.isoformat() if status.vault_sync else None,
        "vault_sync_state": status.vault_sync_state,
        "plexifact_connection": status.plexifact,
        "last_run": None if status.last_run is None else {
            "run_id": status.last_run.run_id, "agent": status.last_run.agent,
            "version": status.last_run.version, "status": status.last_run.status,
            "trigger_at": status.last_run.trigger_at.isoformat()},
    })
    console.line(f"Environment: {env.value}")
    console.line(agents_line(status))
    console.line(f"Last deployment: {utc(status.last_deployment)}")
    console.line(f"Vault sync: {sync}")
    console.line(f"PlexiFact connection: {status.plexifact}")
    console.line(f"Last run: {_last_run(status.last_run)}")
    return ExitCode.OK
