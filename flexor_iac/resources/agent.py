"""`flexor:Agent` — one per eligible agent: activates that agent version in the environment."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import Resource

from flexor_iac.constants import RESOURCE_MODULE
from flexor_iac.resources.base import FlexorProvider


class AgentProvider(FlexorProvider):
    """Activates an agent version (spec + resolved skills) in one environment."""

    kind: ClassVar[str] = "agent"


class Agent(Resource, module=RESOURCE_MODULE, name="Agent"):
    """An agent deployed to the stack's environment."""

    def __init__(self, name: str, props: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(AgentProvider(), name, props, opts)
