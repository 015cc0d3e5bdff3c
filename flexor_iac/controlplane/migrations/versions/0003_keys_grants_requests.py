"""Access: API keys (salted hashes only), role grants, deployment requests."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

TEXT = sa.Text()


def upgrade() -> None:
    op.create_table("api_keys", sa.Column("key_id", TEXT, primary_key=True),
                    sa.Column("name", TEXT, nullable=False),
                    sa.Column("user", TEXT, nullable=False),
                    sa.Column("scopes", TEXT, nullable=False),
                    sa.Column("hash", TEXT, nullable=False),
                    sa.Column("created_at", TEXT, nullable=False),
                    sa.Column("expires_at", TEXT),
                    sa.Column("revoked_at", TEXT))
    op.create_table("grants", sa.Column("user", TEXT, primary_key=True),
                    sa.Column("vault", TEXT, primary_key=True),
                    sa.Column("role", TEXT, nullable=False),
                    sa.Column("granted_at", TEXT, nullable=False),
                    sa.Column("granted_by", TEXT, nullable=False))
    op.create_table("requests", sa.Column("request_id", TEXT, primary_key=True),
                    sa.Column("environment", TEXT, nullable=False),
                    sa.Column("plan", TEXT, nullable=False),
                    sa.Column("digest", TEXT, nullable=False),
                    sa.Column("requested_by", TEXT, nullable=False),
                    sa.Column("requested_at", TEXT, nullable=False),
                    sa.Column("status", TEXT, nullable=False),
                    sa.Column("approved_by", TEXT),
                    sa.Column("approved_at", TEXT),
                    sa.Column("applied_at", TEXT))
