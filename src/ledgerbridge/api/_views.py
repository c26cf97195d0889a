"""Read services behind the handlers: scoped, paged lists and documents.

Each function opens one read transaction, applies the caller's scope through the scoped
store queries and returns plain documents that the response models validate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from ledgerbridge import errors, store, tenancy
from ledgerbridge.api import _pagination
from ledgerbridge.store import _activity as activity
from ledgerbridge.store import _auth as auth_queries
from ledgerbridge.store import _scoped as scoped

Fetch = Callable[[sa.Connection, list[Any] | None, int], list[Any]]
Page = dict[str, Any]


def _page(
    db: store.Database,
    fetch: Fetch,
    page: tuple[str | None, int],
    *,
    view: Callable[[Any], dict[str, Any]],
    key: Callable[[Any], Sequence[Any]] = lambda r: [r.id],
    width: int = 1,
) -> Page:
    cursor, limit = page
    with db.read() as conn:
        rows, next_cursor = _pagination.paginate(
            lambda after, n: fetch(conn, after, n), cursor=cursor, limit=limit, key=key, width=width
        )
        return {"items": [view(r) for r in rows], "next_cursor": next_cursor}


def _read(principal: tenancy.Principal) -> None:
    principal.require(tenancy.Permission.READ)


# tenancy --------------------------------------------------------------------------------
def partners(
    db: store.Database, principal: tenancy.Principal, page: tuple[str | None, int]
) -> Page:
    """List the partners the caller may see."""
    _read(principal)

    def fetch(conn: sa.Connection, after: list[Any] | None, n: int) -> list[Any]:
        return scoped.list_partners(conn, principal.scope, after=after, limit=n)

    return _page(db, fetch, page, view=tenancy.manage.partner_view)


def partner(db: store.Database, principal: tenancy.Principal, partner_id: str) -> dict[str, Any]:
    """Return one partner."""
    _read(principal)
    with db.read() as conn:
        return tenancy.manage.get_partner(conn, principal, partner_id)


def tenants(
    db: store.Database,
    principal: tenancy.Principal,
    page: tuple[str | None, int],
    *,
    partner_id: str | None,
    sla_tier: str | None,
) -> Page:
    """List the tenants the caller may see."""
    _read(principal)

    def fetch(conn: sa.Connection, after: list[Any] | None, n: int) -> list[Any]:
        return scoped.list_tenants(
            conn, principal.scope, after=after, limit=n, partner_id=partner_id, sla_tier=sla_tier
        )

    return _page(db, fetch, page, view=tenancy.manage.tenant_view)


def tenant(db: store.Database, principal: tenancy.Principal, tenant_id: str) -> dict[str, Any]:
    """Return one tenant."""
    _read(principal)
    with db.read() as conn:
        return tenancy.manage.get_tenant(conn, principal, tenant_id)


def environments(db: store.Database, principal: tenancy.Principal, tenant_id: str) -> Page:
    """List a tenant's environments (never more than a handful: one page)."""
    _read(principal)
    with db.read() as conn:
        tenancy.manage.get_tenant(conn, principal, tenant_id)
        rows = scoped.list_environments(conn, principal.scope, tenant_id)
    return {"items": [tenancy.manage.environment_view(r) for r in rows], "next_cursor": None}


def environment(
    db: store.Database, principal: tenancy.Principal, tenant_id: str, name: str
) -> dict[str, Any]:
    """Return one environment."""
    _read(principal)
    with db.read() as conn:
        return tenancy.manage.get_environment(conn, principal, tenant_id, name)


def connections(
    db: store.Database,
    principal: tenancy.Principal,
    tenant_id: str,
    page: tuple[str | None, int],
    *,
    environment: str | None,
    kind: str | None,
) -> Page:
    """List a tenant's connections (credentials only as present or not)."""
    _read(principal)
    with db.read() as conn:
        tenancy.manage.get_tenant(conn, principal, tenant_id)

    def fetch(conn: sa.Connection, after: list[Any] | None, n: int) -> list[Any]:
        return scoped.list_connections(
            conn,
            principal.scope,
            tenant_id,
            after=after,
            limit=n,
            environment=environment,
            kind=kind,
        )

    return _page(db, fetch, page, view=tenancy.manage.connection_view)


def connection(
    db: store.Database, principal: tenancy.Principal, tenant_id: str, connection_id: str
) -> dict[str, Any]:
    """Return one connection."""
    _read(principal)
    with db.read() as conn:
        row = tenancy.manage.get_connection(conn, principal, tenant_id, connection_id)
    return tenancy.manage.connection_view(row)


