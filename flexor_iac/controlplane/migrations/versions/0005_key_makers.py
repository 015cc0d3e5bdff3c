"""Who made each key (a key for a user with no role of their own acts with its maker's)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("created_by", sa.Text()))
