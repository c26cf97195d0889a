"""Named queries for API keys and users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ledgerbridge.store import _tables as t
from ledgerbridge.store._scoped import Scope, _page, tenant_clause


def _principal_scope(table: sa.Table, scope: Scope) -> Any:
    if scope.tenant_id is not None:
        return table.c.tenant_id == scope.tenant_id
    if scope.partner_id is not None:
        return table.c.partner_id == scope.partner_id
    return sa.true()


def insert_api_key(conn: sa.Connection, row: dict[str, Any]) -> None:
    """Store a new API key (its hash only)."""
    conn.execute(sa.insert(t.api_keys), row)


def find_api_key(conn: sa.Connection, key_id: str) -> sa.Row[Any] | None:
    """Fetch an API key by id, for authentication."""
    return conn.execute(sa.select(t.api_keys).where(t.api_keys.c.id == key_id)).first()


def touch_api_key(conn: sa.Connection, key_id: str, *, now: float, older_than: float) -> None:
    """Record that a key was used, unless that was already recorded after ``older_than``."""
    k = t.api_keys
    conn.execute(
        sa.update(k)
        .where(k.c.id == key_id)
        .where(sa.or_(k.c.last_used_at.is_(None), k.c.last_used_at < older_than))
        .values(last_used_at=now)
    )


def list_api_keys(
    conn: sa.Connection, scope: Scope, *, after: Sequence[Any] | None, limit: int
) -> list[sa.Row[Any]]:
    """List the API keys inside the scope, by id."""
    query = sa.select(t.api_keys).where(_principal_scope(t.api_keys, scope))
    return list(conn.execute(_page(query, [t.api_keys.c.id], after=after, limit=limit)))


def get_api_key(conn: sa.Connection, scope: Scope, key_id: str) -> sa.Row[Any] | None:
    """Fetch one API key inside the scope."""
    k = t.api_keys
    query = sa.select(k).where(k.c.id == key_id, _principal_scope(k, scope))
    return conn.execute(query).first()


def revoke_api_key(conn: sa.Connection, key_id: str, *, now: float) -> None:
    """Revoke an API key."""
    k = t.api_keys
    conn.execute(
        sa.update(k).where(k.c.id == key_id, k.c.revoked_at.is_(None)).values(revoked_at=now)
    )


def insert_user(conn: sa.Connection, row: dict[str, Any]) -> None:
    """Create a user."""
    conn.execute(sa.insert(t.users), row)


def find_user_by_email(conn: sa.Connection, email: str) -> sa.Row[Any] | None:
    """Fetch a user by e-mail address, for sign-in."""
    return conn.execute(sa.select(t.users).where(t.users.c.email == email)).first()


def list_users(
    conn: sa.Connection, scope: Scope, *, after: Sequence[Any] | None, limit: int
) -> list[sa.Row[Any]]:
    """List the users inside the scope, by id."""
    query = sa.select(t.users).where(_principal_scope(t.users, scope))
    return list(conn.execute(_page(query, [t.users.c.id], after=after, limit=limit)))


def get_user(conn: sa.Connection, scope: Scope, user_id: str) -> sa.Row[Any] | None:
    """Fetch one user inside the scope."""
    u = t.users
    query = sa.select(u).where(u.c.id == user_id, _principal_scope(u, scope))
    return conn.execute(query).first()


def disable_user(conn: sa.Connection, user_id: str, *, now: float) -> None:
    """Disable a user (kept for the audit trail)."""
    u = t.users
    conn.execute(
        sa.update(u).where(u.c.id == user_id, u.c.disabled_at.is_(None)).values(disabled_at=now)
    )


def tenant_in_partner(conn: sa.Connection, scope: Scope, tenant_id: str) -> bool:
    """Whether ``tenant_id`` exists inside the scope."""
    query = sa.select(t.tenants.c.id).where(
        t.tenants.c.id == tenant_id, tenant_clause(t.tenants.c.id, scope)
    )
    return conn.execute(query).first() is not None
