"""Deployments as the engine sees them: a parsed blueprint plus bindings and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ledgerbridge import blueprints, store
from ledgerbridge.errors import NotFoundError


@dataclass(frozen=True, kw_only=True, slots=True)
class Deployment:
    """A blueprint version pinned in one tenant environment."""

    tenant_id: str
    id: str
    blueprint: Any
    bindings: dict[str, str]
    settings: dict[str, Any]

    @property
    def bound_connections(self) -> set[str]:
        """The connection ids this deployment listens to."""
        return set(self.bindings.values())


class DeploymentCache:
    """Parses each deployment's blueprint once per process (deployed versions are immutable)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Deployment] = {}

    def get(self, conn: sa.Connection, tenant_id: str, deployment_id: str) -> Deployment:
        """Return the deployment, parsing it on first use."""
        key = (tenant_id, deployment_id)
        found = self._cache.get(key)
        if found is None:
            row = store.tenancy.get_deployment(conn, tenant_id, deployment_id)
            if row is None:
                raise NotFoundError(
                    f"deployment {deployment_id} of tenant {tenant_id} does not exist"
                )
            found = from_row(row)
            self._cache[key] = found
        return found

    def active(self, conn: sa.Connection, tenant_id: str) -> list[Deployment]:
        """Return the tenant's active deployments."""
        result = []
        for row in store.tenancy.active_deployments(conn, tenant_id):
            key = (tenant_id, row.id)
            if key not in self._cache:
                self._cache[key] = from_row(row)
            result.append(self._cache[key])
        return result


def from_row(row: Any) -> Deployment:
    """Build a Deployment from its stored row."""
    settings = store.loads(row.settings) or {}
    blueprint = blueprints.load_text(row.document, source=f"deployment {row.id}")
    return Deployment(
        tenant_id=row.tenant_id,
        id=row.id,
        blueprint=blueprint,
        bindings=dict(settings.get("bindings", {})),
        settings=settings,
    )
