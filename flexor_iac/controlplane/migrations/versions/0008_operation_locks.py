"""Who holds each environment's operation lock in team mode (the lock itself is a PostgreSQL
advisory lock, which the server releases when its holder's connection ends)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table("operation_locks", sa.Column("environment", sa.Text(), primary_key=True),
                    sa.Column("holder", sa.Text(), nullable=False))
