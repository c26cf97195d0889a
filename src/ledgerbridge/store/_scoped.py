"""Named queries that take the caller's scope and filter by it.

A :class:`Scope` names what a caller may see: the platform (everything), one partner (all
its tenants) or one tenant. Every function here applies it in SQL, so an object outside
the scope is indistinguishable from one that does not exist. Lists page by keyset: they
take the sort key of the last row seen (``after``) and return at most ``limit`` rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ledgerbridge.store import _tables as t


@dataclass(frozen=True, kw_only=True, slots=True)
class Scope:
    """What a caller may see: ``tenant_id`` narrows ``partner_id``; neither is the platform."""

    partner_id: str | None = None
    tenant_id: str | None = None

    def __post_init__(self) -> None:
        if self.tenant_id is not None and self.partner_id is None:
            raise ValueError("a tenant scope needs its partner id")

    @property
    def is_platform(self) -> bool:
        """Whether the scope spans every partner."""
        return self.partner_id is None


def tenant_clause(column: Any, scope: Scope) -> Any:
    """SQL that keeps rows whose tenant id ``column`` lies inside ``scope``."""
    if scope.tenant_id is not None:
        return column == scope.tenant_id
    if scope.partner_id is not None:
        owned = sa.select(t.tenants.c.id).where(t.tenants.c.partner_id == scope.partner_id)
        return column.in_(owned)
    return sa.true()


def _page(
    query: Any,
    columns: Sequence[Any],
    *,
    after: Sequence[Any] | None,
    limit: int,
    descending: bool = False,
) -> Any:
    key = sa.tuple_(*columns) if len(columns) > 1 else columns[0]
    if after is not None:
        bound = sa.tuple_(*after) if len(columns) > 1 else after[0]
        query = query.where(key < bound if descending else key > bound)
    order = [c.desc() if descending else c for c in columns]
    return query.order_by(*order).limit(limit)


def _filters(query: Any, table: sa.Table, filters: dict[str, Any]) -> Any:
    for name, value in filters.items():
        if value is not None:
            query = query.where(table.c[name] == value)
    return query


# partners and tenants -------------------------------------------------------------------
def list_partners(
    conn: sa.Connection, scope: Scope, *, after: Sequence[Any] | None, limit: int
) -> list[sa.Row[Any]]:
    """List the partners the scope may see, by id."""
    query = sa.select(t.partners)
    if scope.partner_id is not None:
        query = query.where(t.partners.c.id == scope.partner_id)
    return list(conn.execute(_page(query, [t.partners.c.id], after=after, limit=limit)))


def get_partner(conn: sa.Connection, scope: Scope, partner_id: str) -> sa.Row[Any] | None:
    """Fetch one partner inside the scope."""
    if scope.partner_id is not None and scope.partner_id != partner_id:
        return None
    return conn.execute(sa.select(t.partners).where(t.partners.c.id == partner_id)).first()


def update_partner(conn: sa.Connection, partner_id: str, values: dict[str, Any]) -> None:
    """Change a partner's name or brand."""
    conn.execute(sa.update(t.partners).where(t.partners.c.id == partner_id).values(**values))


def list_tenants(
    conn: sa.Connection,
    scope: Scope,
    *,
    after: Sequence[Any] | None,
    limit: int,
    partner_id: str | None = None,
    sla_tier: str | None = None,
) -> list[sa.Row[Any]]:
    """List the tenants the scope may see, by id."""
    query = sa.select(t.tenants).where(tenant_clause(t.tenants.c.id, scope))
    query = _filters(query, t.tenants, {"partner_id": partner_id, "sla_tier": sla_tier})
    return list(conn.execute(_page(query, [t.tenants.c.id], after=after, limit=limit)))


def get_tenant(conn: sa.Connection, scope: Scope, tenant_id: str) -> sa.Row[Any] | None:
    """Fetch one tenant inside the scope."""
    query = sa.select(t.tenants).where(
        t.tenants.c.id == tenant_id, tenant_clause(t.tenants.c.id, scope)
    )
    return conn.execute(query).first()


def update_tenant(conn: sa.Connection, tenant_id: str, values: dict[str, Any]) -> None:
    """Change a tenant's name or SLA tier."""
    conn.execute(sa.update(t.tenants).where(t.tenants.c.id == tenant_id).values(**values))


