"""Deployment requests the server applies (docs/decisions/021): when it last tried one, how that
ended (applying, stale, refused, failed, applied) and why, so a request that did not apply
stays open, says why, and is not tried again blindly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"

TEXT = sa.Text()


def upgrade() -> None:
    op.add_column("requests", sa.Column("attempted_at", TEXT))
    op.add_column("requests", sa.Column("attempt", TEXT))
    op.add_column("requests", sa.Column("note", TEXT))
