"""Dialect-specific INSERT ... ON CONFLICT statements, so callers stay dialect-neutral."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert(conn: sa.Connection, table: sa.Table) -> Any:
    """Return the dialect's INSERT construct for ``table`` (supports on_conflict_*)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``, skipping any that collide with an existing key."""
    if rows:
        conn.execute(insert(conn, table).on_conflict_do_nothing(), rows)


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    *,
    keys: list[str],
    update: list[str],
) -> None:
    """Insert ``rows``; on a key collision overwrite the ``update`` columns."""
    if not rows:
        return
    stmt = insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: getattr(stmt.excluded, c) for c in update}
    )
    conn.execute(stmt, rows)


def greatest(conn: sa.Connection, a: Any, b: Any) -> Any:
    """SQL for the larger of two values (GREATEST on PostgreSQL, MAX on SQLite)."""
    name = "greatest" if conn.dialect.name == "postgresql" else "max"
    return getattr(sa.func, name)(a, b)
