"""The team server: files clients upload (content-addressed, shared by every server) and the
plans `deploy --plan-out` saves on the server (applied later by id, from any server)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"

TEXT = sa.Text()


def upgrade() -> None:
    op.create_table("server_files", sa.Column("digest", TEXT, primary_key=True),
                    sa.Column("content", sa.LargeBinary(), nullable=False),
                    sa.Column("stored_at", TEXT, nullable=False))
    op.create_table("server_plans", sa.Column("plan_id", TEXT, primary_key=True),
                    sa.Column("environment", TEXT, nullable=False),
                    sa.Column("content", sa.LargeBinary(), nullable=False),
                    sa.Column("made_by", TEXT, nullable=False),
                    sa.Column("made_at", TEXT, nullable=False))
