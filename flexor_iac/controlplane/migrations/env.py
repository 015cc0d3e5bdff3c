"""Alembic's environment for the control plane: run on the connection flexor hands over
(controlplane.migrate), as one transaction that first takes the database's write lock, so two
processes opening an old or new database at once apply every revision exactly once."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from flexor_iac.controlplane.migrate import after_upgrade, before_upgrade

connection: Connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    before_upgrade(connection)
    context.run_migrations()
    after_upgrade(connection)
