"""PostgreSQL specifics: the bounded connection pool and the migrated schema."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from ledgerbridge import store
from ledgerbridge.store._migrate import MIGRATIONS_DIR


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_postgres_pool_size_comes_from_the_environment(db, monkeypatch):
    """LEDGERBRIDGE_DB_POOL_SIZE bounds the pool; no overflow connections are opened."""
    monkeypatch.setenv("LEDGERBRIDGE_DB_POOL_SIZE", "3")
    bounded = store.Database(db.url.render_as_string(hide_password=False))
    try:
        assert bounded.engine.pool.size() == 3
        assert bounded.engine.pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        bounded.dispose()


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_postgres_is_migrated_to_the_newest_revision(db):
    """The template database the suite clones is at the newest migration."""
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    assert store.current_revision(db) == scripts.get_current_head()
    assert db.is_postgres and db.url.drivername == "postgresql+psycopg"
