"""Registered environments: a group of ControlPlane's records (SQL only here)."""

from __future__ import annotations

import json
from typing import Any

from flexor_iac.controlplane.records import Records, timestamp


class EnvironmentRecords(Records):
    """Methods ControlPlane gains for environments' registrations."""

    def register_environment(self, name: str, spec: dict[str, Any]) -> None:
        """Create or update an environment's registration."""
        with self._write():
            self._db.execute("INSERT INTO environments VALUES (?, ?, ?) ON CONFLICT(name) DO "
                             "UPDATE SET spec=excluded.spec", (name, json.dumps(spec), timestamp()))

    def forget_environment(self, name: str) -> None:
        """Remove an environment's registration."""
        with self._write():
            self._db.execute("DELETE FROM environments WHERE name=?", (name,))

    def environment(self, name: str) -> dict[str, Any] | None:
        """An environment's registered spec, if any."""
        row = self._one("SELECT spec FROM environments WHERE name=?", name)
        return json.loads(row[0]) if row else None
