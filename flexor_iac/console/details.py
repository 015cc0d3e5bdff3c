"""What the console's Agent, Deployments, Requests and Audit pages show, read in process from
the control plane and the Pulumi state's files (never through the engine). Each function
checks the key with the verb's own policy (access/policy.Gate) first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flexor_iac.access import windows
from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.agents import ActiveAgent
from flexor_iac.controlplane.pulumi_files import PulumiFiles
from flexor_iac.controlplane.requests import DeploymentRequest
from flexor_iac.controlplane.runs import LogLine, RunQuery, RunRecord
from flexor_iac.controlplane.serving import ALIVE
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core import clock
from flexor_iac.core.constants import Environment
from flexor_iac.core.errors import PolicyRefusal
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import managed
from flexor_iac.resources.agent import HOLD_KEY
from flexor_iac.resources.base import RETAINED_KEY

AGENT_TYPE = "pulumi-python:dynamic/flexor:Agent"
RUNS_SHOWN = 50


@dataclass(frozen=True)
class Versions:
    """An agent's versions in the stack: the current one, its hold, the retained ones."""

    current: str
    hold: dict[str, Any] | None
    retained: list[dict[str, Any]]


@dataclass(frozen=True)
class AgentPage:
    """One agent of an environment."""

    agent: ActiveAgent
    versions: Versions | None
    runs: list[RunRecord]


@dataclass(frozen=True)
class Deployment:
    """One update of an environment's stack."""

    when: datetime | None
    kind: str
    result: str
    changes: list[str]
    by: list[str]
    request: str


@dataclass(frozen=True)
class RequestView:
    """A deployment request, its plan's changes and when the server applies it."""

    request: DeploymentRequest
    review_ends: datetime
    scheduled: str
    changes: list[str] = field(default_factory=list)


def versions(files: PulumiFiles, env: Environment) -> dict[str, Versions]:
    """Each agent's versions, from the stack's latest checkpoint."""
    found = {}
    for resource in files.checkpoint(env.value).get("resources") or []:
        if resource.get("type") != AGENT_TYPE:
            continue
        inputs, outputs = resource.get("inputs") or {}, resource.get("outputs") or {}
        name = str(inputs.get("name") or resource.get("urn", "").rsplit("::", 1)[-1])
        found[name] = Versions(str(inputs.get("version", "")), inputs.get(HOLD_KEY),
                               list(outputs.get(RETAINED_KEY) or []))
    return found


def agent_page(paths: ProjectPaths, store: ControlPlane, files: PulumiFiles, token: str,
               env: Environment, name: str) -> AgentPage | None:
    """The agent, its versions and its latest runs (None: not deployed to `env`)."""
    Gate(paths.root, store, token).require("logs", env)
    agent = store.active_agent(env.value, name)
    if agent is None:
        return None
    runs = store.runs(RunQuery(environment=env.value, agent=name, limit=RUNS_SHOWN))
    return AgentPage(agent, versions(files, env).get(name), runs)


def run_page(paths: ProjectPaths, store: ControlPlane, token: str, env: Environment,
             run_id: str) -> tuple[RunRecord, list[LogLine]] | None:
    """One run and its log lines."""
    Gate(paths.root, store, token).require("logs", env)
    found = store.runs(RunQuery(environment=env.value, run_id=run_id, limit=1))
    return (found[0], store.run_log(run_id)) if found else None


def _kind(message: str) -> str:
    for verb in ("rollback", "deploy"):
        if message.startswith(f"flexor {verb}"):
            return verb
    return "pulumi up"


def deployments(paths: ProjectPaths, store: ControlPlane, files: PulumiFiles, token: str,
                env: Environment) -> tuple[list[Deployment], dict[str, Versions]]:
    """The stack's updates, newest first (as `flexor history`), and each agent's versions;
    who deployed a change is the `deployed_by` its retained version records."""
    Gate(paths.root, store, token).require("history", env)
    held = versions(files, env)
    found = []
    for entry in files.history(env.value):
        if entry.get("kind") != "update":
            continue
        message = str(entry.get("message") or "")
        head, _, tail = message.partition(": ")
        changes = [part for part in tail.split(", ") if part] if tail else []
        by = sorted({e["deployed_by"] for change in changes
                     for e in _retained(held, change) if e.get("deployed_by")})
        when = datetime.fromtimestamp(int(entry["startTime"]), UTC) \
            if entry.get("startTime") else None
        request = head.split(" --request ", 1)[1] if " --request " in head else ""
        found.append(Deployment(when, _kind(message), str(entry.get("result", "")), changes,
                                by, request))
    return found, held


def _retained(held: dict[str, Versions], change: str) -> list[dict[str, Any]]:
    """The retained entry a change (`feed-check 1.0 → 1.1`) deployed."""
    name, _, rest = change.partition(" ")
    target = rest.rsplit(" ", 1)[-1] if rest else ""
    kept = held.get(name)
    return [e for e in kept.retained if e.get("version") == target] if kept else []


def requests(paths: ProjectPaths, store: ControlPlane, token: str,
             request_id: str | None = None) -> list[RequestView]:
    """Deployment requests, newest first (one with `request_id`), with their plans."""
    gate = Gate(paths.root, store, token)
    gate.require("requests list")
    found = store.requests()
    if request_id is not None:
        found = [r for r in found if r.request_id == request_id]
    configured = managed.configured(gate.protection(Environment.PRODUCTION).windows)
    now = clock.now()
    served = bool(store.live_servers(Environment.PRODUCTION.value, now - ALIVE))
    views = []
    for request in found:
        text = managed.schedule(request, configured, now)
        if request.status == "approved" and not managed.reapprovable(request) and not served:
            text += "; no server serves production now"
        changes = [" ".join(part for part in (
            change["op"], change["kind"], change["resource"],
            " → ".join(v for v in (change["from_version"], change["to_version"]) if v)) if part)
            for change in request.plan["plan"]["changes"]]
        views.append(RequestView(request, managed.review_ends(request), text, changes))
    return views


def decisions(store: ControlPlane, paths: ProjectPaths, token: str,
              request: DeploymentRequest) -> tuple[bool, bool]:
    """Whether to offer approve, and reject: to an admin key whose user did not make the
    request; approve while pending or handed back (stale or refused), reject while pending.
    The verb itself decides again, roles included."""
    principal = Gate(paths.root, store, token).principal()
    if principal is None or "admin" not in principal.scopes \
            or principal.user == request.requested_by:
        return False, False
    pending = request.status == "pending"
    return pending or managed.reapprovable(request), pending


def audit(paths: ProjectPaths, store: ControlPlane, token: str, agent: str | None,
          start: datetime | None, end: datetime | None, env: Environment | None,
          limit: int | None = 200) -> tuple[list[dict[str, Any]], list[str]]:
    """Audit entries (newest first) of the environments the key may read, and those left out."""
    gate = Gate(paths.root, store, token)
    visible, hidden = [], []
    for each in Environment:
        if env is not None and each is not env:
            continue
        try:
            gate.require("audit", each)
            visible.append(each.value)
        except PolicyRefusal:
            hidden.append(each.value)
    query = RunQuery(agent=agent or None, since=start, until=end, limit=limit,
                     audited_only=True, environments=visible)
    return [run.audit_entry() for run in store.runs(query)], hidden


def describe(moment: datetime | None) -> str:
    """A moment as requests show it (`Tue 2026-05-05 22:00 America/New_York`)."""
    return windows.describe(moment) if moment else "—"
