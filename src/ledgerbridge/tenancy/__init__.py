"""Partners (brands), tenants, environments, connections, deployments, access and secrets.

``access`` holds roles, principals, API keys and users; ``manage`` and ``deployments`` the
scoped, audited operations the API calls; ``secrets`` sealing of connection credentials.
"""

from __future__ import annotations

from ledgerbridge.tenancy import _access as access
from ledgerbridge.tenancy import _deployments as deployments
from ledgerbridge.tenancy import _manage as manage
from ledgerbridge.tenancy import _secrets as secrets
from ledgerbridge.tenancy._access import (
    PLATFORM_ADMIN,
    ROLES,
    Permission,
    Principal,
    authenticate,
    bootstrap_api_key,
)
from ledgerbridge.tenancy._secrets import Keyring, connection_settings, rotate_credentials
from ledgerbridge.tenancy._service import (
    ENVIRONMENTS,
    SLA_TIERS,
    add_connection,
    create_partner,
    create_tenant,
    deploy_blueprint,
)

__all__ = [
    "ENVIRONMENTS",
    "PLATFORM_ADMIN",
    "ROLES",
    "SLA_TIERS",
    "Keyring",
    "Permission",
    "Principal",
    "access",
    "add_connection",
    "authenticate",
    "bootstrap_api_key",
    "connection_settings",
    "create_partner",
    "create_tenant",
    "deploy_blueprint",
    "deployments",
    "manage",
    "rotate_credentials",
    "secrets",
]
