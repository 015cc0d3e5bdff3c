"""Each snapshot's files, in the control plane: a fresh checkout (or a CI runner) on a team
database deploys a synced snapshot without the clone that synced it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table("snapshot_files", sa.Column("digest", sa.Text(), primary_key=True),
                    sa.Column("path", sa.Text(), primary_key=True),
                    sa.Column("content", sa.LargeBinary(), nullable=False))
