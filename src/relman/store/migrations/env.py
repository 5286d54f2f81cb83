"""Alembic environment: relman passes its own connection in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from relman.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
if connection.dialect.name == "postgresql":
    # Several workers may start at once: one upgrades, the others wait and then find nothing to do.
    connection.execute(text("SELECT pg_advisory_xact_lock(7247001)"))
with context.begin_transaction():
    context.run_migrations()
