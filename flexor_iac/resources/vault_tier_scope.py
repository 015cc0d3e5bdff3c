"""`flexor:VaultTierScope` — one per vault in scope: binds a vault snapshot to the environment."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import Resource

from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.constants import RESOURCE_MODULE
from flexor_iac.resources.base import FlexorProvider


class VaultTierScopeProvider(FlexorProvider):
    """Binds one vault's snapshot (by digest) to one environment."""

    kind: ClassVar[str] = "vault"

    def write(self, store: ControlPlane, props: dict[str, Any]) -> None:
        store.bind_vault(props["environment"], props["name"], props["snapshot_digest"],
                         {"tier": props["tier"], "config": props["config"]})

    def erase(self, store: ControlPlane, props: dict[str, Any]) -> None:
        store.unbind_vault(props["environment"], props["name"])

    def vaults(self, props: dict[str, Any]) -> tuple[str, ...]:
        return (props["name"],)

    def holds(self, store: ControlPlane, props: dict[str, Any]) -> bool:
        bound = store.binding_digest(props["environment"], props["name"])
        return bool(bound == props["snapshot_digest"])


class VaultTierScope(Resource, module=RESOURCE_MODULE, name="VaultTierScope"):
    """A vault in the environment's tier scope."""

    def __init__(self, name: str, props: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(VaultTierScopeProvider(), name, props, opts)
