"""What every group of the control plane's records shares: the store's one database, its write
transaction, and how a time is stored.

ControlPlane (store.py) is composed of one class per group, each in a module of its own
(environments, notes, vaults, agents, runs, access, requests, catalogs, events, serving, trust);
each derives from `Records` and holds the SQL of its tables, written once for SQLite and
PostgreSQL.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from flexor_iac.controlplane.database import Database
from flexor_iac.core import clock


def timestamp() -> str:
    """The current time (core.clock: the one clock, which a test may fix), as stored: UTC,
    ISO 8601, whole seconds."""
    return clock.now().isoformat(timespec="seconds")


class Records:
    """The base of each group of records: the database ControlPlane opened."""

    _db: Database

    def _write(self) -> AbstractContextManager[None]:
        """One write transaction (serialised: see database.Database.transaction)."""
        return self._db.transaction()

    def _one(self, sql: str, *args: Any) -> Any:
        """The first row `sql` returns, or None."""
        return self._db.execute(sql, args).fetchone()
