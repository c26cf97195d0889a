"""Tenants (customer firms) and their environments."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field

from ledgerbridge import tenancy
from ledgerbridge.api import _problems, _views
from ledgerbridge.api._pagination import Page
from ledgerbridge.api.deps import DbDep, PageDep, PrincipalDep

router = APIRouter(tags=["tenants"], responses=_problems.responses(401, 403, 404, 422))
TenantId = Annotated[str, Path(max_length=64)]
SlaTier = Literal["bronze", "silver", "gold"]
EnvironmentName = Literal["sandbox", "production"]


class TenantIn(BaseModel):
    """A new tenant; a platform caller names its partner."""

    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    sla_tier: SlaTier = "silver"
    partner_id: str | None = Field(default=None, max_length=64)


class TenantPatch(BaseModel):
    """Changes to a tenant; omitted fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    sla_tier: SlaTier | None = None


class TenantOut(BaseModel):
    """A tenant."""

    id: str
    partner_id: str
    name: str
    sla_tier: str
    created_at: float


class EnvironmentPatch(BaseModel):
    """Changes to an environment."""

    label: str = Field(max_length=200)


class EnvironmentOut(BaseModel):
    """One environment of a tenant: connections and deployments live in it."""

    tenant_id: str
    name: str
    label: str
    created_at: float


@router.get("/tenants", response_model=Page[TenantOut])
def list_tenants(
    principal: PrincipalDep,
    db: DbDep,
    page: PageDep,
    partner_id: Annotated[str | None, Query(max_length=64)] = None,
    sla_tier: SlaTier | None = None,
) -> Any:
    """List the tenants the caller may see."""
    return _views.tenants(db, principal, page, partner_id=partner_id, sla_tier=sla_tier)


@router.post("/tenants", response_model=TenantOut, status_code=status.HTTP_201_CREATED)
def create_tenant(body: TenantIn, principal: PrincipalDep, db: DbDep) -> Any:
    """Create a tenant with a sandbox and a production environment."""
    return tenancy.manage.create_tenant(
        db, principal, name=body.name, sla_tier=body.sla_tier, partner_id=body.partner_id
    )


@router.get("/tenants/{tenant_id}", response_model=TenantOut)
def get_tenant(tenant_id: TenantId, principal: PrincipalDep, db: DbDep) -> Any:
    """Return one tenant."""
    return _views.tenant(db, principal, tenant_id)


@router.patch("/tenants/{tenant_id}", response_model=TenantOut)
def update_tenant(
    tenant_id: TenantId, body: TenantPatch, principal: PrincipalDep, db: DbDep
) -> Any:
    """Change a tenant's name or SLA tier."""
    return tenancy.manage.update_tenant(db, principal, tenant_id, body.model_dump())


@router.get("/tenants/{tenant_id}/environments", response_model=Page[EnvironmentOut])
def list_environments(tenant_id: TenantId, principal: PrincipalDep, db: DbDep) -> Any:
    """List a tenant's environments."""
    return _views.environments(db, principal, tenant_id)


@router.get("/tenants/{tenant_id}/environments/{environment}", response_model=EnvironmentOut)
def get_environment(
    tenant_id: TenantId, environment: EnvironmentName, principal: PrincipalDep, db: DbDep
) -> Any:
    """Return one environment."""
    return _views.environment(db, principal, tenant_id, environment)


@router.patch("/tenants/{tenant_id}/environments/{environment}", response_model=EnvironmentOut)
def update_environment(
    tenant_id: TenantId,
    environment: EnvironmentName,
    body: EnvironmentPatch,
    principal: PrincipalDep,
    db: DbDep,
) -> Any:
    """Change an environment's label."""
    return tenancy.manage.update_environment(
        db, principal, tenant_id, environment, label=body.label
    )
