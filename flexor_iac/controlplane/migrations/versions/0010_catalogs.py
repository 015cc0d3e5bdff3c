"""PlexiFact catalogs kept in the control plane (team mode: every clone and runner reads the
catalog `flexor plexifact load` filled anywhere; embedded projects keep theirs in .flexor/)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

TEXT = sa.Text()


def upgrade() -> None:
    op.create_table("catalogs", sa.Column("uri", TEXT, primary_key=True),
                    sa.Column("loaded_at", TEXT, nullable=False))
    op.create_table("catalog_feeds", sa.Column("catalog", TEXT, primary_key=True),
                    sa.Column("name", TEXT, primary_key=True),
                    sa.Column("last_ingested_at", TEXT, nullable=False),
                    sa.Column("row_count", sa.Integer()))
    op.create_table("catalog_positions", sa.Column("catalog", TEXT, nullable=False),
                    sa.Column("fund_id", TEXT, nullable=False),
                    sa.Column("source", TEXT, nullable=False),
                    sa.Column("instrument", TEXT, nullable=False),
                    sa.Column("quantity", sa.Float(), nullable=False),
                    sa.Column("as_of", TEXT))
    op.create_index("catalog_positions_by_fund", "catalog_positions",
                    ["catalog", "fund_id", "source"])
