"""Tenancy objects as a caller sees and changes them: every call takes a principal.

Reads filter by the principal's scope in SQL (an object outside it is reported as not
existing); changes check the role first and are written to the audit trail with the actor.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ledgerbridge import connectors, errors, store
from ledgerbridge.store import _scoped as scoped
from ledgerbridge.tenancy import _service
from ledgerbridge.tenancy._access import Permission, Principal, audit
from ledgerbridge.tenancy._secrets import Keyring


def _missing(what: str, ident: str) -> errors.NotFoundError:
    return errors.NotFoundError(f"{what} {ident} does not exist")


# partners -------------------------------------------------------------------------------
def partner_view(row: Any) -> dict[str, Any]:
    """Return a partner row as a document."""
    return {
        "id": row.id,
        "name": row.name,
        "brand": store.loads(row.brand) or {},
        "created_at": row.created_at,
    }


def get_partner(conn: sa.Connection, principal: Principal, partner_id: str) -> dict[str, Any]:
    """Return one partner inside the principal's scope.

    Raises:
        NotFoundError: no such partner inside the scope.
    """
    row = scoped.get_partner(conn, principal.scope, partner_id)
    if row is None:
        raise _missing("partner", partner_id)
    return partner_view(row)


def create_partner(
    db: store.Database, principal: Principal, *, name: str, brand: Mapping[str, Any]
) -> dict[str, Any]:
    """Create a partner (platform operators only); return it."""
    principal.require(Permission.PLATFORM)
    partner_id = _service.create_partner(db, name=name, brand=dict(brand), actor=principal.actor)
    with db.write() as conn:
        audit(
            conn, partner_id, principal.actor, "partner.created", f"partner:{partner_id}", name=name
        )
        return get_partner(conn, principal, partner_id)


def update_partner(
    db: store.Database, principal: Principal, partner_id: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Change a partner's name or brand; return it."""
    principal.require(Permission.MANAGE)
    with db.write() as conn:
        get_partner(conn, principal, partner_id)
        if principal.scope.tenant_id is not None:
            raise errors.ConfigError("a tenant key may not change its partner", status_code=403)
        values = {k: v for k, v in changes.items() if v is not None}
        if "brand" in values:
            values["brand"] = store.dumps(values["brand"])
        if values:
            scoped.update_partner(conn, partner_id, values)
            audit(
                conn,
                partner_id,
                principal.actor,
                "partner.updated",
                f"partner:{partner_id}",
                fields=sorted(values),
            )
        return get_partner(conn, principal, partner_id)


# tenants --------------------------------------------------------------------------------
def tenant_view(row: Any) -> dict[str, Any]:
    """Return a tenant row as a document."""
    return {
        "id": row.id,
        "partner_id": row.partner_id,
        "name": row.name,
        "sla_tier": row.sla_tier,
        "created_at": row.created_at,
    }


def get_tenant(conn: sa.Connection, principal: Principal, tenant_id: str) -> dict[str, Any]:
    """Return one tenant inside the principal's scope.

    Raises:
        NotFoundError: no such tenant inside the scope.
    """
    row = scoped.get_tenant(conn, principal.scope, tenant_id)
    if row is None:
        raise _missing("tenant", tenant_id)
    return tenant_view(row)


def create_tenant(
    db: store.Database,
    principal: Principal,
    *,
    name: str,
    sla_tier: str,
    partner_id: str | None = None,
) -> dict[str, Any]:
    """Create a tenant under the principal's partner (a platform caller names one)."""
    principal.require(Permission.MANAGE)
    if principal.scope.tenant_id is not None:
        raise errors.ConfigError("a tenant key may not create tenants", status_code=403)
    partner_id = principal.scope.partner_id or partner_id
    if partner_id is None:
        raise errors.ConfigError("name the partner of the new tenant", field="partner_id")
    with db.read() as conn:
        get_partner(conn, principal, partner_id)
    tenant_id = _service.create_tenant(
        db, partner_id=partner_id, name=name, sla_tier=sla_tier, actor=principal.actor
    )
    with db.read() as conn:
        return get_tenant(conn, principal, tenant_id)


