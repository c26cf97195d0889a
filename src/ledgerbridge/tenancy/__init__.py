"""Partners (brands), tenants, connections and deployments."""

from __future__ import annotations

from ledgerbridge.tenancy._service import (
    SLA_TIERS,
    add_connection,
    create_partner,
    create_tenant,
    deploy_blueprint,
)

__all__ = ["SLA_TIERS", "add_connection", "create_partner", "create_tenant", "deploy_blueprint"]
