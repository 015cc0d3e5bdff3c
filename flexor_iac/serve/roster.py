"""The deployed agents one server fires, as the control plane has them now.

A server reads the roster again every few seconds, so a deploy or rollback (new, changed and
removed agents, a held version) and a pause or resume are picked up without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cronsim import CronSimError

from flexor_iac.controlplane.agents import ActiveAgent
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.project.addresses import default_webhook_path
from flexor_iac.serve.schedule import Schedule

FIRED = ("schedule", "webhook", "event")  # the trigger types a server fires


def webhook_path(agent: ActiveAgent) -> str:
    """Where the agent's webhook listens: `trigger.path`, or `/hooks/<agent>`."""
    path = trigger_of(agent).get("path") or default_webhook_path(agent.name)
    return "/" + str(path).lstrip("/")


def trigger_of(agent: ActiveAgent) -> dict[str, Any]:
    """The deployed spec's trigger."""
    trigger: dict[str, Any] = agent.spec["spec"]["trigger"]
    return trigger


@dataclass(frozen=True)
class Roster:
    """An environment's deployed agents and the trigger types it enables."""

    environment: str
    agents: dict[str, ActiveAgent] = field(default_factory=dict)
    enabled: frozenset[str] = frozenset()
    schedules: dict[str, Schedule] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)  # webhook path -> agent

    @classmethod
    def read(cls, store: ControlPlane, environment: str) -> Roster:
        """The roster as the control plane has it now."""
        agents = {agent.name: agent for agent in store.active_agents(environment)}
        enabled = frozenset((store.environment(environment) or {}).get("triggers") or ())
        schedules, paths = {}, {}
        for agent in agents.values():
            trigger = trigger_of(agent)
            if trigger.get("type") == "schedule" and trigger.get("cron"):
                try:
                    schedules[agent.name] = Schedule(trigger["cron"],
                                                     trigger.get("timezone") or "UTC")
                except (CronSimError, ValueError, KeyError):
                    continue  # validate refuses these; a deployed one is never fired
            elif trigger.get("type") == "webhook":
                paths[webhook_path(agent)] = agent.name
        return cls(environment, agents, enabled, schedules, paths)

    def fires(self, agent: ActiveAgent) -> bool:
        """Whether the agent's own trigger fires now: enabled here, and not paused."""
        return trigger_of(agent).get("type") in self.enabled and not agent.paused

    def digest(self) -> tuple[tuple[str, str, bool, datetime], ...]:
        """What, when it changes, is worth saying (versions, pauses, activations)."""
        return tuple((a.name, a.version, a.paused, a.activated_at)
                     for a in self.agents.values())
