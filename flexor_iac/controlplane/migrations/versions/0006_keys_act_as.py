"""Whose roles a key acts with, decided when it is made: its maker's only for a user who then
had no role, and never for an admin key; earlier keys as if made now."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("acts_as", sa.Text()))
    op.execute(sa.text(
        "UPDATE api_keys SET acts_as = created_by WHERE created_by IS NOT NULL "
        "AND \"user\" NOT IN (SELECT \"user\" FROM grants) AND scopes NOT LIKE :admin"
    ).bindparams(admin='%"admin"%'))
