"""`flexor pause|resume`: an agent's operational state (a paused agent's triggers do not fire)."""

from __future__ import annotations

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import FlexorError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths


def run(paths: ProjectPaths, env: Environment, agent: str, paused: bool,
        console: Console) -> int:
    """Pause (or resume) one deployed agent; saying so when it already was."""
    with ControlPlane.of(paths, create=False) as store:
        Gate(paths.root, store).require("pause" if paused else "resume", env)
        deployed = store.active_agent(env.value, agent)
        if deployed is None:
            raise FlexorError(f"agent {agent} is not deployed to {env} "
                              f"(see `flexor agents list --env {env}`)")
        state = "paused" if paused else "active"
        if deployed.paused == paused:
            message = f"{agent} is already {state} in {env}."
        else:
            store.set_paused(env.value, agent, paused)
            message = f"{agent} {'paused' if paused else 'resumed'} in {env}."
    console.document({"environment": env.value, "agent": agent, "state": state})
    console.line(message)
    return ExitCode.OK
