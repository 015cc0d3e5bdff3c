"""The control plane store: one database (database.py), opened, migrated and closed here.

`ControlPlane` is a thin facade: its intent-named methods come from one group of records per
job, each in a module of its own that holds the SQL of its tables (records.py says how they
are composed; decision 018). Every write is one transaction; reads return frozen dataclasses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from flexor_iac.controlplane import health
from flexor_iac.controlplane.access import AccessRecords
from flexor_iac.controlplane.agents import AgentRecords
from flexor_iac.controlplane.catalogs import CatalogRecords
from flexor_iac.controlplane.database import Database, connect
from flexor_iac.controlplane.environments import EnvironmentRecords
from flexor_iac.controlplane.events import EventRecords
from flexor_iac.controlplane.location import locate as locate  # where commands find it
from flexor_iac.controlplane.migrate import ensure_schema
from flexor_iac.controlplane.notes import NoteRecords
from flexor_iac.controlplane.requests import RequestRecords
from flexor_iac.controlplane.retention import RetentionRecords
from flexor_iac.controlplane.runs import RunRecords
from flexor_iac.controlplane.server_files import ServerFileRecords
from flexor_iac.controlplane.serving import ServeRecords
from flexor_iac.controlplane.trust import TrustRecords
from flexor_iac.controlplane.vaults import VaultRecords
from flexor_iac.core.errors import StateError
from flexor_iac.core.workspace import ProjectPaths


class ControlPlane(EnvironmentRecords, NoteRecords, VaultRecords, AgentRecords, RunRecords,
                   AccessRecords, RequestRecords, CatalogRecords, EventRecords, ServeRecords,
                   ServerFileRecords, TrustRecords, RetentionRecords):
    """The control plane: the embedded SQLite file, or a team's PostgreSQL (database.py)."""

    @classmethod
    def of(cls, paths: ProjectPaths, create: bool = True,
           say: Callable[[str], None] | None = None) -> ControlPlane:
        """The project's control plane (see `locate`), opened: the one way a command opens it
        (as a context manager: `with ControlPlane.of(paths) as store`). A verb that only
        reads passes `create=False`: a missing embedded control plane is then an error."""
        return cls(locate(paths.root), create, say)

    def __init__(self, where: Path | str, create: bool = True,
                 say: Callable[[str], None] | None = None) -> None:
        self._db: Database = connect(where, create, say)
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

    @property
    def identity(self) -> str:
        """This database's random identity (made once, with the schema)."""
        return str(self._one("SELECT value FROM meta WHERE key='identity'")[0])

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
