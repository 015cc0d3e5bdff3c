"""The agents active in each environment, and whether each is paused: a group of
ControlPlane's records (SQL only here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flexor_iac.controlplane.records import Records, timestamp


@dataclass(frozen=True)
class ActiveAgent:
    """The agent version active in one environment."""

    environment: str
    name: str
    version: str
    spec: dict[str, Any]
    digest: str
    activated_at: datetime
    paused: bool


_AGENTS = ("SELECT a.environment, a.name, a.version, a.spec, a.digest, a.activated_at, "
           "COALESCE(s.paused, 0) FROM agents a LEFT JOIN agent_state s ON "
           "s.environment=a.environment AND s.name=a.name WHERE a.environment=? ")


def _active_agent(row: Any) -> ActiveAgent:
    return ActiveAgent(row[0], row[1], row[2], json.loads(row[3]), row[4],
                       datetime.fromisoformat(row[5]), bool(row[6]))


class AgentRecords(Records):
    """Methods ControlPlane gains for deployed agents."""

    def activate_agent(self, environment: str, name: str, version: str, spec: dict[str, Any],
                       digest: str) -> None:
        """Make this agent version the active one in the environment."""
        with self._write():
            self._db.execute("INSERT INTO agents VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                             "(environment, name) DO UPDATE SET version=excluded.version, "
                             "spec=excluded.spec, digest=excluded.digest, "
                             "activated_at=excluded.activated_at",
                             (environment, name, version, json.dumps(spec), digest, timestamp()))

    def deactivate_agent(self, environment: str, name: str) -> None:
        """Remove an agent from the environment."""
        with self._write():
            self._db.execute("DELETE FROM agents WHERE environment=? AND name=?",
                             (environment, name))

    def active_agents(self, environment: str) -> list[ActiveAgent]:
        """Every agent active in the environment, by name."""
        rows = self._db.execute(_AGENTS + "ORDER BY a.name", (environment,))
        return [_active_agent(r) for r in rows]

    def active_agent(self, environment: str, name: str) -> ActiveAgent | None:
        """One agent active in the environment, if deployed there."""
        row = self._one(_AGENTS + "AND a.name=?", environment, name)
        return _active_agent(row) if row else None

    def set_paused(self, environment: str, name: str, paused: bool) -> None:
        """Pause or resume an agent (its triggers do not fire while paused)."""
        with self._write():
            self._db.execute("INSERT INTO agent_state VALUES (?, ?, ?) ON CONFLICT "
                             "(environment, name) DO UPDATE SET paused=excluded.paused",
                             (environment, name, int(paused)))
