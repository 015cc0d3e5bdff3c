"""Environments, vault snapshots and their bindings, active agents and their paused state."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

TEXT = sa.Text()


def upgrade() -> None:
    op.create_table("meta", sa.Column("key", TEXT, primary_key=True),
                    sa.Column("value", TEXT, nullable=False))
    op.create_table("environments", sa.Column("name", TEXT, primary_key=True),
                    sa.Column("spec", TEXT, nullable=False),
                    sa.Column("registered_at", TEXT, nullable=False))
    op.create_table("snapshots", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("digest", TEXT, nullable=False),
                    sa.Column("vault", TEXT, nullable=False),
                    sa.Column("files", TEXT, nullable=False),
                    sa.Column("created_at", TEXT, nullable=False), sqlite_autoincrement=True)
    op.create_index("snapshots_by_vault", "snapshots", ["vault", "id"])
    op.create_table("bindings", sa.Column("environment", TEXT, primary_key=True),
                    sa.Column("vault", TEXT, primary_key=True),
                    sa.Column("digest", TEXT, nullable=False),
                    sa.Column("spec", TEXT, nullable=False),
                    sa.Column("bound_at", TEXT, nullable=False))
    op.create_table("agents", sa.Column("environment", TEXT, primary_key=True),
                    sa.Column("name", TEXT, primary_key=True),
                    sa.Column("version", TEXT, nullable=False),
                    sa.Column("spec", TEXT, nullable=False),
                    sa.Column("digest", TEXT, nullable=False),
                    sa.Column("activated_at", TEXT, nullable=False))
    op.create_table("agent_state", sa.Column("environment", TEXT, primary_key=True),
                    sa.Column("name", TEXT, primary_key=True),
                    sa.Column("paused", sa.Integer(), nullable=False, server_default="0"))
