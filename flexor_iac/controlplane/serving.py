"""What `flexor serve` keeps in the control plane: a group of ControlPlane's records, SQL only here.

* the servers running per environment, with a heartbeat (`status` tells a scheduled agent
  nobody fires from one that is served);
* each schedule's newest tick taken and each environment's newest event taken: every server
  reads them, so a server starting late knows what was missed, and several servers agree on
  what is new (they only ever move forward).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flexor_iac.controlplane.records import Records

# A server whose heartbeat is older than this is taken for stopped (status, db status).
ALIVE = timedelta(seconds=45)


@dataclass(frozen=True)
class ServerRecord:
    """One `flexor serve` process."""

    server_id: str
    environment: str
    host: str
    pid: int
    address: str
    started_at: datetime
    heartbeat_at: datetime


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class ServeRecords(Records):
    """Methods ControlPlane gains for `flexor serve`."""

    # --- servers ----------------------------------------------------------------------------

    def register_server(self, server: ServerRecord) -> None:
        """Record a server as running (or refresh its record)."""
        with self._write():
            self._db.execute(
                "INSERT INTO serve_servers VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (server_id) "
                "DO UPDATE SET heartbeat_at=excluded.heartbeat_at",
                (server.server_id, server.environment, server.host, server.pid, server.address,
                 _stamp(server.started_at), _stamp(server.heartbeat_at)))

    def server_heartbeat(self, server_id: str, at: datetime) -> None:
        """The server is alive at `at`."""
        with self._write():
            self._db.execute("UPDATE serve_servers SET heartbeat_at=? WHERE server_id=?",
                             (_stamp(at), server_id))

    def unregister_server(self, server_id: str) -> None:
        """The server stopped."""
        with self._write():
            self._db.execute("DELETE FROM serve_servers WHERE server_id=?", (server_id,))

    def live_servers(self, environment: str, since: datetime) -> list[ServerRecord]:
        """The environment's servers whose last heartbeat is at or after `since`."""
        rows = self._db.execute(
            "SELECT server_id, environment, host, pid, address, started_at, heartbeat_at FROM "
            "serve_servers WHERE environment=? AND heartbeat_at>=? ORDER BY started_at",
            (environment, _stamp(since)))
        return [ServerRecord(r[0], r[1], r[2], int(r[3]), r[4], datetime.fromisoformat(r[5]),
                             datetime.fromisoformat(r[6])) for r in rows]

    # --- ticks and events taken ---------------------------------------------------------------

    def schedule_ticks(self, environment: str) -> dict[str, datetime]:
        """Each scheduled agent's newest tick taken (fired or skipped), by agent."""
        rows = self._db.execute("SELECT agent, tick FROM schedule_ticks WHERE environment=?",
                                (environment,))
        return {r[0]: datetime.fromisoformat(r[1]) for r in rows}

    def advance_tick(self, environment: str, agent: str, tick: datetime) -> None:
        """Record `tick` as taken, unless a newer one already is."""
        self.advance_ticks(environment, {agent: tick})

    def advance_ticks(self, environment: str, ticks: Mapping[str, datetime]) -> None:
        """Record each agent's tick as taken, unless a newer one already is (one transaction:
        a minute's due ticks are recorded together)."""
        with self._write():
            self._db.executemany(
                "INSERT INTO schedule_ticks VALUES (?, ?, ?) ON CONFLICT (environment, agent) "
                "DO UPDATE SET tick=excluded.tick WHERE schedule_ticks.tick<excluded.tick",
                [(environment, agent, _stamp(tick)) for agent, tick in sorted(ticks.items())])

    def event_cursor(self, environment: str) -> int | None:
        """The newest event id taken in the environment (None: no server ever ran)."""
        row = self._db.execute("SELECT event_id FROM event_cursors WHERE environment=?",
                               (environment,)).fetchone()
        return None if row is None else int(row[0])

    def advance_event_cursor(self, environment: str, event_id: int) -> None:
        """Record every event up to `event_id` as taken, unless later ones already are."""
        with self._write():
            self._db.execute(
                "INSERT INTO event_cursors VALUES (?, ?) ON CONFLICT (environment) DO UPDATE "
                "SET event_id=excluded.event_id WHERE event_cursors.event_id<excluded.event_id",
                (environment, event_id))

    def has_run(self, run_id: str) -> bool:
        """Whether a run with this id is recorded (a job taken over after its server died may
        have finished its run already)."""
        return self._db.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone() \
            is not None
