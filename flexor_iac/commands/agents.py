"""`flexor agents list`: the roster of one environment, from the control plane."""

from __future__ import annotations

from tabulate import tabulate

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.runs import RunRecord, agent_state
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.moments import utc
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths

HEADERS = ("NAME", "TRIGGER", "ENVIRONMENT", "STATUS", "VERSION", "LAST RUN")


def _last_run(run: RunRecord | None) -> str:
    return f"{utc(run.trigger_at)} ({run.status})" if run else "never"


def run(paths: ProjectPaths, env: Environment, console: Console) -> int:
    """Print one row per agent active in `env`: its state and its most recent run."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require("agents list", env)
        agents = store.active_agents(env.value)
        latest = store.latest_runs(env.value)
    rows = []
    for agent in agents:
        spec = agent.spec["spec"]
        last = latest.get(agent.name)
        rows.append({"name": agent.name, "trigger": spec["trigger"]["type"],
                     "environment": spec["environment"], "status": agent_state(agent.paused, last),
                     "version": agent.version,
                     "last_run": last.trigger_at.isoformat() if last else None,
                     "last_run_status": last.status if last else None})
    console.document({"environment": env.value, "agents": rows})
    if not rows:
        console.line(f"No agents deployed to {env.value}.")
        return ExitCode.OK
    table = [[r["name"], r["trigger"], r["environment"], r["status"], r["version"],
              _last_run(latest.get(r["name"]))] for r in rows]
    console.line(tabulate(table, headers=HEADERS, tablefmt="plain", disable_numparse=True))
    return ExitCode.OK
