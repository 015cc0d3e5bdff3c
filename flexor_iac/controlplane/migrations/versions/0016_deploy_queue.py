"""The line of operations waiting for an environment's lock in team mode: one ticket per
waiter, in arrival order. A waiter holds a session-level advisory lock on its ticket for as
long as it waits, so the ticket of a waiter whose connection ended (kill -9 included) is
recognisably dead and removed by the next waiter that looks (controlplane/queue.py)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.create_table("deploy_queue",
                    sa.Column("ticket", sa.Integer(), primary_key=True, autoincrement=True),
                    sa.Column("environment", sa.Text(), nullable=False),
                    sa.Column("waiter", sa.Text(), nullable=False))
    op.create_index("deploy_queue_by_environment", "deploy_queue", ["environment", "ticket"])
