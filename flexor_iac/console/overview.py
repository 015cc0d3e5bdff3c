"""What the console's Environments and Agents pages show, read in process from the control
plane (and the Pulumi state's files, never through the engine): the same values `flexor
status` and `flexor agents list` compute, with the same policy checks (access/policy.Gate)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cronsim import CronSimError

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.agents import ActiveAgent
from flexor_iac.controlplane.locks import team_locks
from flexor_iac.controlplane.pulumi_files import PulumiFiles
from flexor_iac.controlplane.runs import RunRecord, agent_state
from flexor_iac.controlplane.serving import ALIVE, ServerRecord
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.locking import LockState, local_locks
from flexor_iac.core.moments import utc
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy.snapshots import local_digest
from flexor_iac.project.loading import load_project
from flexor_iac.runtime.connection import health
from flexor_iac.serve.roster import FIRED, trigger_of
from flexor_iac.serve.schedule import Schedule

STATES = ("active", "paused", "erroring", "unserved")


@dataclass(frozen=True)
class AgentRow:
    """One agent of an environment, as the Agents page lists it."""

    name: str
    vault: str
    trigger: str
    version: str
    state: str
    last_run: RunRecord | None
    next_fire: datetime | None


@dataclass(frozen=True)
class Overview:
    """One environment on the Environments page (`refused`: the key may not read it)."""

    environment: str
    lines: list[str] = field(default_factory=list)
    servers: list[ServerRecord] = field(default_factory=list)
    refused: str = ""


def deployed(store: ControlPlane) -> list[Environment]:
    """The environments deployed so far."""
    return [env for env in Environment if store.environment(env.value) is not None]


def _next_fire(trigger: dict[str, Any], last: datetime | None, now: datetime) -> datetime | None:
    if trigger.get("type") != "schedule" or not trigger.get("cron"):
        return None
    try:
        return Schedule(trigger["cron"], trigger.get("timezone") or "UTC").next_after(
            max(now, last or now))
    except (CronSimError, ValueError, KeyError):
        return None  # validate refuses such a schedule; one deployed never fires


def agent_rows(store: ControlPlane, env: Environment) -> list[AgentRow]:
    """Every agent deployed to `env`, with its state as `flexor status` counts it (`unserved`:
    its trigger fires only under `flexor serve`, and no server of `env` is alive)."""
    now = clock.now()
    agents = store.active_agents(env.value)
    latest = store.latest_runs(env.value)
    served = bool(store.live_servers(env.value, now - ALIVE))
    enabled = set((store.environment(env.value) or {}).get("triggers") or ())
    ticks = store.schedule_ticks(env.value)
    return [_row(agent, latest.get(agent.name), served, enabled, ticks, now) for agent in agents]


def _row(agent: ActiveAgent, last: RunRecord | None, served: bool, enabled: set[str],
         ticks: dict[str, datetime], now: datetime) -> AgentRow:
    trigger = trigger_of(agent)
    state = agent_state(agent.paused, last)
    if state == "active" and not served and trigger.get("type") in FIRED \
            and trigger.get("type") in enabled:
        state = "unserved"
    return AgentRow(agent.name, str(agent.spec["spec"].get("vault", "")),
                    str(trigger.get("type", "")), agent.version, state, last,
                    None if agent.paused else _next_fire(trigger, ticks.get(agent.name), now))


def last_deployment(files: PulumiFiles, env: Environment) -> datetime | None:
    """When the stack's most recent successful update ended (from the state's history)."""
    for entry in files.history(env.value, limit=20):
        if entry.get("kind") == "update" and entry.get("result") == "succeeded":
            stamp = entry.get("endTime") or entry.get("startTime")
            return datetime.fromtimestamp(int(stamp), UTC) if stamp else None
    return None


def _vault_sync(paths: ProjectPaths, env: Environment, store: ControlPlane) -> str:
    bindings = store.bindings(env.value)
    if not bindings:
        return "never"
    project, _diagnostics = load_project(paths.root)
    local = {v.config.name: local_digest(paths, v) for v in project.vaults}
    times = [t for b in bindings if (t := store.snapshot_time(b.vault, b.digest))]
    current = all(local.get(b.vault) == b.digest for b in bindings)
    return f"{utc(max(times, default=None))} ({'current' if current else 'stale'})"


def overview(paths: ProjectPaths, store: ControlPlane, files: PulumiFiles, token: str,
             env: Environment) -> Overview:
    """The five status lines of `env`, its last run and its live servers."""
    try:
        Gate(paths.root, store, token).require("status", env)
    except PolicyRefusal as refusal:
        return Overview(env.value, refused=str(refusal))
    rows = agent_rows(store, env)
    states = [row.state for row in rows]
    agents = (f"Agents: {states.count('active')} active, {states.count('paused')} paused, "
              f"{states.count('erroring')} erroring")
    if states.count("unserved"):
        agents += f", {states.count('unserved')} not served (no server of {env.value} alive)"
    runs = [row.last_run for row in rows if row.last_run is not None]
    newest = max(runs, key=lambda r: r.trigger_at, default=None)
    lines = [f"Environment: {env.value}", agents,
             f"Last deployment: {utc(last_deployment(files, env))}",
             f"Vault sync: {_vault_sync(paths, env, store)}",
             f"PlexiFact connection: {health(paths, env, store)}",
             "Last run: " + (f"{newest.agent} {newest.version}: {newest.status}, "
                             f"{utc(newest.trigger_at)}" if newest else "never")]
    servers = store.live_servers(env.value, clock.now() - ALIVE)
    return Overview(env.value, lines, servers)


def locks(paths: ProjectPaths, url: str | None) -> list[LockState]:
    """Each environment's operation lock that is held or was left (as `flexor db status`)."""
    return team_locks(url) if url else local_locks(paths)
