"""The runtime: runs (= audit entries), their log lines, the notification outbox."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

TEXT = sa.Text()


def upgrade() -> None:
    # Runs are read newest first, ties broken by insertion order: SQLite's implicit rowid;
    # PostgreSQL has none, so it gets an identity column of that name and the SQL stays one.
    insertion_order = ([sa.Column("rowid", sa.BigInteger(), sa.Identity(), nullable=False)]
                       if op.get_context().dialect.name == "postgresql" else [])
    op.create_table("runs", sa.Column("run_id", TEXT, primary_key=True),
                    sa.Column("environment", TEXT, nullable=False),
                    sa.Column("agent", TEXT, nullable=False),
                    sa.Column("version", TEXT, nullable=False),
                    sa.Column("vault", TEXT),
                    sa.Column("trigger_type", TEXT, nullable=False),
                    sa.Column("trigger_at", TEXT, nullable=False),
                    sa.Column("status", TEXT, nullable=False),
                    sa.Column("attempts", sa.Integer(), nullable=False),
                    sa.Column("duration_ms", sa.Integer(), nullable=False),
                    sa.Column("audited", sa.Integer(), nullable=False),
                    sa.Column("entry", TEXT, nullable=False), *insertion_order)
    op.create_index("runs_by_agent", "runs", ["environment", "agent", "trigger_at"])
    op.create_index("runs_by_time", "runs", ["trigger_at"])
    op.create_table("run_logs", sa.Column("run_id", TEXT, primary_key=True),
                    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("at", TEXT, nullable=False),
                    sa.Column("level", TEXT, nullable=False),
                    sa.Column("message", TEXT, nullable=False))
    op.create_table("outbox", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("environment", TEXT, nullable=False),
                    sa.Column("run_id", TEXT),
                    sa.Column("agent", TEXT, nullable=False),
                    sa.Column("channel", TEXT, nullable=False),
                    sa.Column("target", TEXT, nullable=False),
                    sa.Column("message", TEXT, nullable=False),
                    sa.Column("delivery", TEXT, nullable=False),
                    sa.Column("created_at", TEXT, nullable=False), sqlite_autoincrement=True)
    op.create_index("outbox_by_run", "outbox", ["run_id"])
