"""Schema migrations with Alembic, run programmatically on a :class:`Database`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from ledgerbridge.store._db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", db.url.render_as_string(hide_password=False))
    return config


def migrate(db: Database, revision: str = "head") -> None:
    """Upgrade the database schema to ``revision`` (the newest by default)."""
    config = _config(db)
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # Several workers may start at once: one migrates, the others wait, then no-op.
            conn.exec_driver_sql("SELECT pg_advisory_lock(7355608)")
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_unlock(7355608)")
            conn.commit()


def current_revision(db: Database) -> str | None:
    """Return the schema revision the database is at, or None when it is empty."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
