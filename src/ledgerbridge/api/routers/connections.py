"""Connections of a tenant environment: settings, write-only credentials, and a live test."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import aiohttp
from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ledgerbridge import connectors, errors, tenancy
from ledgerbridge.api import _problems, _views
from ledgerbridge.api._pagination import Page
from ledgerbridge.api.deps import DbDep, KeyringDep, PageDep, PrincipalDep

router = APIRouter(tags=["connections"], responses=_problems.responses(401, 403, 404, 422))
TenantId = Annotated[str, Path(max_length=64)]
ConnectionId = Annotated[str, Path(max_length=64)]
PING_TIMEOUT_S = 10.0


class ConnectionIn(BaseModel):
    """A new connection; ``credentials`` are sealed at rest and never returned."""

    kind: str = Field(min_length=1, max_length=64, description="a registered connector kind")
    environment: Literal["sandbox", "production"] = "production"
    settings: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, Any] = Field(default_factory=dict, json_schema_extra={"writeOnly": True})
    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


class ConnectionPatch(BaseModel):
    """New settings and/or credentials (each replaces the whole document; {} clears)."""

    settings: dict[str, Any] | None = None
    credentials: dict[str, Any] | None = Field(default=None, json_schema_extra={"writeOnly": True})


class ConnectionOut(BaseModel):
    """A connection; credentials appear only as ``has_credentials``."""

    id: str
    tenant_id: str
    environment: str
    kind: str
    settings: dict[str, Any]
    has_credentials: bool
    created_at: float


class ConnectionTest(BaseModel):
    """The outcome of pinging the connected system."""

    ok: bool
    error: str | None = None


@router.get("/tenants/{tenant_id}/connections", response_model=Page[ConnectionOut])
def list_connections(
    tenant_id: TenantId,
    principal: PrincipalDep,
    db: DbDep,
    page: PageDep,
    environment: Literal["sandbox", "production"] | None = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    """List a tenant's connections."""
    return _views.connections(db, principal, tenant_id, page, environment=environment, kind=kind)


@router.post(
    "/tenants/{tenant_id}/connections",
    response_model=ConnectionOut,
    status_code=status.HTTP_201_CREATED,
    responses=_problems.responses(409),
)
def create_connection(
    tenant_id: TenantId, body: ConnectionIn, principal: PrincipalDep, db: DbDep, keyring: KeyringDep
) -> Any:
    """Add a connection to a tenant environment."""
    return tenancy.manage.create_connection(
        db,
        principal,
        tenant_id,
        kind=body.kind,
        environment=body.environment,
        settings=body.settings,
        credentials=body.credentials,
        keyring=keyring,
        connection_id=body.id,
    )


@router.get("/tenants/{tenant_id}/connections/{connection_id}", response_model=ConnectionOut)
def get_connection(
    tenant_id: TenantId, connection_id: ConnectionId, principal: PrincipalDep, db: DbDep
) -> Any:
    """Return one connection."""
    return _views.connection(db, principal, tenant_id, connection_id)


@router.patch("/tenants/{tenant_id}/connections/{connection_id}", response_model=ConnectionOut)
def update_connection(
    tenant_id: TenantId,
    connection_id: ConnectionId,
    body: ConnectionPatch,
    principal: PrincipalDep,
    db: DbDep,
    keyring: KeyringDep,
) -> Any:
    """Replace a connection's settings and/or credentials."""
    return tenancy.manage.update_connection(
        db,
        principal,
        tenant_id,
        connection_id,
        settings=body.settings,
        credentials=body.credentials,
        keyring=keyring,
    )


@router.delete(
    "/tenants/{tenant_id}/connections/{connection_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_problems.responses(409),
)
def delete_connection(
    tenant_id: TenantId, connection_id: ConnectionId, principal: PrincipalDep, db: DbDep
) -> None:
    """Remove a connection that no active deployment binds."""
    tenancy.manage.delete_connection(db, principal, tenant_id, connection_id)


@router.post("/tenants/{tenant_id}/connections/{connection_id}/test", response_model=ConnectionTest)
async def test_connection(
    tenant_id: TenantId,
    connection_id: ConnectionId,
    principal: PrincipalDep,
    db: DbDep,
    keyring: KeyringDep,
) -> Any:
    """Build the connector and ping the system; answer ok or the error message."""
    principal.require(tenancy.Permission.OPERATE)

    def load() -> tuple[str, dict[str, Any]]:
        with db.read() as conn:
            row = tenancy.manage.get_connection(conn, principal, tenant_id, connection_id)
        return row.kind, tenancy.manage.unsealed_settings(row, keyring)

    kind, settings = await run_in_threadpool(load)
    error = await _ping(kind, settings, tenant_id)
    return ConnectionTest(ok=error is None, error=error)


async def _ping(kind: str, settings: dict[str, Any], tenant_id: str) -> str | None:
    async with aiohttp.ClientSession() as session:
        try:
            connector = connectors.create(kind, settings, session=session, tenant_id=tenant_id)
        except KeyError:
            return f"kind {kind!r} is not a registered connector"
        try:
            await asyncio.wait_for(connector.ping(), PING_TIMEOUT_S)
        except TimeoutError:
            return f"no answer within {PING_TIMEOUT_S:g} s"
        except errors.LedgerbridgeError as exc:
            return _redact(exc.message, settings)
        except Exception as exc:
            # Any failure of a third-party client is the answer to the test, not a 500.
            return _redact(f"{type(exc).__name__}: {exc}", settings)
        finally:
            await connector.aclose()
    return None


def _redact(message: str, settings: dict[str, Any]) -> str:
    for value in settings.values():
        if isinstance(value, str) and len(value) >= 6:
            message = message.replace(value, "***")
    return message
