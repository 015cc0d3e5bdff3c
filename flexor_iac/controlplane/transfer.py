"""Moving an embedded control plane into an empty team database, in one transaction.

Every table is copied as it is (runs in the order they were recorded), the database's identity
comes along (the stacks' resources recorded it), and extra rows — the Pulumi state's files,
which Pulumi's postgres:// backend keeps in the same database — go in the same transaction, so
the move happens whole or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flexor_iac.controlplane.database import Database
from flexor_iac.controlplane.store import ControlPlane
from flexor_iac.core.errors import PolicyRefusal

# Every table of the control plane's rows, parents first (the schema has no foreign keys).
TABLES = ("environments", "snapshots", "snapshot_files", "bindings", "agents", "agent_state",
          "runs", "latest_runs", "run_logs", "outbox", "api_keys", "grants", "requests",
          "protections", "catalogs", "catalog_feeds", "catalog_positions", "plexifact_events",
          "schedule_ticks", "event_cursors", "trust_rules")
# Tables whose integer id PostgreSQL draws from a sequence (moved past the copied ids).
_SERIAL = ("snapshots", "outbox", "plexifact_events")
_ORDER = {"runs": "rowid", "snapshots": "id", "outbox": "id", "plexifact_events": "id"}


@dataclass(frozen=True)
class Table:
    """A table's rows, with their column names."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Export:
    """What a control plane holds: its identity and every table's rows."""

    identity: str
    tables: dict[str, Table]
    extra: dict[str, Table] = field(default_factory=dict)  # e.g. pulumi_state

    def count(self, table: str) -> int:
        """How many rows `table` holds."""
        found = self.tables.get(table) or self.extra.get(table)
        return len(found.rows) if found else 0


def export(source: ControlPlane) -> Export:
    """Every row of the control plane (read in one pass)."""
    tables = {}
    for name in TABLES:
        order = f" ORDER BY {_ORDER[name]}" if name in _ORDER else ""
        rows = source.database.execute(f"SELECT * FROM {name}{order}")
        tables[name] = Table(rows.columns, [tuple(row) for row in rows])
    return Export(source.identity, tables)


def occupied(target: ControlPlane) -> list[str]:
    """The tables of `target` that already hold rows (empty: it may receive a control plane)."""
    return [name for name in TABLES
            if target.database.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone() is not None]


def load(target: ControlPlane, moved: Export) -> None:
    """Write every row into `target` in one transaction, with the source's identity; refused
    (nothing written) when it already holds a control plane, checked under its write lock."""
    database = target.database
    with database.transaction():
        if busy := occupied(target):
            raise PolicyRefusal(f"refused: the team database already holds a control plane "
                                f"({', '.join(busy)}); migrate-from-local fills only an empty "
                                "one (nothing was moved)")
        for name, table in moved.tables.items():
            _insert(database, name, table.columns, table.rows)
        for name, table in moved.extra.items():  # a row already there (Pulumi's meta.yaml) stays
            _insert(database, name, table.columns, table.rows, " ON CONFLICT DO NOTHING")
        database.execute("UPDATE meta SET value=? WHERE key='identity'", (moved.identity,))
        if database.dialect == "postgresql":
            for name in _SERIAL:
                database.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                 f"GREATEST((SELECT max(id) FROM {name}), 1))")


def _insert(database: Database, name: str, columns: Sequence[str],
            rows: Sequence[Sequence[Any]], conflict: str = "") -> None:
    if not rows:
        return
    quoted = ", ".join(f'"{column}"' for column in columns)
    marks = ", ".join("?" * len(columns))
    database.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({marks}){conflict}", rows)


def with_extra(moved: Export, extra: Mapping[str, Table]) -> Export:
    """The export, with rows for other tables of the same database (written in the same
    transaction)."""
    return Export(moved.identity, moved.tables, dict(extra))