# environments ---------------------------------------------------------------------------
def insert_environments(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Create environments of a tenant."""
    if rows:
        conn.execute(sa.insert(t.environments), rows)


def list_environments(conn: sa.Connection, scope: Scope, tenant_id: str) -> list[sa.Row[Any]]:
    """List one tenant's environments, by name."""
    env = t.environments
    query = sa.select(env).where(
        env.c.tenant_id == tenant_id, tenant_clause(env.c.tenant_id, scope)
    )
    return list(conn.execute(query.order_by(env.c.name)))


def get_environment(
    conn: sa.Connection, scope: Scope, tenant_id: str, name: str
) -> sa.Row[Any] | None:
    """Fetch one environment inside the scope."""
    env = t.environments
    query = sa.select(env).where(
        env.c.tenant_id == tenant_id, env.c.name == name, tenant_clause(env.c.tenant_id, scope)
    )
    return conn.execute(query).first()


def update_environment(conn: sa.Connection, tenant_id: str, name: str, label: str) -> None:
    """Change an environment's label."""
    env = t.environments
    conn.execute(
        sa.update(env).where(env.c.tenant_id == tenant_id, env.c.name == name).values(label=label)
    )


# connections and deployments ------------------------------------------------------------
def list_connections(
    conn: sa.Connection,
    scope: Scope,
    tenant_id: str,
    *,
    after: Sequence[Any] | None,
    limit: int,
    environment: str | None = None,
    kind: str | None = None,
) -> list[sa.Row[Any]]:
    """List one tenant's connections, by id."""
    c = t.connections
    query = sa.select(c).where(c.c.tenant_id == tenant_id, tenant_clause(c.c.tenant_id, scope))
    query = _filters(query, c, {"environment": environment, "kind": kind})
    return list(conn.execute(_page(query, [c.c.id], after=after, limit=limit)))


def get_connection(
    conn: sa.Connection, scope: Scope, tenant_id: str, connection_id: str
) -> sa.Row[Any] | None:
    """Fetch one connection inside the scope."""
    c = t.connections
    query = sa.select(c).where(
        c.c.tenant_id == tenant_id, c.c.id == connection_id, tenant_clause(c.c.tenant_id, scope)
    )
    return conn.execute(query).first()


def connections_by_id(
    conn: sa.Connection, connection_id: str, tenant_id: str | None = None
) -> list[sa.Row[Any]]:
    """Fetch the connections with this id, in one tenant or in any (at most 2 rows).

    Webhook receivers use it: a sender names the connection, and the tenant too when the
    connection's id is not unique across tenants.
    """
    query = sa.select(t.connections).where(t.connections.c.id == connection_id).limit(2)
    if tenant_id is not None:
        query = query.where(t.connections.c.tenant_id == tenant_id)
    return list(conn.execute(query))


def update_connection(
    conn: sa.Connection, tenant_id: str, connection_id: str, values: dict[str, Any]
) -> None:
    """Change a connection's settings or sealed credentials."""
    c = t.connections
    conn.execute(
        sa.update(c).where(c.c.tenant_id == tenant_id, c.c.id == connection_id).values(**values)
    )


def delete_connection(conn: sa.Connection, tenant_id: str, connection_id: str) -> None:
    """Remove a connection."""
    c = t.connections
    conn.execute(sa.delete(c).where(c.c.tenant_id == tenant_id, c.c.id == connection_id))


def sealed_credentials(conn: sa.Connection) -> list[sa.Row[Any]]:
    """Return (tenant_id, id, secret) of every connection that holds credentials."""
    c = t.connections
    query = sa.select(c.c.tenant_id, c.c.id, c.c.secret).where(c.c.secret.is_not(None))
    return list(conn.execute(query.order_by(c.c.tenant_id, c.c.id)))


def list_deployments(
    conn: sa.Connection,
    scope: Scope,
    tenant_id: str,
    *,
    after: Sequence[Any] | None,
    limit: int,
    environment: str | None = None,
    is_active: bool | None = None,
) -> list[sa.Row[Any]]:
    """List one tenant's deployments, by id."""
    d = t.deployments
    query = sa.select(d).where(d.c.tenant_id == tenant_id, tenant_clause(d.c.tenant_id, scope))
    query = _filters(query, d, {"environment": environment, "is_active": is_active})
    return list(conn.execute(_page(query, [d.c.id], after=after, limit=limit)))


def get_deployment(
    conn: sa.Connection, scope: Scope, tenant_id: str, deployment_id: str
) -> sa.Row[Any] | None:
    """Fetch one deployment inside the scope."""
    d = t.deployments
    query = sa.select(d).where(
        d.c.tenant_id == tenant_id, d.c.id == deployment_id, tenant_clause(d.c.tenant_id, scope)
    )
    return conn.execute(query).first()


def set_deployment_active(
    conn: sa.Connection, tenant_id: str, deployment_id: str, *, is_active: bool
) -> None:
    """Activate or retire a deployment."""
    d = t.deployments
    conn.execute(
        sa.update(d)
        .where(d.c.tenant_id == tenant_id, d.c.id == deployment_id)
        .values(is_active=is_active)
    )
