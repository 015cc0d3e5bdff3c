"""Names sort bytewise on PostgreSQL as on SQLite: the text columns lists are ordered by take the
"C" collation (a server's default, such as en_US, would put "feedback" before "feed-monitor").
SQLite compares text bytewise already."""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"

ORDERED = {"agents": ("name",), "bindings": ("vault",), "grants": ("user", "vault"),
           "api_keys": ("key_id",), "requests": ("request_id",),
           "catalog_positions": ("instrument",), "snapshot_files": ("path",),
           "operation_locks": ("environment",)}


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, columns in ORDERED.items():
        for column in columns:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE TEXT COLLATE "C"')
