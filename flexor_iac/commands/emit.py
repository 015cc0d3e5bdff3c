"""`flexor plexifact emit`: record a PlexiFact event in an environment and say which deployed
agents' event triggers it matches (`flexor serve` runs them; this verb only records)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flexor_iac.access.policy import Gate
from flexor_iac.controlplane.events import PlexiFactEvent
from flexor_iac.controlplane.records import timestamp
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.actor import local_actor
from flexor_iac.core.constants import Environment, ExitCode
from flexor_iac.core.errors import FlexorError, UsageError
from flexor_iac.core.output import Console
from flexor_iac.core.workspace import ProjectPaths
from flexor_iac.project.models import EVENT_NAME_PATTERN
from flexor_iac.runtime.connection import environment_catalog
from flexor_iac.runtime.events import matches


@dataclass(frozen=True)
class EmitRequest:
    """One event to record: its dotted name, its data (text values) and where it comes from."""

    environment: Environment
    event: str
    data: dict[str, str]
    source: str


def _check(request: EmitRequest) -> None:
    if not re.fullmatch(EVENT_NAME_PATTERN, request.event):
        raise UsageError(f"event {request.event!r}: expected a dotted name such as "
                         "fund.positions.updated (letters, digits and _ between the dots)")
    if not request.source.strip():
        raise UsageError("--source must not be empty")


def run(paths: ProjectPaths, request: EmitRequest, console: Console) -> int:
    """Record the event; print its id and the deployed agents whose triggers it matches."""
    _check(request)
    env = request.environment.value
    with ControlPlane.of(paths) as store:
        principal = Gate(paths.root, store).require("plexifact emit", request.environment)
        if environment_catalog(paths, request.environment, store) is None:
            raise FlexorError(f"{env} has no PlexiFact catalog (set flexor:catalog in "
                              f"Pulumi.{env}.yaml)")
        event = _record(store, request, principal.user if principal else local_actor())
        registered = store.environment(env)
        matching = [agent for agent in store.active_agents(env)
                    if matches(agent.spec["spec"]["trigger"], event)]
    active = [agent.name for agent in matching if not agent.paused]
    paused = [agent.name for agent in matching if agent.paused]
    console.document({"environment": env, "event": event.name, "id": event.id,
                      "source": event.source, "data": event.data, "matching": active,
                      "paused": paused})
    console.line(f"Recorded event {event.name} (#{event.id}) in {env}: "
                 f"{_matches(active, paused)}.")
    if registered is not None and "event" not in (registered.get("triggers") or []):
        console.warning(f"{env} does not fire event triggers: this event runs no agent until "
                        f"flexor:triggers in Pulumi.{env}.yaml includes event")
    return ExitCode.OK


def _record(store: ControlPlane, request: EmitRequest, emitted_by: str) -> PlexiFactEvent:
    env, emitted_at = request.environment.value, timestamp()
    event_id = store.record_event(env, request.event, request.source, request.data, emitted_at,
                                  emitted_by)
    return PlexiFactEvent(event_id, env, request.event, request.source, dict(request.data),
                          datetime.fromisoformat(emitted_at), emitted_by)


def _matches(active: list[str], paused: list[str]) -> str:
    said = (f"{len(active)} deployed agent(s) match: {', '.join(active)}" if active
            else "no deployed agent matches")
    return f"{said} (paused, so not run: {', '.join(paused)})" if paused else said

