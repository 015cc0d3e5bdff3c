"""Updates write the stack's state once, at the end — and what makes that safe.

flexor runs the engine with PULUMI_SKIP_CHECKPOINTS (engine_workspace.engine_env): an update
of N resources writes the state file once instead of N times. A killed update then leaves the
state as it was *before* the whole update while the control plane already runs part of it.
Every provider operation is an idempotent upsert keyed by the resource's identity, so the
next update converges once it knows what the control plane runs. That is this module:

* `journal` wraps every update: the control plane records the update before the engine
  starts and forgets it only when the update ended and everything it applied is in the
  state. A record still there means the last update was cut off.
* the update after a cut-off one runs with `refresh` (each resource's read finds what the
  control plane really runs, so an agent the killed update changed is applied again even when
  the project's files went back), and a full (untargeted) one then removes from the control
  plane what the stack does not hold (an agent or vault binding the killed update created,
  since removed from the project). A targeted update (`--agent`, rollback) leaves the record
  for the next full one.

See docs/decisions/013-one-checkpoint-per-update.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import Environment
from flexor_iac.core.locking import Holder
from flexor_iac.deploy.stacks import DeployedResource


def _key(env: Environment) -> str:
    return f"update-in-flight/{env.value}"


def interrupted_by(store: ControlPlane, env: Environment) -> str | None:
    """Who ran the environment's last update, when it was cut off (None: it finished)."""
    return store.note(_key(env))


def notice(env: Environment, recorded: str) -> str:
    """The line said when a deploy recovers from a cut-off update."""
    holder = Holder.parse(recorded)
    who = f"`{holder.command}` by {holder.user}@{holder.host}, started {holder.since}" \
        if holder else "by another process"
    return (f"the last update of {env.value} was cut off ({who}); this one refreshes the "
            "stack from the control plane to converge")


@contextmanager
def journal(store: ControlPlane, env: Environment, targeted: bool) -> Iterator[bool]:
    """Record the update around the block; yields whether the previous one was cut off.

    The record is removed only when the block ends normally — and, after a cut-off update,
    only by an untargeted one (which swept the control plane). An engine failure leaves it:
    what a failing provider did may not be in the state.
    """
    cut_off = interrupted_by(store, env) is not None
    store.set_note(_key(env), Holder.me().dump())
    yield cut_off
    if not (cut_off and targeted):
        store.set_note(_key(env), None)


def sweep(store: ControlPlane, env: Environment, held: list[DeployedResource]) -> list[str]:
    """Remove from the control plane the agents and vault bindings of `env` that the stack
    does not hold; returns them as `Kind/name`."""
    agents = {r.name for r in held if r.kind == "Agent"}
    vaults = {r.name for r in held if r.kind == "VaultTierScope"}
    removed = []
    for agent in store.active_agents(env.value):
        if agent.name not in agents:
            store.deactivate_agent(env.value, agent.name)
            removed.append(f"Agent/{agent.name}")
    for binding in store.bindings(env.value):
        if binding.vault not in vaults:
            store.unbind_vault(env.value, binding.vault)
            removed.append(f"VaultTierScope/{binding.vault}")
    return removed
