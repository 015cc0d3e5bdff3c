"""`flexor:EnvironmentBinding` — one per stack: registers the environment."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import Resource

from flexor_iac.constants import RESOURCE_MODULE
from flexor_iac.resources.base import FlexorProvider


class EnvironmentBindingProvider(FlexorProvider):
    """Registers an environment (tier scope, triggers, catalog, isolation)."""

    kind: ClassVar[str] = "environment"


class EnvironmentBinding(Resource, module=RESOURCE_MODULE, name="EnvironmentBinding"):
    """The stack's environment as a resource every other flexor resource depends on."""

    def __init__(self, name: str, props: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(EnvironmentBindingProvider(), name, props, opts)
