"""Deployments as a caller sees and changes them: pin, read, retire, re-activate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ledgerbridge import errors, store
from ledgerbridge.store import _scoped as scoped
from ledgerbridge.tenancy import _manage, _service
from ledgerbridge.tenancy._access import Permission, Principal, audit


def deployment_view(row: Any) -> dict[str, Any]:
    """Return a deployment row as a document (bindings split out of the settings)."""
    settings = dict(store.loads(row.settings) or {})
    bindings = settings.pop("bindings", {})
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "environment": row.environment,
        "blueprint_name": row.blueprint_name,
        "blueprint_version": row.blueprint_version,
        "document": row.document,
        "bindings": bindings,
        "settings": settings,
        "is_active": bool(row.is_active),
        "created_at": row.created_at,
    }


def get_deployment(
    conn: sa.Connection, principal: Principal, tenant_id: str, deployment_id: str
) -> dict[str, Any]:
    """Return one deployment inside the principal's scope.

    Raises:
        NotFoundError: no such tenant or deployment inside the scope.
    """
    row = scoped.get_deployment(conn, principal.scope, tenant_id, deployment_id)
    if row is None:
        _manage.get_tenant(conn, principal, tenant_id)
        raise errors.NotFoundError(f"deployment {deployment_id} does not exist")
    return deployment_view(row)


def create_deployment(
    db: store.Database,
    principal: Principal,
    tenant_id: str,
    *,
    document: str,
    bindings: Mapping[str, str],
    settings: Mapping[str, Any],
    environment: str,
) -> dict[str, Any]:
    """Validate a blueprint and pin it with its bindings in a tenant environment.

    Raises:
        BlueprintError: the document is invalid.
        ConfigError: a binding names no connection of that environment, or one is missing.
    """
    principal.require(Permission.MANAGE)
    with db.read() as conn:
        _manage.get_environment(conn, principal, tenant_id, environment)
        for logical, connection_id in bindings.items():
            row = scoped.get_connection(conn, principal.scope, tenant_id, connection_id)
            if row is None or row.environment != environment:
                raise errors.ConfigError(
                    f"binding {logical!r} names connection {connection_id!r}, which the "
                    f"{environment} environment of tenant {tenant_id} does not have",
                    field=f"bindings.{logical}",
                )
    try:
        deployment_id = _service.deploy_blueprint(
            db,
            tenant_id=tenant_id,
            document=document,
            bindings=dict(bindings),
            settings=dict(settings),
            environment=environment,
            actor=principal.actor,
        )
    except ValueError as exc:
        raise errors.ConfigError(str(exc), field="bindings") from exc
    with db.read() as conn:
        return get_deployment(conn, principal, tenant_id, deployment_id)


def set_active(
    db: store.Database, principal: Principal, tenant_id: str, deployment_id: str, *, is_active: bool
) -> dict[str, Any]:
    """Retire a deployment (it stops receiving events) or activate it again; return it."""
    principal.require(Permission.MANAGE)
    with db.write() as conn:
        get_deployment(conn, principal, tenant_id, deployment_id)
        scoped.set_deployment_active(conn, tenant_id, deployment_id, is_active=is_active)
        action = "deployment.activated" if is_active else "deployment.retired"
        audit(conn, tenant_id, principal.actor, action, f"deployment:{deployment_id}")
        return get_deployment(conn, principal, tenant_id, deployment_id)
