"""An environment's protection: whether its verbs need a key, whether it is PLEXI-managed, and
its maintenance windows.

The stack file declares it. Once access control is on (a key exists), the control plane also
records it, and the stricter of the two applies: editing `Pulumi.<env>.yaml` alone never lowers
it. Lowering takes an admin key, on a deploy, which then records the lower protection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flexor_iac.core.constants import Environment
from flexor_iac.project.models import FlexorStackSettings

CTO_TIER = "full-stack-cto"


def is_managed(settings: FlexorStackSettings | None) -> bool:
    """Managed and not self-service (the Full Stack CTO tier deploys itself)."""
    return bool(settings and settings.managed and settings.engagementTier != CTO_TIER)


@dataclass(frozen=True)
class Protection:
    """What guards one environment."""

    require_api_key: bool
    managed: bool
    windows: tuple[dict[str, Any], ...] = ()

    @classmethod
    def declared(cls, settings: FlexorStackSettings | None, env: Environment) -> Protection:
        """As the stack file says (a key is required in production unless it says otherwise)."""
        setting = settings.requireApiKey if settings else None
        windows = settings.maintenanceWindows if settings else None
        return cls(env is Environment.PRODUCTION if setting is None else setting,
                   is_managed(settings),
                   tuple(w.model_dump(mode="json") for w in windows or ()))

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> Protection:
        """As the control plane records it."""
        return cls(bool(spec.get("require_api_key")), bool(spec.get("managed")),
                   tuple(spec.get("windows") or ()))

    def to_json(self) -> dict[str, Any]:
        """For the control plane and the EnvironmentBinding's inputs."""
        return {"require_api_key": self.require_api_key, "managed": self.managed,
                "windows": list(self.windows)}

    def lowered_by(self, declared: Protection) -> list[str]:
        """What `declared` would take away from this (recorded) protection."""
        lowered = []
        if self.require_api_key and not declared.require_api_key:
            lowered.append("flexor:requireApiKey")
        if self.managed and not declared.managed:
            lowered.append("flexor:managed")
        if self.managed and declared.managed and self.windows != declared.windows:
            lowered.append("flexor:maintenanceWindows")
        return lowered

    def with_(self, declared: Protection) -> Protection:
        """The stricter of this (recorded) protection and `declared`."""
        return Protection(self.require_api_key or declared.require_api_key,
                          self.managed or declared.managed,
                          self.windows if self.managed else declared.windows)
