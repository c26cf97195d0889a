"""Named queries for partners, tenants, connections and deployments."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ledgerbridge.store._tables import connections, deployments, partners, tenants


def insert_partner(conn: sa.Connection, row: dict[str, Any]) -> None:
    """Create a partner."""
    conn.execute(sa.insert(partners), row)


def insert_tenant(conn: sa.Connection, row: dict[str, Any]) -> None:
    """Create a tenant."""
    conn.execute(sa.insert(tenants), row)


def get_tenant(conn: sa.Connection, tenant_id: str) -> sa.Row[Any] | None:
    """Fetch one tenant."""
    return conn.execute(sa.select(tenants).where(tenants.c.id == tenant_id)).first()


def list_tenants(conn: sa.Connection, partner_id: str | None = None) -> list[sa.Row[Any]]:
    """List tenants, optionally of one partner."""
    query = sa.select(tenants).order_by(tenants.c.id)
    if partner_id:
        query = query.where(tenants.c.partner_id == partner_id)
    return list(conn.execute(query))


def insert_connection(conn: sa.Connection, row: dict[str, Any]) -> None:
    """Create a connection."""
    conn.execute(sa.insert(connections), row)


def get_connection(conn: sa.Connection, tenant_id: str, connection_id: str) -> sa.Row[Any] | None:
    """Fetch one connection."""
    query = sa.select(connections).where(
        connections.c.tenant_id == tenant_id, connections.c.id == connection_id
    )
    return conn.execute(query).first()


def update_connection_settings(
    conn: sa.Connection, tenant_id: str, connection_id: str, settings: str
) -> None:
    """Replace a connection's settings document."""
    conn.execute(
        sa.update(connections)
        .where(connections.c.tenant_id == tenant_id, connections.c.id == connection_id)
        .values(settings=settings)
    )


def insert_deployment(conn: sa.Connection, row: dict[str, Any]) -> None:
    """Pin a blueprint version in a tenant environment."""
    conn.execute(sa.insert(deployments), row)


def get_deployment(conn: sa.Connection, tenant_id: str, deployment_id: str) -> sa.Row[Any] | None:
    """Fetch one deployment."""
    query = sa.select(deployments).where(
        deployments.c.tenant_id == tenant_id, deployments.c.id == deployment_id
    )
    return conn.execute(query).first()


def active_deployments(conn: sa.Connection, tenant_id: str) -> list[sa.Row[Any]]:
    """Return the tenant's active deployments."""
    query = sa.select(deployments).where(
        deployments.c.tenant_id == tenant_id, deployments.c.is_active == sa.true()
    )
    return list(conn.execute(query))
