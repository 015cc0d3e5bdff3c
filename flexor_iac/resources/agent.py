"""`flexor:Agent` — one per eligible agent: activates that agent version in the environment."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import Resource

from flexor_iac.controlplane.records import timestamp
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.actor import local_actor
from flexor_iac.core.constants import RESOURCE_MODULE
from flexor_iac.resources.base import APPLIED_KEY, NOT_INPUTS, RETAINED_KEY, FlexorProvider

RETAIN = 3
# Large inputs kept in the outputs only once: inside the current version's retained entry.
CONTENT_FIELDS = ("spec", "skills")
# What a retained version keeps: enough to deploy it again with nothing but the stack.
VERSION_FIELDS = ("version", "vault", "spec", "skills", "digest")
HOLD_KEY = "hold"


def entry(props: dict[str, Any]) -> dict[str, Any]:
    """One retained version: its inputs, when and by whom it was deployed."""
    return {**{k: props[k] for k in VERSION_FIELDS}, "deployed_at": timestamp(),
            "deployed_by": local_actor()}


def hold_applies(olds: dict[str, Any], news: dict[str, Any]) -> bool:
    """Whether `olds` carries a hold from the version `news` (the file) still says."""
    hold = olds.get(HOLD_KEY)
    return (isinstance(hold, dict) and HOLD_KEY not in news
            and news.get("version") == hold.get("from"))


def retain(previous: list[dict[str, Any]], current: dict[str, Any]) -> list[dict[str, Any]]:
    """The last RETAIN distinct versions, oldest first, `current` last."""
    kept = [e for e in previous if e["version"] != current["version"]]
    return [*kept, current][-RETAIN:]


class AgentProvider(FlexorProvider):
    """Activates an agent version (spec + resolved skills) in one environment."""

    kind: ClassVar[str] = "agent"

    def write(self, store: ControlPlane, props: dict[str, Any]) -> None:
        store.activate_agent(props["environment"], props["name"], props["version"],
                             {"spec": props["spec"], "skills": props["skills"],
                              "vault": props["vault"]}, props["digest"])

    def erase(self, store: ControlPlane, props: dict[str, Any]) -> None:
        store.deactivate_agent(props["environment"], props["name"])

    def vaults(self, props: dict[str, Any]) -> tuple[str, ...]:
        """The agent's vault and the vaults of its skills."""
        skills = self.comparable(props).get("skills") or {}
        found = {props.get("vault")} | {s.get("vault") for s in skills.values()}
        return tuple(sorted(str(v) for v in found if v))

    def holds(self, store: ControlPlane, props: dict[str, Any]) -> bool:
        """The control plane runs this very version: same version number, same content."""
        active = store.active_agent(props["environment"], props["name"])
        return active is not None and (active.version, active.digest) == (
            props["version"], props["digest"])

    def held(self, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """A rollback hold stays while the file still says the version rolled back from."""
        return hold_applies(olds, news) and olds.get(APPLIED_KEY) is not False

    def comparable(self, olds: dict[str, Any]) -> dict[str, Any]:
        """Put the current version's spec and skills back from its retained entry."""
        retained = olds.get(RETAINED_KEY) or []
        if "spec" in olds or not retained:
            return olds
        return {**olds, **{k: retained[-1][k] for k in CONTENT_FIELDS}}

    def effective(self, olds: dict[str, Any] | None, news: dict[str, Any]) -> dict[str, Any]:
        """Under a hold, a repair (after refresh) re-applies the held version, not the file's."""
        if olds is not None and hold_applies(olds, news):
            return {k: v for k, v in self.comparable(olds).items() if k not in NOT_INPUTS}
        return news

    def outputs(self, olds: dict[str, Any] | None, news: dict[str, Any]) -> dict[str, Any]:
        """Small fields, plus the retained versions (the current one carries spec and skills)."""
        previous = list((olds or {}).get(RETAINED_KEY) or [])
        small = {k: v for k, v in news.items() if k not in CONTENT_FIELDS}
        return {**small, APPLIED_KEY: True, RETAINED_KEY: retain(previous, entry(news))}


class Agent(Resource, module=RESOURCE_MODULE, name="Agent"):
    """An agent deployed to the stack's environment."""

    def __init__(self, name: str, props: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(AgentProvider(), name, props, opts)
