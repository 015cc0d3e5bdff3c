"""Who may do what: environments' protection, API keys and role grants; a group of
ControlPlane's records (SQL only here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flexor_iac.controlplane.records import Records

ALL_VAULTS = "*"


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class StoredKey:
    """An API key as stored: never the secret, only its salted hash."""

    key_id: str
    name: str
    user: str
    scopes: tuple[str, ...]
    hash: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    created_by: str | None = None
    acts_as: str | None = None  # whose roles it acts with, if not its user's (see access.policy)


@dataclass(frozen=True)
class Grant:
    """A role of a user on one vault (`*`: every vault)."""

    user: str
    vault: str
    role: str
    granted_at: datetime
    granted_by: str


_KEY_COLUMNS = ('key_id, name, "user", scopes, hash, created_at, expires_at, revoked_at, '
                "created_by, acts_as")


def _key(row: Any) -> StoredKey:
    return StoredKey(row[0], row[1], row[2], tuple(json.loads(row[3])), row[4],
                     datetime.fromisoformat(row[5]), _time(row[6]), _time(row[7]), row[8],
                     row[9])


class AccessRecords(Records):
    """Methods ControlPlane gains for access control: protection, keys, grants."""

    # --- protection of environments ---------------------------------------------------------

    def record_protection(self, name: str, spec: dict[str, Any], at: datetime, by: str) -> None:
        """Record an environment's protection (key required, managed, windows)."""
        with self._write():
            self._db.execute("INSERT INTO protections VALUES (?, ?, ?, ?) ON CONFLICT "
                             "(environment) DO UPDATE SET spec=excluded.spec, "
                             "recorded_at=excluded.recorded_at, recorded_by=excluded.recorded_by",
                             (name, json.dumps(spec, sort_keys=True), at.isoformat(), by))

    def protection(self, name: str) -> dict[str, Any] | None:
        """An environment's recorded protection, if any."""
        row = self._db.execute("SELECT spec FROM protections WHERE environment=?",
                               (name,)).fetchone()
        return json.loads(row[0]) if row else None

    # --- keys -----------------------------------------------------------------------------

    def add_key(self, key: StoredKey) -> None:
        """Store a new key (its hash)."""
        with self._write():
            self._db.execute(f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                             (key.key_id, key.name, key.user, json.dumps(list(key.scopes)),
                              key.hash, key.created_at.isoformat(),
                              key.expires_at.isoformat() if key.expires_at else None, None,
                              key.created_by, key.acts_as))

    def key(self, key_id: str) -> StoredKey | None:
        """One key by its public id."""
        row = self._db.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_id=?",
                               (key_id,)).fetchone()
        return _key(row) if row else None

    def keys(self) -> list[StoredKey]:
        """Every key, oldest first."""
        rows = self._db.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, "
                                "key_id")
        return [_key(row) for row in rows]

    def unprotected(self, name: str) -> bool:
        """No key was ever created and no protection is recorded for environment `name`: the
        two reads of access control being off, in one statement."""
        row = self._db.execute(
            "SELECT (SELECT 1 FROM api_keys LIMIT 1), (SELECT 1 FROM protections WHERE "
            "environment=?)", (name,)).fetchone()
        return row is not None and row[0] is None and row[1] is None

    def has_keys(self) -> bool:
        """Whether any key was ever created (access control is then configured)."""
        return self._db.execute("SELECT 1 FROM api_keys LIMIT 1").fetchone() is not None

    def revoke_key(self, key_id: str, when: datetime) -> bool:
        """Revoke a key; False when there is no such (unrevoked) key."""
        with self._write():
            cursor = self._db.execute("UPDATE api_keys SET revoked_at=? WHERE key_id=? AND "
                                      "revoked_at IS NULL", (when.isoformat(), key_id))
        return cursor.rowcount == 1

    def prune_exchanged_keys(self, before: datetime) -> int:
        """Forget keys minted for CI jobs' OIDC tokens (made by `trust:<rule>`) that expired
        before `before`: one per job, of no use once expired. Keys people made stay."""
        with self._write():
            cursor = self._db.execute("DELETE FROM api_keys WHERE created_by LIKE 'trust:%' "
                                      "AND expires_at<?", (before.isoformat(),))
        return max(cursor.rowcount, 0)

    # --- grants ---------------------------------------------------------------------------

    def grant(self, grant: Grant) -> None:
        """Give a user a role on a vault (replacing the role it had there)."""
        with self._write():
            self._db.execute('INSERT INTO grants VALUES (?, ?, ?, ?, ?) ON CONFLICT '
                             '("user", vault) DO UPDATE SET role=excluded.role, '
                             "granted_at=excluded.granted_at, granted_by=excluded.granted_by",
                             (grant.user, grant.vault, grant.role, grant.granted_at.isoformat(),
                              grant.granted_by))

    def revoke_grant(self, user: str, vault: str) -> bool:
        """Take a user's role on a vault away; False when there was none."""
        with self._write():
            cursor = self._db.execute('DELETE FROM grants WHERE "user"=? AND vault=?',
                                      (user, vault))
        return cursor.rowcount == 1

    def grants(self, user: str | None = None) -> list[Grant]:
        """Grants (of one user), by user and vault."""
        sql = 'SELECT "user", vault, role, granted_at, granted_by FROM grants'
        rows = (self._db.execute(sql + ' WHERE "user"=? ORDER BY vault', (user,)) if user
                else self._db.execute(sql + ' ORDER BY "user", vault'))
        return [Grant(r[0], r[1], r[2], datetime.fromisoformat(r[3]), r[4]) for r in rows]
