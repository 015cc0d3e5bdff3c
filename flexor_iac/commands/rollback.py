"""`flexor rollback`: put one agent back to a retained version, with a plan first, and hold it.

Only the stack is needed: the agent and its dependencies are declared again from their state
inputs, the agent from its retained version plus a hold, and the update targets it alone.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.locks import environment_lock
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import FlexorError
from flexor_iac.core.locking import DEFAULT_WAIT
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.deploy import plan as plans
from flexor_iac.deploy import plan_file, recovery, sessions
from flexor_iac.deploy.program import inputs_digest, redeclared, with_dependencies
from flexor_iac.deploy.stacks import DeployedResource
from flexor_iac.project.models import version_key
from flexor_iac.remote.protocol import rollback_target_line
from flexor_iac.resources.agent import HOLD_KEY, VERSION_FIELDS
from flexor_iac.resources.base import RETAINED_KEY


@dataclass(frozen=True)
class RollbackRequest:
    """What the operator asked for."""

    env: Environment
    agent: str
    version: str | None = None
    dry_run: bool = False
    yes: bool = False
    lock_timeout: float = DEFAULT_WAIT  # seconds in line for the environment (0: none)


def choose(retained: list[dict[str, Any]], current: str, wanted: str | None) -> dict[str, Any]:
    """The retained entry to go back to: `wanted`, else the newest version below `current`."""
    versions = sorted((e["version"] for e in retained), key=version_key)
    listing = ", ".join(versions) or "none"
    if wanted is not None:
        found = [e for e in retained if e["version"] == wanted]
        if not found:
            raise FlexorError(f"version {wanted} is not retained (retained: {listing})")
        return found[0]
    older = [e for e in retained if version_key(e["version"]) < version_key(current)]
    if not older:
        raise FlexorError(f"no retained version before {current} (retained: {listing})")
    return max(older, key=lambda e: version_key(e["version"]))


def rolled_back_inputs(agent: DeployedResource, target: dict[str, Any]) -> dict[str, Any]:
    """The agent's inputs at the target version, holding while the file says the bad one."""
    current_hold = agent.inputs.get(HOLD_KEY)
    bad = current_hold["from"] if isinstance(current_hold, dict) else agent.inputs["version"]
    return {"name": agent.name, "environment": agent.inputs["environment"],
            **{field: target[field] for field in VERSION_FIELDS},
            HOLD_KEY: {"version": target["version"], "from": bad}}


def run(paths: ProjectPaths, request: RollbackRequest, console: Console,
        confirm: Callable[[str], bool]) -> int:
    """Roll one agent back in one environment; returns the exit code."""
    lock = nullcontext() if request.dry_run else environment_lock(
        paths, request.env, request.lock_timeout, console.progress)
    with lock:
        return _rollback(paths, request, console, confirm)


def _rollback(paths: ProjectPaths, request: RollbackRequest, console: Console,
              confirm: Callable[[str], bool]) -> int:
    # Never a new control plane: one without keys would let anyone roll back (a mistyped
    # FLEXOR_CONTROL_PLANE), and a clone that deployed nothing has nothing to roll back.
    with ControlPlane.of(paths, create=False) as store:
        gate = Gate(paths.root, store)
        principal = gate.require("rollback --dry-run" if request.dry_run else "rollback",
                                 request.env)
        deployed = sessions.open_stack(paths, request.env).resources()
        agent = next((r for r in deployed if r.kind == "Agent" and r.name == request.agent),
                     None)
        if agent is None:
            raise FlexorError(f"agent {request.agent} is not deployed to {request.env.value}")
        if not request.dry_run:
            gate.require_deploy_roles(principal, [r.name for r in with_dependencies(
                deployed, agent) if r.kind == "VaultTierScope"], request.env)
    target = choose(list(agent.outputs.get(RETAINED_KEY) or []), agent.inputs["version"],
                    request.version)
    overrides = {agent.urn: rolled_back_inputs(agent, target)}
    # A targeted update leaves resources it does not target alone, registered or not: declare
    # only the agent and its dependencies, so a rollback costs the same in any stack size.
    needed = redeclared(with_dependencies(deployed, agent), overrides)
    session = sessions.open_stack(paths, request.env, needed, console.progress)

    def basis() -> plan_file.Basis:
        return plan_file.Basis(request.env.value, session.state_digest(), inputs_digest(needed),
                               {}, (agent.name,))

    shown = basis()
    plan = plans.build_plan(request.env, session.preview([agent.urn]), ())
    plans.render(plan, console)
    if request.dry_run or not plan.has_changes:
        if request.dry_run and plan.has_changes:  # a remote client pins this version
            console.line(rollback_target_line(agent.name, target["version"], request.env.value))
        console.document({**plans.to_json(plan), "applied": False})
        return ExitCode.OK
    if not console.approved(f"Roll {agent.name} back to {target['version']} in "
                            f"{request.env.value}?", request.yes, confirm,
                            f"rolling back in {request.env.value}"):
        console.error("rollback cancelled; nothing was applied")
        return ExitCode.FAILED
    plan_file.check_current(shown, basis(), "rollback")
    with ControlPlane.of(paths, create=False) as store, \
            recovery.journal(store, request.env, targeted=True):
        session.up([agent.urn], message=f"flexor rollback --env {request.env.value}: "
                   f"{agent.name} {agent.inputs['version']} → {target['version']}")
    console.document({**plans.to_json(plan), "applied": True})
    console.line(f"Rolled {agent.name} back to {target['version']} in {request.env.value}; "
                 f"held there while its file says {overrides[agent.urn][HOLD_KEY]['from']}.")
    return ExitCode.OK
