"""Each agent's latest run, kept as runs are recorded (status and `agents list` read it instead
of searching every run), and indexes that let `logs` read the newest runs without sorting all of
them (PostgreSQL needs the insertion order in the index; SQLite's rowid is in every index)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"

TEXT = sa.Text()


def upgrade() -> None:
    op.create_table("latest_runs", sa.Column("environment", TEXT, primary_key=True),
                    sa.Column("agent", TEXT, primary_key=True),
                    sa.Column("run_id", TEXT, nullable=False),
                    sa.Column("trigger_at", TEXT, nullable=False))
    op.execute("INSERT INTO latest_runs SELECT environment, agent, run_id, trigger_at FROM runs r "
               "WHERE rowid = (SELECT rowid FROM runs WHERE environment = r.environment AND "
               "agent = r.agent ORDER BY trigger_at DESC, rowid DESC LIMIT 1)")
    if op.get_context().dialect.name == "postgresql":
        op.create_index("runs_by_environment_time", "runs", ["environment", "trigger_at", "rowid"])
        op.create_index("runs_by_time_and_order", "runs", ["trigger_at", "rowid"])
        op.create_index("runs_by_agent_and_order", "runs",
                        ["environment", "agent", "trigger_at", "rowid"])
    else:
        op.create_index("runs_by_environment_time", "runs", ["environment", "trigger_at"])
