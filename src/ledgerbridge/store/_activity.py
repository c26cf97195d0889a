"""Scoped reads of what the engine did: events, runs, exceptions, audit rows and xrefs.

Each function takes the caller's :class:`~ledgerbridge.store._scoped.Scope` and filters by
it in SQL. Engine objects page newest first by id (ids sort by creation time).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ledgerbridge.store import _tables as t
from ledgerbridge.store._scoped import Scope, _filters, _page, tenant_clause


def _newest_first(
    conn: sa.Connection,
    table: sa.Table,
    scope: Scope,
    *,
    after: Sequence[Any] | None,
    limit: int,
    filters: dict[str, Any],
) -> list[sa.Row[Any]]:
    query = _filters(
        sa.select(table).where(tenant_clause(table.c.tenant_id, scope)), table, filters
    )
    return list(conn.execute(_page(query, [table.c.id], after=after, limit=limit, descending=True)))


def _one(conn: sa.Connection, table: sa.Table, scope: Scope, object_id: str) -> sa.Row[Any] | None:
    query = sa.select(table).where(table.c.id == object_id, tenant_clause(table.c.tenant_id, scope))
    return conn.execute(query).first()


def list_events(
    conn: sa.Connection,
    scope: Scope,
    *,
    after: Sequence[Any] | None,
    limit: int,
    filters: dict[str, Any],
) -> list[sa.Row[Any]]:
    """List inbox events, newest first; ``filters`` match columns exactly."""
    return _newest_first(conn, t.events, scope, after=after, limit=limit, filters=filters)


def get_event(conn: sa.Connection, scope: Scope, event_id: str) -> sa.Row[Any] | None:
    """Fetch one event inside the scope."""
    return _one(conn, t.events, scope, event_id)


def list_runs(
    conn: sa.Connection,
    scope: Scope,
    *,
    after: Sequence[Any] | None,
    limit: int,
    filters: dict[str, Any],
) -> list[sa.Row[Any]]:
    """List runs, newest first."""
    return _newest_first(conn, t.runs, scope, after=after, limit=limit, filters=filters)


def get_run(conn: sa.Connection, scope: Scope, run_id: str) -> sa.Row[Any] | None:
    """Fetch one run inside the scope."""
    return _one(conn, t.runs, scope, run_id)


def list_exceptions(
    conn: sa.Connection,
    scope: Scope,
    *,
    after: Sequence[Any] | None,
    limit: int,
    filters: dict[str, Any],
) -> list[sa.Row[Any]]:
    """List exception-queue entries, newest first."""
    return _newest_first(conn, t.exceptions, scope, after=after, limit=limit, filters=filters)


def get_exception(conn: sa.Connection, scope: Scope, exception_id: str) -> sa.Row[Any] | None:
    """Fetch one exception inside the scope."""
    return _one(conn, t.exceptions, scope, exception_id)


def list_audit(
    conn: sa.Connection,
    scope: Scope,
    *,
    after: Sequence[Any] | None,
    limit: int,
    filters: dict[str, Any],
) -> list[sa.Row[Any]]:
    """List audit rows by (chain, seq); a partner also sees its own chain."""
    a = t.audit_log
    inside = tenant_clause(a.c.tenant_id, scope)
    if scope.tenant_id is None and scope.partner_id is not None:
        inside = sa.or_(inside, a.c.tenant_id == scope.partner_id)
    query = _filters(sa.select(a).where(inside), a, filters)
    return list(conn.execute(_page(query, [a.c.tenant_id, a.c.seq], after=after, limit=limit)))


def audit_chains(conn: sa.Connection, scope: Scope) -> list[str]:
    """Return the audit chains inside the scope (its tenants, and the partner's own)."""
    h = t.audit_heads
    inside = tenant_clause(h.c.tenant_id, scope)
    if scope.tenant_id is None and scope.partner_id is not None:
        inside = sa.or_(inside, h.c.tenant_id == scope.partner_id)
    return list(conn.scalars(sa.select(h.c.tenant_id).where(inside).order_by(h.c.tenant_id)))


def list_xrefs(
    conn: sa.Connection,
    scope: Scope,
    *,
    after: Sequence[Any] | None,
    limit: int,
    filters: dict[str, Any],
) -> list[sa.Row[Any]]:
    """List cross-references by (tenant, object type, canonical id, system)."""
    x = t.xrefs
    query = _filters(sa.select(x).where(tenant_clause(x.c.tenant_id, scope)), x, filters)
    key = [x.c.tenant_id, x.c.object_type, x.c.canonical_id, x.c.system]
    return list(conn.execute(_page(query, key, after=after, limit=limit)))