def update_tenant(
    db: store.Database, principal: Principal, tenant_id: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Change a tenant's name or SLA tier; return it."""
    principal.require(Permission.MANAGE)
    with db.write() as conn:
        get_tenant(conn, principal, tenant_id)
        values = {k: v for k, v in changes.items() if v is not None}
        if values:
            scoped.update_tenant(conn, tenant_id, values)
            audit(
                conn, tenant_id, principal.actor, "tenant.updated", f"tenant:{tenant_id}", **values
            )
        return get_tenant(conn, principal, tenant_id)


# environments ---------------------------------------------------------------------------
def environment_view(row: Any) -> dict[str, Any]:
    """Return an environment row as a document."""
    return {
        "tenant_id": row.tenant_id,
        "name": row.name,
        "label": row.label,
        "created_at": row.created_at,
    }


def get_environment(
    conn: sa.Connection, principal: Principal, tenant_id: str, name: str
) -> dict[str, Any]:
    """Return one environment of a tenant inside the principal's scope.

    Raises:
        NotFoundError: no such tenant or environment inside the scope.
    """
    row = scoped.get_environment(conn, principal.scope, tenant_id, name)
    if row is None:
        get_tenant(conn, principal, tenant_id)
        raise _missing("environment", f"{name} of tenant {tenant_id}")
    return environment_view(row)


def update_environment(
    db: store.Database, principal: Principal, tenant_id: str, name: str, *, label: str
) -> dict[str, Any]:
    """Change an environment's label; return it."""
    principal.require(Permission.MANAGE)
    with db.write() as conn:
        get_environment(conn, principal, tenant_id, name)
        scoped.update_environment(conn, tenant_id, name, label)
        audit(
            conn,
            tenant_id,
            principal.actor,
            "environment.updated",
            f"environment:{name}",
            label=label,
        )
        return get_environment(conn, principal, tenant_id, name)


# connections ----------------------------------------------------------------------------
def connection_view(row: Any) -> dict[str, Any]:
    """Return a connection row as a document; credentials are reported only as present."""
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "environment": row.environment,
        "kind": row.kind,
        "settings": store.loads(row.settings) or {},
        "has_credentials": row.secret is not None,
        "created_at": row.created_at,
    }


def get_connection(
    conn: sa.Connection, principal: Principal, tenant_id: str, connection_id: str
) -> Any:
    """Return one connection row inside the principal's scope.

    Raises:
        NotFoundError: no such tenant or connection inside the scope.
    """
    row = scoped.get_connection(conn, principal.scope, tenant_id, connection_id)
    if row is None:
        get_tenant(conn, principal, tenant_id)
        raise _missing("connection", connection_id)
    return row


def create_connection(
    db: store.Database,
    principal: Principal,
    tenant_id: str,
    *,
    kind: str,
    environment: str,
    settings: Mapping[str, Any],
    credentials: Mapping[str, Any],
    keyring: Keyring,
    connection_id: str | None = None,
) -> dict[str, Any]:
    """Add a connection with sealed credentials to a tenant environment; return it."""
    principal.require(Permission.MANAGE)
    if kind not in connectors.kinds():
        known = ", ".join(connectors.kinds())
        raise errors.ConfigError(
            f"kind {kind!r} is not a known connector (known: {known})", field="kind"
        )
    with db.read() as conn:
        get_environment(conn, principal, tenant_id, environment)
        if connection_id and scoped.get_connection(conn, principal.scope, tenant_id, connection_id):
            raise errors.PermanentError(f"connection {connection_id} already exists", field="id")
    cid = _service.add_connection(
        db,
        tenant_id=tenant_id,
        kind=kind,
        settings=dict(settings),
        connection_id=connection_id,
        environment=environment,
        actor=principal.actor,
        credentials=dict(credentials) or None,
        keyring=keyring,
    )
    with db.read() as conn:
        return connection_view(get_connection(conn, principal, tenant_id, cid))


def update_connection(
    db: store.Database,
    principal: Principal,
    tenant_id: str,
    connection_id: str,
    *,
    settings: Mapping[str, Any] | None,
    credentials: Mapping[str, Any] | None,
    keyring: Keyring,
) -> dict[str, Any]:
    """Replace a connection's settings and/or credentials; return it."""
    principal.require(Permission.MANAGE)
    with db.write() as conn:
        get_connection(conn, principal, tenant_id, connection_id)
        values: dict[str, Any] = {}
        if settings is not None:
            values["settings"] = store.dumps(dict(settings))
        if credentials is not None:
            values["secret"] = keyring.seal(credentials) if credentials else None
        if values:
            scoped.update_connection(conn, tenant_id, connection_id, values)
            audit(
                conn,
                tenant_id,
                principal.actor,
                "connection.updated",
                f"connection:{connection_id}",
                fields=sorted(values),
            )
        return connection_view(get_connection(conn, principal, tenant_id, connection_id))


def delete_connection(
    db: store.Database, principal: Principal, tenant_id: str, connection_id: str
) -> None:
    """Remove a connection that no active deployment binds.

    Raises:
        PermanentError: an active deployment still binds it.
    """
    principal.require(Permission.MANAGE)
    with db.write() as conn:
        get_connection(conn, principal, tenant_id, connection_id)
        for row in store.tenancy.active_deployments(conn, tenant_id):
            bindings = (store.loads(row.settings) or {}).get("bindings", {})
            if connection_id in bindings.values():
                raise errors.PermanentError(
                    f"deployment {row.id} still binds connection {connection_id}",
                    hint="retire the deployment first",
                )
        scoped.delete_connection(conn, tenant_id, connection_id)
        audit(conn, tenant_id, principal.actor, "connection.deleted", f"connection:{connection_id}")


def unsealed_settings(row: Any, keyring: Keyring) -> dict[str, Any]:
    """Return a connection row's settings with its credentials merged in."""
    settings: dict[str, Any] = store.loads(row.settings) or {}
    if row.secret:
        settings.update(keyring.open(row.secret))
    return settings


def now() -> float:
    """The current time (seconds since the epoch)."""
    return time.time()
