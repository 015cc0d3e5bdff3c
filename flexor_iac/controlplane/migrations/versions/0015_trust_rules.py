"""Trust rules: which OIDC tokens (GitHub Actions') the team server exchanges for a short-lived
API key, with which scopes, for which user (access/oidc.py)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"

TEXT = sa.Text()


def upgrade() -> None:
    op.create_table("trust_rules", sa.Column("rule_id", TEXT, primary_key=True),
                    sa.Column("issuer", TEXT, nullable=False),
                    sa.Column("audience", TEXT, nullable=False),
                    sa.Column("claims", TEXT, nullable=False),
                    sa.Column("scopes", TEXT, nullable=False),
                    sa.Column("user", TEXT, nullable=False),
                    sa.Column("created_by", TEXT, nullable=False),
                    sa.Column("created_at", TEXT, nullable=False))
    op.create_index("trust_rules_by_issuer", "trust_rules", ["issuer"])
