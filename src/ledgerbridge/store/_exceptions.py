"""Named queries for the exception queue."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ledgerbridge.store._tables import exceptions


def insert(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Open exception entries."""
    if rows:
        conn.execute(sa.insert(exceptions), rows)


def get(conn: sa.Connection, tenant_id: str, exception_id: str) -> sa.Row[Any] | None:
    """Fetch one exception."""
    query = sa.select(exceptions).where(
        exceptions.c.tenant_id == tenant_id, exceptions.c.id == exception_id
    )
    return conn.execute(query).first()


def find(conn: sa.Connection, exception_id: str) -> sa.Row[Any] | None:
    """Fetch one exception by id alone (operator tools that span tenants)."""
    return conn.execute(sa.select(exceptions).where(exceptions.c.id == exception_id)).first()


def list_(
    conn: sa.Connection,
    *,
    tenant_id: str | None = None,
    status: str | None = "open",
    error_kind: str | None = None,
    flow: str | None = None,
    limit: int = 100,
    before_id: str | None = None,
) -> list[sa.Row[Any]]:
    """List exceptions, newest first."""
    query = sa.select(exceptions).order_by(exceptions.c.id.desc()).limit(limit)
    if tenant_id:
        query = query.where(exceptions.c.tenant_id == tenant_id)
    if status:
        query = query.where(exceptions.c.status == status)
    if error_kind:
        query = query.where(exceptions.c.error_kind == error_kind)
    if flow:
        query = query.where(exceptions.c.flow == flow)
    if before_id:
        query = query.where(exceptions.c.id < before_id)
    return list(conn.execute(query))


def resolve(
    conn: sa.Connection,
    tenant_id: str,
    exception_id: str,
    *,
    resolution: str,
    actor: str,
    now: float,
    note: str | None = None,
) -> None:
    """Close an exception with how it was resolved."""
    conn.execute(
        sa.update(exceptions)
        .where(exceptions.c.tenant_id == tenant_id, exceptions.c.id == exception_id)
        .values(
            status="resolved", resolution=resolution, resolved_by=actor, resolved_at=now, note=note
        )
    )


def resolve_for_run(
    conn: sa.Connection, tenant_id: str, run_id: str, *, resolution: str, actor: str, now: float
) -> None:
    """Close every open exception of a run."""
    conn.execute(
        sa.update(exceptions)
        .where(
            exceptions.c.tenant_id == tenant_id,
            exceptions.c.run_id == run_id,
            exceptions.c.status == "open",
        )
        .values(status="resolved", resolution=resolution, resolved_by=actor, resolved_at=now)
    )


def count_open_by_reason(conn: sa.Connection, tenant_id: str | None = None) -> list[sa.Row[Any]]:
    """Count open exceptions per (error kind, reason)."""
    query = (
        sa.select(exceptions.c.error_kind, exceptions.c.reason, sa.func.count().label("n"))
        .where(exceptions.c.status == "open")
        .group_by(exceptions.c.error_kind, exceptions.c.reason)
    )
    if tenant_id:
        query = query.where(exceptions.c.tenant_id == tenant_id)
    return list(conn.execute(query))
