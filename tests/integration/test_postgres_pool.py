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


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_postgres_queue_tables_are_analysed_early(db):
    """The run queue's tables are analysed after 2% changes, not the server's default 10%."""
    query = "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%(names)s)"
    names = ["events", "runs", "steps", "entity_versions", "xrefs", "connection_leases"]
    with db.read() as conn:
        options = {r.relname: r.reloptions for r in conn.exec_driver_sql(query, {"names": names})}
    assert sorted(options) == sorted(names)
    for table in names:
        assert "autovacuum_analyze_scale_factor=0.02" in options[table], table
