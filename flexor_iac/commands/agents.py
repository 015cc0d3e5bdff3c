"""`flexor agents list`: the roster of one environment, from the control plane."""

from __future__ import annotations

from tabulate import tabulate

from flexor_iac.constants import Environment, ExitCode
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.output import Console
from flexor_iac.workspace import ProjectPaths

HEADERS = ("NAME", "TRIGGER", "ENVIRONMENT", "STATUS", "VERSION", "LAST RUN")


def run(paths: ProjectPaths, env: Environment, console: Console) -> int:
    """Print one row per agent active in `env` (runs arrive with the runtime issue)."""
    with ControlPlane(locate(paths.root)) as store:
        agents = store.active_agents(env.value)
    rows = []
    for agent in agents:
        spec = agent.spec["spec"]
        rows.append({"name": agent.name, "trigger": spec["trigger"]["type"],
                     "environment": spec["environment"],
                     "status": "paused" if agent.paused else "active",
                     "version": agent.version, "last_run": None})
    console.document({"environment": env.value, "agents": rows})
    if not rows:
        console.line(f"No agents deployed to {env.value}.")
        return ExitCode.OK
    table = [[r["name"], r["trigger"], r["environment"], r["status"], r["version"],
              r["last_run"] or "never"] for r in rows]
    console.line(tabulate(table, headers=HEADERS, tablefmt="plain", disable_numparse=True))
    return ExitCode.OK
