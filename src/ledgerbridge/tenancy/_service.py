"""Creating partners, tenants, connections and deployments."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledgerbridge import blueprints, store
from ledgerbridge.engine import client as engine_client
from ledgerbridge.engine import new_id
from ledgerbridge.store import _scoped
from ledgerbridge.store._audit import AuditEntry

if TYPE_CHECKING:
    from ledgerbridge.tenancy._secrets import Keyring

SLA_TIERS = ("bronze", "silver", "gold")
#: the environments every new tenant gets
ENVIRONMENTS = ("sandbox", "production")


def create_partner(
    db: store.Database,
    *,
    name: str,
    brand: dict[str, Any] | None = None,
    partner_id: str | None = None,
    actor: str = "system",
) -> str:
    """Create a partner (a brand that runs the platform for its customers); return its id."""
    if not name.strip():
        raise ValueError("partner name must not be empty")
    pid = partner_id or new_id("ptn")
    with db.write() as conn:
        store.tenancy.insert_partner(
            conn,
            {"id": pid, "name": name, "brand": store.dumps(brand or {}), "created_at": time.time()},
        )
    return pid


def create_tenant(
    db: store.Database,
    *,
    partner_id: str,
    name: str,
    sla_tier: str = "silver",
    tenant_id: str | None = None,
    actor: str = "system",
) -> str:
    """Create a tenant (a customer firm) under a partner; return its id."""
    if sla_tier not in SLA_TIERS:
        raise ValueError(f"sla_tier must be one of {', '.join(SLA_TIERS)}, not {sla_tier!r}")
    tid = tenant_id or new_id("tnt")
    now = time.time()
    with db.write() as conn:
        store.tenancy.insert_tenant(
            conn,
            {
                "id": tid,
                "partner_id": partner_id,
                "name": name,
                "sla_tier": sla_tier,
                "created_at": now,
            },
        )
        _scoped.insert_environments(
            conn,
            [{"tenant_id": tid, "name": e, "label": "", "created_at": now} for e in ENVIRONMENTS],
        )
        store.audit.append(
            conn,
            [
                AuditEntry(
                    tenant_id=tid,
                    actor=actor,
                    action="tenant.created",
                    subject=f"tenant:{tid}",
                    detail={"name": name},
                    at=now,
                )
            ],
        )
    return tid


def add_connection(
    db: store.Database,
    *,
    tenant_id: str,
    kind: str,
    settings: dict[str, Any],
    connection_id: str | None = None,
    environment: str = "production",
    actor: str = "system",
    credentials: dict[str, Any] | None = None,
    keyring: Keyring | None = None,
) -> str:
    """Add a connection to an external system for a tenant; return its id.

    ``credentials`` are sealed with ``keyring`` and stored apart from ``settings``; they
    are never returned by the API.
    """
    if credentials and keyring is None:
        raise ValueError("credentials need a keyring to be sealed with")
    secret = keyring.seal(credentials) if credentials and keyring is not None else None
    cid = connection_id or new_id("con")
    now = time.time()
    with db.write() as conn:
        store.tenancy.insert_connection(
            conn,
            {
                "tenant_id": tenant_id,
                "id": cid,
                "kind": kind,
                "environment": environment,
                "settings": store.dumps(settings),
                "secret": secret,
                "created_at": now,
            },
        )
        store.audit.append(
            conn,
            [
                AuditEntry(
                    tenant_id=tenant_id,
                    actor=actor,
                    action="connection.added",
                    subject=f"connection:{cid}",
                    detail={"kind": kind},
                    at=now,
                )
            ],
        )
    return cid


def deploy_blueprint(
    db: store.Database,
    *,
    tenant_id: str,
    document: str | Path,
    bindings: dict[str, str],
    settings: dict[str, Any] | None = None,
    environment: str = "production",
    actor: str = "system",
) -> str:
    """Validate a blueprint and pin it, with its connection bindings, in an environment.

    Raises:
        BlueprintError: the document is invalid.
    """
    text = document.read_text() if isinstance(document, Path) else document
    blueprint = blueprints.load_text(
        text, source=str(document) if isinstance(document, Path) else "<deployment>"
    )
    missing = sorted(set(blueprint.connections) - set(bindings))
    if missing:
        raise ValueError(f"bind every connection of the blueprint; missing: {', '.join(missing)}")
    for flow in blueprint.flows:  # a mode the flow cannot run in is refused now, not at ingest
        engine_client.effective_mode(flow, dict(settings or {}))
    did = new_id("dep")
    now = time.time()
    all_settings = dict(settings or {}) | {"bindings": bindings}
    with db.write() as conn:
        store.tenancy.insert_deployment(
            conn,
            {
                "tenant_id": tenant_id,
                "id": did,
                "environment": environment,
                "blueprint_name": blueprint.name,
                "blueprint_version": blueprint.version,
                "document": text,
                "settings": store.dumps(all_settings),
                "created_at": now,
            },
        )
        store.audit.append(
            conn,
            [
                AuditEntry(
                    tenant_id=tenant_id,
                    actor=actor,
                    action="blueprint.deployed",
                    subject=f"deployment:{did}",
                    detail={
                        "blueprint": blueprint.name,
                        "version": blueprint.version,
                        "digest": blueprint.digest,
                    },
                    at=now,
                )
            ],
        )
    return did
