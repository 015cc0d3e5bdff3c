"""The control plane store: intent-named methods over one database (database.py).

SQL lives only here and in the mixins (runs.py, access.py, catalogs.py, events.py), written once
for SQLite and PostgreSQL. Every write is one transaction; reads return frozen dataclasses.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flexor_iac.controlplane import health
from flexor_iac.controlplane.access import AccessRecords
from flexor_iac.controlplane.catalogs import CatalogRecords
from flexor_iac.controlplane.database import Database, connect
from flexor_iac.controlplane.events import EventRecords
from flexor_iac.controlplane.location import locate as locate  # where commands find it
from flexor_iac.controlplane.migrate import ensure_schema
from flexor_iac.controlplane.runs import RunRecords
from flexor_iac.controlplane.serving import ServeRecords
from flexor_iac.core import clock
from flexor_iac.core.errors import StateError
from flexor_iac.core.workspace import ProjectPaths

# Notes share the `meta` table with the store's identity, under keys of their own.
_NOTE_PREFIX = "note:"


def timestamp() -> str:
    """The current time (core.clock: the one clock, which a test may fix), as stored: UTC,
    ISO 8601, whole seconds."""
    return clock.now().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Snapshot:
    """A published vault snapshot."""

    digest: str
    vault: str
    files: tuple[str, ...]
    created_at: datetime


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


@dataclass(frozen=True)
class Binding:
    """The vault snapshot bound to one environment."""

    environment: str
    vault: str
    digest: str
    bound_at: datetime


class ControlPlane(RunRecords, AccessRecords, CatalogRecords, EventRecords, ServeRecords):
    """The control plane: the embedded SQLite file, or a team's PostgreSQL (database.py)."""

    @classmethod
    def of(cls, paths: ProjectPaths) -> ControlPlane:
        """The project's control plane (see `locate`), opened: the one way a command opens it
        (as a context manager: `with ControlPlane.of(paths) as store`)."""
        return cls(locate(paths.root))

    def __init__(self, where: Path | str) -> None:
        self._db: Database = connect(where)
        try:
            ensure_schema(self._db)
        except BaseException as error:
            self._db.close()
            if isinstance(error, sqlite3.DatabaseError) and health.is_damage(error):
                raise StateError(health.damaged(Path(where), error)) from None
            raise

    @property
    def where(self) -> str:
        """The database file's resolved path, or the team database's URL without password."""
        return self._db.where

    @property
    def database(self) -> Database:
        """The database itself (for moving a whole control plane: controlplane.transfer)."""
        return self._db

    @property
    def dialect(self) -> str:
        """`sqlite` (embedded) or `postgresql` (team mode)."""
        return self._db.dialect

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _write(self) -> AbstractContextManager[None]:
        return self._db.transaction()

    def _one(self, sql: str, *args: Any) -> Any:
        return self._db.execute(sql, args).fetchone()

    @property
    def identity(self) -> str:
        """This database's random identity (made once, with the schema)."""
        return str(self._one("SELECT value FROM meta WHERE key='identity'")[0])

    # --- environments ---------------------------------------------------------------------

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

    # --- notes kept for the deploy pipeline (deploy/recovery.py, deploy/unchanged.py) ------

    def note(self, key: str) -> str | None:
        """A note the deploy pipeline keeps (None: none is)."""
        row = self._one("SELECT value FROM meta WHERE key=?", _NOTE_PREFIX + key)
        return str(row[0]) if row else None

    def set_note(self, key: str, value: str | None) -> None:
        """Keep a note (replacing one under the same key); None removes it."""
        with self._write():
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key=?", (_NOTE_PREFIX + key,))
            else:
                self._db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                                 "SET value=excluded.value", (_NOTE_PREFIX + key, value))

    # --- snapshots and bindings -----------------------------------------------------------

    def publish_snapshot(self, digest: str, vault: str, files: list[str],
                         created_at: str | None = None,
                         content: Mapping[str, bytes] | None = None) -> bool:
        """Make `digest` the vault's newest snapshot, keeping its files' `content` (once per
        digest); False if it already was the newest (a no-op)."""
        with self._write():
            if content is not None and self._one(
                    "SELECT 1 FROM snapshot_files WHERE digest=? LIMIT 1", digest) is None:
                self._db.executemany("INSERT INTO snapshot_files VALUES (?, ?, ?)",
                                     [(digest, name, data) for name, data in content.items()])
            newest = self._one("SELECT digest FROM snapshots WHERE vault=? ORDER BY id DESC "
                               "LIMIT 1", vault)
            if newest is not None and newest[0] == digest:
                return False
            self._db.execute("INSERT INTO snapshots (digest, vault, files, created_at) "
                             "VALUES (?, ?, ?, ?)",
                             (digest, vault, json.dumps(files), created_at or timestamp()))
        return True

    def snapshot_content(self, digest: str) -> dict[str, bytes] | None:
        """A snapshot's files by relative path (None: its content was never stored here —
        snapshots published before schema 7 keep theirs only in the clone that synced them)."""
        rows = self._db.execute("SELECT path, content FROM snapshot_files WHERE digest=? "
                                "ORDER BY path", (digest,)).rows
        return {row[0]: bytes(row[1]) for row in rows} if rows else None

    def has_snapshots(self) -> bool:
        """Whether any snapshot was ever recorded (False: new or lost database)."""
        return self._one("SELECT 1 FROM snapshots LIMIT 1") is not None

    def newest_snapshot(self, vault: str) -> Snapshot | None:
        """The most recently published snapshot of a vault."""
        row = self._one("SELECT digest, vault, files, created_at FROM snapshots WHERE vault=? "
                        "ORDER BY id DESC LIMIT 1", vault)
        return Snapshot(row[0], row[1], tuple(json.loads(row[2])),
                        datetime.fromisoformat(row[3])) if row else None

    def snapshot_time(self, vault: str, digest: str) -> datetime | None:
        """When `digest` was last published as the vault's newest snapshot."""
        row = self._one("SELECT created_at FROM snapshots WHERE vault=? AND digest=? "
                        "ORDER BY id DESC LIMIT 1", vault, digest)
        return datetime.fromisoformat(row[0]) if row else None

    def bind_vault(self, environment: str, vault: str, digest: str, spec: dict[str, Any]) -> None:
        """Bind a snapshot to an environment (replacing any earlier binding)."""
        with self._write():
            self._db.execute("INSERT INTO bindings VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                             "(environment, vault) DO UPDATE SET digest=excluded.digest, "
                             "spec=excluded.spec, bound_at=excluded.bound_at",
                             (environment, vault, digest, json.dumps(spec), timestamp()))

    def unbind_vault(self, environment: str, vault: str) -> None:
        """Remove a vault's binding from an environment."""
        with self._write():
            self._db.execute("DELETE FROM bindings WHERE environment=? AND vault=?",
                             (environment, vault))

    def bindings(self, environment: str) -> list[Binding]:
        """The vault snapshots bound to an environment."""
        rows = self._db.execute("SELECT environment, vault, digest, bound_at FROM bindings "
                                "WHERE environment=? ORDER BY vault", (environment,))
        return [Binding(r[0], r[1], r[2], datetime.fromisoformat(r[3])) for r in rows]

    # --- agents ---------------------------------------------------------------------------

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

    _AGENTS = ("SELECT a.environment, a.name, a.version, a.spec, a.digest, a.activated_at, "
               "COALESCE(s.paused, 0) FROM agents a LEFT JOIN agent_state s ON "
               "s.environment=a.environment AND s.name=a.name WHERE a.environment=? ")

    def active_agents(self, environment: str) -> list[ActiveAgent]:
        """Every agent active in the environment, by name."""
        rows = self._db.execute(self._AGENTS + "ORDER BY a.name", (environment,))
        return [_active_agent(r) for r in rows]

    def active_agent(self, environment: str, name: str) -> ActiveAgent | None:
        """One agent active in the environment, if deployed there."""
        row = self._one(self._AGENTS + "AND a.name=?", environment, name)
        return _active_agent(row) if row else None

    def set_paused(self, environment: str, name: str, paused: bool) -> None:
        """Pause or resume an agent (its triggers do not fire while paused)."""
        with self._write():
            self._db.execute("INSERT INTO agent_state VALUES (?, ?, ?) ON CONFLICT "
                             "(environment, name) DO UPDATE SET paused=excluded.paused",
                             (environment, name, int(paused)))

    def binding_spec(self, environment: str, vault: str) -> dict[str, Any] | None:
        """The bound vault's tier and vault.json values (env: references unresolved)."""
        row = self._one("SELECT spec FROM bindings WHERE environment=? AND vault=?",
                        environment, vault)
        return json.loads(row[0]) if row else None

    def binding_digest(self, environment: str, vault: str) -> str | None:
        """The snapshot digest bound for a vault in the environment, if any."""
        row = self._one("SELECT digest FROM bindings WHERE environment=? AND vault=?",
                        environment, vault)
        return row[0] if row else None


def _active_agent(row: Any) -> ActiveAgent:
    return ActiveAgent(row[0], row[1], row[2], json.loads(row[3]), row[4],
                       datetime.fromisoformat(row[5]), bool(row[6]))
