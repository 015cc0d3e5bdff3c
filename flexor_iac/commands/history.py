"""`flexor history`: the stack's deployments and each agent's retained versions."""

from __future__ import annotations

from tabulate import tabulate

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.moments import utc
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import sessions
from flexor_iac.resources.agent import HOLD_KEY
from flexor_iac.resources.base import RETAINED_KEY


def changed_agents(message: str) -> list[str]:
    """Agent names in a flexor update message (`flexor deploy --env E: a 1.0 → 1.1, b + → 0.1`)."""
    if ": " not in message:
        return []
    return [part.split(" ", 1)[0] for part in message.split(": ", 1)[1].split(", ")]


def _kind(message: str) -> str:
    for verb in ("rollback", "deploy"):
        if message.startswith(f"flexor {verb}"):
            return verb
    return "pulumi up"


def applied_request(message: str) -> str:
    """What an update that applied a deployment request says of it (`R-1 (requested by a,
    approved by b)`), else ""."""
    head = message.split(": ", 1)[0]
    return head.split(" --request ", 1)[1] if " --request " in head else ""


def run(paths: ProjectPaths, env: Environment, agent: str | None, console: Console) -> int:
    """Print the updates (newest first), then the retained versions per agent."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require("history", env)
    session = sessions.open_stack(paths, env)
    updates = [h for h in session.history() if h.kind == "update"
               and (agent is None or agent in changed_agents(h.message))]
    agents = [r for r in session.resources() if r.kind == "Agent"
              and (agent is None or r.name == agent)]
    rows = [{"time": utc(h.start_time), "kind": _kind(h.message), "result": h.result,
             "changes": h.message.split(": ", 1)[1] if ": " in h.message else "",
             "request": applied_request(h.message)} for h in updates]
    versions = [{"agent": r.name, "current": r.inputs["version"], "hold": r.inputs.get(HOLD_KEY),
                 "retained": [{"version": e["version"], "deployed_at": e["deployed_at"],
                               "deployed_by": e["deployed_by"]}
                              for e in r.outputs.get(RETAINED_KEY) or []]} for r in agents]
    console.document({"environment": env.value, "updates": rows, "agents": versions})
    console.line(tabulate([[r["time"], r["kind"], r["result"], r["changes"]] for r in rows],
                          headers=("TIME", "KIND", "RESULT", "AGENTS"), tablefmt="plain",
                          disable_numparse=True) if rows else "No deployments yet.")
    for row in rows:
        if row["request"]:
            console.line(f"{row['time']}: applied request {row['request']}")
    for item in versions:
        hold = item["hold"]
        note = f" (held, rolled back from {hold['from']})" if hold else ""
        retained = ", ".join(e["version"] for e in item["retained"])
        console.line(f"{item['agent']}: {item['current']}{note}; retained: {retained}")
    return ExitCode.OK
