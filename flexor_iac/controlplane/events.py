"""PlexiFact events, recorded: a group of ControlPlane's records, SQL only here.

Ids only grow (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so a reader that remembers
the last id it handled reads each later event exactly once, in the order it was recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flexor_iac.controlplane.records import Records


@dataclass(frozen=True)
class PlexiFactEvent:
    """One recorded event: `name` (dotted) from `source`, with its data."""

    id: int
    environment: str
    name: str
    source: str
    data: dict[str, Any]
    emitted_at: datetime
    emitted_by: str


class EventRecords(Records):
    """Methods ControlPlane gains for PlexiFact events."""

    def record_event(self, environment: str, name: str, source: str, data: dict[str, Any],
                     emitted_at: str, emitted_by: str) -> int:
        """Record one event (`emitted_at` as records.timestamp() makes it); its new id."""
        with self._write():
            row = self._db.execute(
                "INSERT INTO plexifact_events (environment, name, source, data, emitted_at, "
                "emitted_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (environment, name, source, json.dumps(data), emitted_at, emitted_by)).fetchone()
        return int(row[0])

    def events_after(self, environment: str, after: int, limit: int) -> list[PlexiFactEvent]:
        """The environment's events with an id above `after`, oldest first, at most `limit`."""
        rows = self._db.execute("SELECT id, environment, name, source, data, emitted_at, "
                                "emitted_by FROM plexifact_events WHERE environment=? AND id>? "
                                f"ORDER BY id LIMIT {int(limit)}", (environment, after))
        return [PlexiFactEvent(row[0], row[1], row[2], row[3], json.loads(row[4]),
                               datetime.fromisoformat(row[5]), row[6]) for row in rows]

    def newest_event(self, environment: str) -> int:
        """The id of the environment's newest event (0: none yet)."""
        row = self._db.execute("SELECT max(id) FROM plexifact_events WHERE environment=?",
                               (environment,)).fetchone()
        return int(row[0] or 0)
