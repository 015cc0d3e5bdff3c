"""`flexor history`: the stack's deployments and each agent's retained versions."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.pulumi_files import PulumiFiles, Unreadable
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.moments import utc
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import sessions
from flexor_iac.deploy.state_records import (
    DeployedResource,
    HistoryEntry,
    flexor_resources,
    hide_secrets,
    history_entry,
)
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


def _read(paths: ProjectPaths, env: Environment, limit: int
          ) -> tuple[list[HistoryEntry], list[DeployedResource]]:
    """The stack's newest `limit` operations and its flexor resources: from the state's files
    where they can be read (no engine process, nothing decrypted), else asked of the engine."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require("history", env)
        if (files := PulumiFiles.of(paths, store)) is not None:
            try:
                return ([history_entry(raw) for raw in files.history(env.value, limit)],
                        flexor_resources(files.checkpoint(env.value)))
            except Unreadable:
                pass  # zstd-compressed state: the engine reads it
    session = sessions.open_stack(paths, env)
    return session.history(limit), session.resources()


def _versions(agent: DeployedResource) -> dict[str, Any]:
    """An agent's current version, hold and retained versions; a secret (which flexor's
    providers never make) shows as `[secret]`, on either path, and is never decrypted here."""
    inputs, outputs = hide_secrets(agent.inputs), hide_secrets(agent.outputs)
    retained = outputs.get(RETAINED_KEY)
    return {"agent": agent.name, "current": inputs["version"], "hold": inputs.get(HOLD_KEY),
            "retained": [{"version": e["version"], "deployed_at": e["deployed_at"],
                          "deployed_by": e["deployed_by"]}
                         for e in (retained if isinstance(retained, list) else [])]}


def run(paths: ProjectPaths, env: Environment, agent: str | None, console: Console,
        limit: int = 50) -> int:
    """Print the updates among the newest `limit` operations (newest first), then the
    retained versions per agent. A secret value in the state shows as `[secret]`."""
    entries, resources = _read(paths, env, limit)
    updates = [h for h in entries if h.kind == "update"
               and (agent is None or agent in changed_agents(h.message))]
    agents = [r for r in resources if r.kind == "Agent" and (agent is None or r.name == agent)]
    rows = [{"time": utc(h.start_time), "kind": _kind(h.message), "result": h.result,
             "changes": h.message.split(": ", 1)[1] if ": " in h.message else "",
             "request": applied_request(h.message)} for h in updates]
    versions = [_versions(r) for r in agents]
    console.document({"environment": env.value, "updates": rows, "agents": versions})
    console.line(tabulate([[r["time"], r["kind"], r["result"], r["changes"]] for r in rows],
                          headers=("TIME", "KIND", "RESULT", "AGENTS"), tablefmt="plain",
                          disable_numparse=True) if rows else
                 f"No deployments among the newest {limit} operations (see --limit)."
                 if len(entries) >= limit else "No deployments yet.")
    for row in rows:
        if row["request"]:
            console.line(f"{row['time']}: applied request {row['request']}")
    for item in versions:
        hold = item["hold"]
        note = f" (held, rolled back from {hold['from']})" if isinstance(hold, dict) else \
            " (held)" if hold else ""
        retained = ", ".join(e["version"] for e in item["retained"])
        console.line(f"{item['agent']}: {item['current']}{note}; retained: {retained}")
    return ExitCode.OK
