"""`flexor serve`: the servers running per environment, each schedule's newest tick and each
environment's event cursor (shared by every server: a tick or event is taken once), and on
PostgreSQL the job queue of team mode (procrastinate's own schema, of the pinned version)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"

TEXT = sa.Text()


def upgrade() -> None:
    op.create_table("serve_servers", sa.Column("server_id", TEXT, primary_key=True),
                    sa.Column("environment", TEXT, nullable=False),
                    sa.Column("host", TEXT, nullable=False),
                    sa.Column("pid", sa.Integer(), nullable=False),
                    sa.Column("address", TEXT, nullable=False),
                    sa.Column("started_at", TEXT, nullable=False),
                    sa.Column("heartbeat_at", TEXT, nullable=False))
    op.create_index("serve_servers_by_environment", "serve_servers", ["environment"])
    op.create_table("schedule_ticks", sa.Column("environment", TEXT, primary_key=True),
                    sa.Column("agent", TEXT, primary_key=True),
                    sa.Column("tick", TEXT, nullable=False))
    op.create_table("event_cursors", sa.Column("environment", TEXT, primary_key=True),
                    sa.Column("event_id", sa.Integer(), nullable=False))
    if op.get_context().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # On the driver's own cursor, in the same transaction: the schema's `%` are not
        # placeholders there.
        raw = op.get_bind().connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(SchemaManager.get_schema())
        finally:
            cursor.close()
