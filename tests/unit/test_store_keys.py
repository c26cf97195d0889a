"""Composite-key lookups: exactly the asked-for rows, found through an index."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerbridge import store
from ledgerbridge.store._keys import key_in
from ledgerbridge.store._tables import entity_versions
from tests.conftest import BACKENDS, ENGINE_BLUEPRINT
from tests.engine_support import make_setup

TENANTS = ["t-a", "t-b", "t-c"]
ENTITIES = [f"time_entry:{n}" for n in range(12)]
KEYS = st.tuples(st.sampled_from(TENANTS), st.sampled_from(ENTITIES))


def _seed_once(db: store.Database) -> None:
    with db.read() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(entity_versions)).scalar():
            return
    rows = [
        {"tenant_id": t, "entity_key": e, "applied_version": n, "updated_at": 0.0}
        for t in TENANTS
        for n, e in enumerate(ENTITIES)
    ]
    with db.write() as conn:
        conn.execute(sa.insert(entity_versions), rows)


@pytest.mark.parametrize("db", BACKENDS, indirect=True)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(KEYS, max_size=20))
def test_key_in_selects_exactly_the_given_keys(db: store.Database, keys: list[tuple[str, str]]):
    _seed_once(db)
    ev = entity_versions
    query = sa.select(ev.c.tenant_id, ev.c.entity_key).where(
        key_in((ev.c.tenant_id, ev.c.entity_key), keys)
    )
    with db.read() as conn:
        found = {tuple(r) for r in conn.execute(query)}
    assert found == set(keys)


#: tables that grow with traffic; reading one end to end per batch slows as the queue grows
GROWING = ("runs", "steps", "events", "xrefs", "entity_versions", "audit_log")


def test_worker_batch_searches_indexes_instead_of_scanning(db: store.Database):
    """No statement of a worker batch scans a table that grows with traffic (SQLite's plan)."""
    setup = make_setup(db, ENGINE_BLUEPRINT)
    setup.client().ingest([setup.event(f"te-{n}", 1, hours=1) for n in range(5)])
    issued: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not executemany and statement.lstrip().upper().startswith(
            ("SELECT", "UPDATE", "DELETE")
        ):
            issued.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        setup.drain()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert len(setup.target.effects) == 10
    scans = []
    with db.read() as conn:
        for statement, parameters in issued:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            scans += [
                (detail, statement[:80])
                for *_, detail in plan
                if any(str(detail).startswith(f"SCAN {table}") for table in GROWING)
            ]
    assert scans == []
