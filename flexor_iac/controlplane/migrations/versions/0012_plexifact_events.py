"""PlexiFact events, recorded (`flexor plexifact emit`; `flexor serve` reads them in order, per
environment, to fire the event triggers they match)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"

TEXT = sa.Text()


def upgrade() -> None:
    op.create_table("plexifact_events", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("environment", TEXT, nullable=False),
                    sa.Column("name", TEXT, nullable=False),
                    sa.Column("source", TEXT, nullable=False),
                    sa.Column("data", TEXT, nullable=False),
                    sa.Column("emitted_at", TEXT, nullable=False),
                    sa.Column("emitted_by", TEXT, nullable=False), sqlite_autoincrement=True)
    op.create_index("plexifact_events_by_environment", "plexifact_events", ["environment", "id"])
