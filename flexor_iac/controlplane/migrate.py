"""The control plane's schema, kept by alembic (migrations/versions: one revision per change,
forward only) on SQLite and PostgreSQL alike.

Opening a store costs one query when the schema is current (`HEAD`); only an older or new
database imports alembic, and then every revision runs in one transaction that first takes
the database's write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: the advisory lock every
writer takes), so processes opening it at once apply each revision exactly once. Databases
made before alembic carry `meta.schema_version` N; they are stamped at revision N first. The
version is also kept in `meta.schema_version`, which every flexor since the first reads to
refuse a database newer than it knows.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flexor_iac.controlplane import embedded
from flexor_iac.controlplane.database import (
    WRITE_LOCK_KEY,
    Database,
    PostgresDatabase,
    SQLiteDatabase,
)
from flexor_iac.core.errors import StateError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

HEAD = 17  # the newest revision in migrations/versions (tests/controlplane checks)
# The tables HEAD has (tests/controlplane checks it against what the revisions make).
TABLES = frozenset({
    "agent_state", "agents", "alembic_version", "api_keys", "bindings", "catalog_feeds",
    "catalog_positions", "catalogs", "deploy_queue", "environments", "event_cursors", "grants",
    "latest_runs", "meta", "operation_locks", "outbox", "plexifact_events", "protections",
    "requests", "run_logs", "runs", "schedule_ticks", "serve_servers", "server_files",
    "server_plans", "snapshot_files", "snapshots", "trust_rules"})
MIGRATIONS = Path(__file__).with_name("migrations")
_ALEMBIC = threading.Lock()


def revision_name(number: int) -> str:
    """The alembic revision id of schema `number`."""
    return f"{number:04d}"


def schema_version(db: Database) -> int | None:
    """The database's schema version (None: a new, empty database)."""
    if _has_table(db, "alembic_version"):
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        return int(row[0]) if row else None
    if _has_table(db, "meta"):
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else None
    return None


def ensure_schema(db: Database) -> None:
    """Bring the database to HEAD (two queries when it is there: its version, and that no
    table is missing); refuse a SQLite database of another program."""
    found = schema_version(db)
    if found == HEAD:
        if missing := sorted(TABLES - _tables(db)):
            raise StateError(lacking(db.where, missing))
        return
    if found is None and isinstance(db, SQLiteDatabase) and _tables(db) - {"sqlite_sequence"}:
        raise embedded.not_ours(db.path, "a SQLite database without flexor's schema")
    if found is not None and found > HEAD:
        raise StateError(f"the control plane {db.where} has schema {found}; this flexor knows "
                         f"{HEAD}: upgrade flexor-iac")
    _upgrade(db)


def _tables(db: Database) -> set[str]:
    if db.dialect == "postgresql":
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema=current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type='table'"
    return {str(row[0]) for row in db.execute(sql)}


def lacking(where: str, missing: list[str]) -> str:
    """The one line for a control plane at HEAD that lacks tables."""
    return (f"the control plane {where} lacks table {', '.join(missing)} (its schema says "
            f"{HEAD}): restore it from a backup, or move it aside and run `flexor deploy "
            "--refresh --env E` for each environment to rebuild what is deployed")


def _has_table(db: Database, name: str) -> bool:
    if db.dialect == "postgresql":
        return db.execute("SELECT to_regclass(?) IS NOT NULL", (name,)).fetchone()[0] is True
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                      (name,)).fetchone() is not None


def _upgrade(db: Database) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.exc import DBAPIError

    with _ALEMBIC:  # alembic's `context` is one per process: threads take turns
        engine = _engine(db)
        try:
            with engine.connect() as connection:
                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if connection.in_transaction():
                    connection.commit()
        except DBAPIError as error:
            if isinstance(error.orig, sqlite3.DatabaseError):
                raise error.orig from None  # the store says what a damaged file means
            reason = str(error.orig).strip().splitlines()[0]
            raise StateError(f"cannot bring the control plane {db.where} to schema {HEAD}: "
                             f"{reason} (nothing was changed)") from None
        finally:
            engine.dispose()


def _engine(db: Database) -> Engine:
    """A SQLAlchemy engine on the same database, for alembic only (the store speaks its own
    driver directly, so SQLAlchemy is imported only when the schema changes)."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    if isinstance(db, PostgresDatabase):
        import psycopg

        url = db.url
        return create_engine("postgresql+psycopg://", poolclass=NullPool,
                             creator=lambda: psycopg.connect(url))
    assert isinstance(db, SQLiteDatabase)
    path = db.path
    engine = create_engine("sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(
        path, timeout=30, isolation_level=None, check_same_thread=False))

    @event.listens_for(engine, "begin")
    def _write_lock(connection: Any) -> None:  # the driver's own BEGIN would take no lock
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def before_upgrade(connection: Connection) -> None:
    """Inside the upgrade's transaction, before any revision: take the write lock, and stamp a
    database made before alembic at the revision its `meta.schema_version` names."""
    from sqlalchemy import inspect, text

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" in tables or "meta" not in tables:
        return
    row = connection.execute(text("SELECT value FROM meta WHERE key='schema_version'")).first()
    if row is None:
        return
    connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"))
    connection.execute(text("INSERT INTO alembic_version VALUES (:revision)"),
                       {"revision": revision_name(int(row[0]))})


def after_upgrade(connection: Connection) -> None:
    """Record the version where flexors before alembic look for it."""
    from sqlalchemy import text

    connection.execute(text("INSERT INTO meta (key, value) VALUES ('schema_version', :version) "
                            "ON CONFLICT (key) DO UPDATE SET value=excluded.value"),
                       {"version": str(HEAD)})
