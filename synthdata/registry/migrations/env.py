"""Alembic environment for the run registry (used programmatically by `synthdata.registry.migrate`).

The caller hands over an open connection in ``config.attributes["connection"]``; all migrations
run in that connection's single transaction, which on PostgreSQL first takes an advisory lock so
two pipelines opening a fresh registry at once cannot both create the schema.
"""

from __future__ import annotations

from alembic import context

from synthdata.registry.models import Base

PG_ADVISORY_LOCK_KEY = 0x5E7D_DA7A  # arbitrary, constant: "synthdata registry migrations"

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the alembic CLI is not the supported entry point
    raise RuntimeError("run registry migrations through synthdata.registry.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)

with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_ADVISORY_LOCK_KEY})")
    context.run_migrations()
