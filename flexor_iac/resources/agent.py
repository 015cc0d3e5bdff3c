"""`flexor:Agent` — one per eligible agent: activates that agent version in the environment."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import Resource

from flexor_iac.constants import RESOURCE_MODULE
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.resources.base import FlexorProvider


class AgentProvider(FlexorProvider):
    """Activates an agent version (spec + resolved skills) in one environment."""

    kind: ClassVar[str] = "agent"

    def write(self, store: ControlPlane, props: dict[str, Any]) -> None:
        store.activate_agent(props["environment"], props["name"], props["version"],
                             {"spec": props["spec"], "skills": props["skills"],
                              "vault": props["vault"]}, props["digest"])

    def erase(self, store: ControlPlane, props: dict[str, Any]) -> None:
        store.deactivate_agent(props["environment"], props["name"])

    def holds(self, store: ControlPlane, props: dict[str, Any]) -> bool:
        return bool(store.active_digest(props["environment"], props["name"]) == props["digest"])


class Agent(Resource, module=RESOURCE_MODULE, name="Agent"):
    """An agent deployed to the stack's environment."""

    def __init__(self, name: str, props: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(AgentProvider(), name, props, opts)
