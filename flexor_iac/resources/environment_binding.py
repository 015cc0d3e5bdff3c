"""`flexor:EnvironmentBinding` — one per stack: registers the environment in the control plane."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import DiffResult, Resource

from flexor_iac.controlplane.health import identity_at
from flexor_iac.controlplane.store import ControlPlane, locate
from flexor_iac.core import clock
from flexor_iac.core.actor import local_actor
from flexor_iac.core.constants import RESOURCE_MODULE
from flexor_iac.resources.base import FlexorProvider
from flexor_iac.resources.guard import CONTROL_PLANE_KEY


def _spec(props: dict[str, Any]) -> dict[str, Any]:
    return {k: props.get(k) for k in ("tier_scope", "triggers", "catalog", "isolation")}


class EnvironmentBindingProvider(FlexorProvider):
    """Registers an environment (tier scope, triggers, catalog, isolation)."""

    kind: ClassVar[str] = "environment"

    def write(self, store: ControlPlane, props: dict[str, Any]) -> None:
        store.register_environment(props["name"], _spec(props))
        if props.get("protection") is not None and store.has_keys():
            # authorized (the guard refused a lowering without an admin key): record it
            store.record_protection(props["name"], props["protection"], clock.now(),
                                    local_actor())

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Also a change when the stack was applied to another control plane than the one
        deploying now: the update is then refused (guard.check_plane), and since every other
        resource depends on the binding, nothing is created there either."""
        found = super().diff(id_, olds, news)
        recorded = olds.get(CONTROL_PLANE_KEY)
        if not found.changes and isinstance(recorded, dict) \
                and identity_at(locate()) != recorded.get("id"):
            return DiffResult(changes=True)
        return found

    def erase(self, store: ControlPlane, props: dict[str, Any]) -> None:
        store.forget_environment(props["name"])

    def holds(self, store: ControlPlane, props: dict[str, Any]) -> bool:
        return store.environment(props["name"]) == _spec(props)


class EnvironmentBinding(Resource, module=RESOURCE_MODULE, name="EnvironmentBinding"):
    """The stack's environment as a resource every other flexor resource depends on."""

    def __init__(self, name: str, props: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(EnvironmentBindingProvider(), name, props, opts)
