"""This database's identity (stack states record it) and each environment's protection as
recorded once access control is on (lowering it needs an admin key)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

TEXT = sa.Text()


def upgrade() -> None:
    op.get_bind().execute(sa.text("INSERT INTO meta (key, value) VALUES ('identity', :identity)"),
                          {"identity": secrets.token_hex(16)})
    op.create_table("protections", sa.Column("environment", TEXT, primary_key=True),
                    sa.Column("spec", TEXT, nullable=False),
                    sa.Column("recorded_at", TEXT, nullable=False),
                    sa.Column("recorded_by", TEXT, nullable=False))
