"""`flexor:VaultTierScope` — one per vault in scope: binds a vault snapshot to the environment."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import Resource

from flexor_iac.constants import RESOURCE_MODULE
from flexor_iac.resources.base import FlexorProvider


class VaultTierScopeProvider(FlexorProvider):
    """Binds one vault's snapshot (by digest) to one environment."""

    kind: ClassVar[str] = "vault"


class VaultTierScope(Resource, module=RESOURCE_MODULE, name="VaultTierScope"):
    """A vault in the environment's tier scope."""

    def __init__(self, name: str, props: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(VaultTierScopeProvider(), name, props, opts)
