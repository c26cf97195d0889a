"""Named queries for change-feed cursors."""

from __future__ import annotations

import sqlalchemy as sa

from ledgerbridge.store import _upsert
from ledgerbridge.store._tables import feed_cursors


def get(conn: sa.Connection, tenant_id: str, connection_id: str) -> str | None:
    """Return the saved cursor of a connection's feed, if any."""
    query = sa.select(feed_cursors.c.cursor).where(
        feed_cursors.c.tenant_id == tenant_id, feed_cursors.c.connection_id == connection_id
    )
    return conn.execute(query).scalar_one_or_none()


def save(
    conn: sa.Connection, tenant_id: str, connection_id: str, cursor: str, *, now: float
) -> None:
    """Save a connection's feed cursor."""
    _upsert.upsert(
        conn,
        feed_cursors,
        [
            {
                "tenant_id": tenant_id,
                "connection_id": connection_id,
                "cursor": cursor,
                "updated_at": now,
            }
        ],
        keys=["tenant_id", "connection_id"],
        update=["cursor", "updated_at"],
    )