def deployments(
    db: store.Database,
    principal: tenancy.Principal,
    tenant_id: str,
    page: tuple[str | None, int],
    *,
    environment: str | None,
    is_active: bool | None,
) -> Page:
    """List a tenant's deployments."""
    _read(principal)
    with db.read() as conn:
        tenancy.manage.get_tenant(conn, principal, tenant_id)

    def fetch(conn: sa.Connection, after: list[Any] | None, n: int) -> list[Any]:
        return scoped.list_deployments(
            conn,
            principal.scope,
            tenant_id,
            after=after,
            limit=n,
            environment=environment,
            is_active=is_active,
        )

    return _page(db, fetch, page, view=tenancy.deployments.deployment_view)


def deployment(
    db: store.Database, principal: tenancy.Principal, tenant_id: str, deployment_id: str
) -> dict[str, Any]:
    """Return one deployment."""
    _read(principal)
    with db.read() as conn:
        return tenancy.deployments.get_deployment(conn, principal, tenant_id, deployment_id)


def api_keys(
    db: store.Database, principal: tenancy.Principal, page: tuple[str | None, int]
) -> Page:
    """List the API keys inside the caller's scope (never their hashes)."""
    principal.require(tenancy.Permission.MANAGE)

    def fetch(conn: sa.Connection, after: list[Any] | None, n: int) -> list[Any]:
        return auth_queries.list_api_keys(conn, principal.scope, after=after, limit=n)

    return _page(db, fetch, page, view=tenancy.access.key_view)


def api_key(db: store.Database, principal: tenancy.Principal, key_id: str) -> dict[str, Any]:
    """Return one API key."""
    principal.require(tenancy.Permission.MANAGE)
    with db.read() as conn:
        row = auth_queries.get_api_key(conn, principal.scope, key_id)
    if row is None:
        raise errors.NotFoundError(f"API key {key_id} does not exist")
    return tenancy.access.key_view(row)


def users(db: store.Database, principal: tenancy.Principal, page: tuple[str | None, int]) -> Page:
    """List the users inside the caller's scope."""
    principal.require(tenancy.Permission.MANAGE)

    def fetch(conn: sa.Connection, after: list[Any] | None, n: int) -> list[Any]:
        return auth_queries.list_users(conn, principal.scope, after=after, limit=n)

    return _page(db, fetch, page, view=tenancy.access.user_view)


def user(db: store.Database, principal: tenancy.Principal, user_id: str) -> dict[str, Any]:
    """Return one user."""
    principal.require(tenancy.Permission.MANAGE)
    with db.read() as conn:
        row = auth_queries.get_user(conn, principal.scope, user_id)
    if row is None:
        raise errors.NotFoundError(f"user {user_id} does not exist")
    return tenancy.access.user_view(row)


# engine objects -------------------------------------------------------------------------
def event_view(row: Any) -> dict[str, Any]:
    """Return an inbox event row as a document."""
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "connection_id": row.connection_id,
        "event_type": row.event_type,
        "object_type": row.object_type,
        "external_id": row.external_id,
        "source_version": row.source_version,
        "payload": store.loads(row.payload) or {},
        "received_at": row.received_at,
    }


def run_view(row: Any) -> dict[str, Any]:
    """Return a run row as a document."""
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "deployment_id": row.deployment_id,
        "flow": row.flow,
        "status": row.status,
        "entity_key": row.entity_key,
        "entity_version": row.entity_version,
        "attempts": row.attempts,
        "event_id": row.event_id,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
        "error": store.loads(row.error),
    }


def exception_view(row: Any) -> dict[str, Any]:
    """Return an exception row as a document."""
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "run_id": row.run_id,
        "flow": row.flow,
        "status": row.status,
        "kind": row.error_kind,
        "reason": row.reason,
        "hint": row.hint,
        "detail": store.loads(row.detail) or {},
        "note": row.note,
        "created_at": row.created_at,
        "resolution": row.resolution,
        "resolved_by": row.resolved_by,
        "resolved_at": row.resolved_at,
    }


def audit_view(row: Any) -> dict[str, Any]:
    """Return an audit row as a document."""
    return {
        "chain": row.tenant_id,
        "seq": row.seq,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "detail": store.loads(row.detail) or {},
        "hash": row.hash,
    }


