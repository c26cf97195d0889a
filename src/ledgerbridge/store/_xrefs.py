"""Named queries for cross-references: one canonical object's ids in each system."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ledgerbridge.store import _upsert
from ledgerbridge.store._tables import xrefs


def save(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or update cross-references."""
    _upsert.upsert(
        conn,
        xrefs,
        rows,
        keys=["tenant_id", "object_type", "canonical_id", "system"],
        update=["external_id", "data", "updated_at"],
    )


def get(
    conn: sa.Connection, tenant_id: str, object_type: str, canonical_id: str, system: str
) -> sa.Row[Any] | None:
    """Fetch one cross-reference."""
    query = sa.select(xrefs).where(
        xrefs.c.tenant_id == tenant_id,
        xrefs.c.object_type == object_type,
        xrefs.c.canonical_id == canonical_id,
        xrefs.c.system == system,
    )
    return conn.execute(query).first()


def list_(
    conn: sa.Connection,
    tenant_id: str,
    *,
    object_type: str | None = None,
    system: str | None = None,
    limit: int | None = None,
) -> list[sa.Row[Any]]:
    """List a tenant's cross-references."""
    query = (
        sa.select(xrefs)
        .where(xrefs.c.tenant_id == tenant_id)
        .order_by(xrefs.c.object_type, xrefs.c.canonical_id)
    )
    if object_type:
        query = query.where(xrefs.c.object_type == object_type)
    if system:
        query = query.where(xrefs.c.system == system)
    if limit:
        query = query.limit(limit)
    return list(conn.execute(query))
