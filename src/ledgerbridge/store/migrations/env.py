"""Alembic environment: runs migrations on the connection handed over by ledgerbridge."""

from __future__ import annotations

from alembic import context

from ledgerbridge.store._tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic is called by hand
    raise RuntimeError("run migrations through `ledgerbridge init` or ledgerbridge.store.migrate()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