def xref_view(row: Any) -> dict[str, Any]:
    """Return a cross-reference row as a document."""
    return {
        "tenant_id": row.tenant_id,
        "object_type": row.object_type,
        "canonical_id": row.canonical_id,
        "system": row.system,
        "external_id": row.external_id,
        "data": store.loads(row.data) or {},
        "updated_at": row.updated_at,
    }


_ListFn = Callable[..., list[Any]]


def activity_page(
    db: store.Database,
    principal: tenancy.Principal,
    page: tuple[str | None, int],
    *,
    what: str,
    filters: dict[str, Any],
) -> Page:
    """List events, runs, exceptions, audit rows or xrefs inside the caller's scope."""
    _read(principal)
    list_fn, view, key, width = _ACTIVITY[what]

    def fetch(conn: sa.Connection, after: list[Any] | None, n: int) -> list[Any]:
        return list_fn(conn, principal.scope, after=after, limit=n, filters=filters)

    return _page(db, fetch, page, view=view, key=key, width=width)


_ACTIVITY: dict[
    str, tuple[_ListFn, Callable[[Any], dict[str, Any]], Callable[[Any], Sequence[Any]], int]
] = {
    "events": (activity.list_events, event_view, lambda r: [r.id], 1),
    "runs": (activity.list_runs, run_view, lambda r: [r.id], 1),
    "exceptions": (activity.list_exceptions, exception_view, lambda r: [r.id], 1),
    "audit": (activity.list_audit, audit_view, lambda r: [r.tenant_id, r.seq], 2),
    "xrefs": (
        activity.list_xrefs,
        xref_view,
        lambda r: [r.tenant_id, r.object_type, r.canonical_id, r.system],
        4,
    ),
}


def event(db: store.Database, principal: tenancy.Principal, event_id: str) -> dict[str, Any]:
    """Return one inbox event."""
    _read(principal)
    with db.read() as conn:
        row = activity.get_event(conn, principal.scope, event_id)
    if row is None:
        raise errors.NotFoundError(f"event {event_id} does not exist")
    return event_view(row)


def run_row(db: store.Database, principal: tenancy.Principal, run_id: str) -> Any:
    """Return one run row inside the caller's scope.

    Raises:
        NotFoundError: no such run inside the scope.
    """
    _read(principal)
    with db.read() as conn:
        row = activity.get_run(conn, principal.scope, run_id)
    if row is None:
        raise errors.NotFoundError(f"run {run_id} does not exist")
    return row


def run_steps(db: store.Database, principal: tenancy.Principal, run_id: str) -> Page:
    """List the steps of one run, in order (a run has few steps: one page)."""
    row = run_row(db, principal, run_id)
    with db.read() as conn:
        steps = store.runs.run_steps(conn, row.tenant_id, run_id)
    items = [
        {
            "name": s.name,
            "seq": s.seq,
            "status": s.status,
            "attempts": s.attempts,
            "idempotency_key": s.idempotency_key,
            "result": store.loads(s.result),
            "error": store.loads(s.error),
            "started_at": s.started_at,
            "finished_at": s.finished_at,
        }
        for s in steps
    ]
    return {"items": items, "next_cursor": None}


def exception_row(db: store.Database, principal: tenancy.Principal, exception_id: str) -> Any:
    """Return one exception row inside the caller's scope.

    Raises:
        NotFoundError: no such exception inside the scope.
    """
    _read(principal)
    with db.read() as conn:
        row = activity.get_exception(conn, principal.scope, exception_id)
    if row is None:
        raise errors.NotFoundError(f"exception {exception_id} does not exist")
    return row


def audit_chains(
    db: store.Database, principal: tenancy.Principal, tenant_id: str | None
) -> list[str]:
    """Return the audit chains inside the caller's scope, or the one asked for.

    Raises:
        NotFoundError: ``tenant_id`` is outside the scope.
    """
    with db.read() as conn:
        chains = activity.audit_chains(conn, principal.scope)
    if tenant_id is None:
        return chains
    if tenant_id not in chains:
        raise errors.NotFoundError(f"tenant {tenant_id} has no audit trail")
    return [tenant_id]


def open_exceptions(
    db: store.Database, principal: tenancy.Principal, *, filters: dict[str, Any], limit: int
) -> list[Any]:
    """Return up to ``limit`` open exception rows inside the caller's scope, newest first."""
    _read(principal)
    with db.read() as conn:
        return activity.list_exceptions(
            conn, principal.scope, after=None, limit=limit, filters={**filters, "status": "open"}
        )
