"""Whether a control-plane database file is sound, and whose it is (read without opening it
as the store, so nothing is migrated or created)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from flexor_iac.controlplane.location import is_url


def is_damage(error: BaseException) -> bool:
    """Whether SQLite says the database file itself is damaged (not locked, not misused)."""
    return type(error) is sqlite3.DatabaseError


def damaged(path: Path | str, error: BaseException) -> str:
    """The one line for a damaged control plane: which file, and the ways out."""
    return (f"the control plane {path} is damaged ({error}): restore it from a backup, or move "
            "it aside and run `flexor deploy --refresh --env E` for each environment to rebuild "
            "what is deployed from the Pulumi state (runs, logs and keys are not in the state)")


def identity_at(where: Path | str) -> str | None:
    """The identity of the control plane at `where` (None: no such database, or a team
    database that cannot be reached). Opened without creating or migrating anything, and a
    SQLite file not read-only: a read-only connection to a WAL database cannot remove the -wal
    and -shm files it makes, and a dry run must leave no trace."""
    if is_url(where):
        return _team_identity(str(where))
    path = Path(where)
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True)) as db:
            row = db.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _team_identity(url: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as db:
            row = db.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row else None
