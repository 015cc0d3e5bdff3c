"""Vault snapshots (with their files) and their bindings to environments: a group of
ControlPlane's records (SQL only here)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flexor_iac.controlplane.records import Records, timestamp


@dataclass(frozen=True)
class Snapshot:
    """A published vault snapshot."""

    digest: str
    vault: str
    files: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class Binding:
    """The vault snapshot bound to one environment."""

    environment: str
    vault: str
    digest: str
    bound_at: datetime


class VaultRecords(Records):
    """Methods ControlPlane gains for snapshots and bindings."""

    # --- snapshots ------------------------------------------------------------------------

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

    # --- bindings -------------------------------------------------------------------------

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
