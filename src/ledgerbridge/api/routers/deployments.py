"""Deployments: blueprint versions with bindings and settings pinned in an environment."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from ledgerbridge import tenancy
from ledgerbridge.api import _problems, _views
from ledgerbridge.api._pagination import Page
from ledgerbridge.api.deps import DbDep, PageDep, PrincipalDep

router = APIRouter(tags=["deployments"], responses=_problems.responses(401, 403, 404, 422))
TenantId = Annotated[str, Path(max_length=64)]
DeploymentId = Annotated[str, Path(max_length=64)]
Environment = Literal["sandbox", "production"]


class DeploymentIn(BaseModel):
    """A blueprint document (YAML text), its connection bindings and settings."""

    document: str = Field(min_length=1, max_length=1_000_000)
    bindings: dict[str, Annotated[str, Field(max_length=64)]] = Field(
        description="logical connection name of the blueprint -> connection id"
    )
    settings: dict[str, Any] = Field(default_factory=dict)
    environment: Environment = "production"


class DeploymentPatch(BaseModel):
    """Activate or retire a deployment."""

    is_active: bool


class DeploymentOut(BaseModel):
    """A pinned blueprint version."""

    id: str
    tenant_id: str
    environment: str
    blueprint_name: str
    blueprint_version: int
    document: str
    bindings: dict[str, str]
    settings: dict[str, Any]
    is_active: bool
    created_at: float


@router.get("/tenants/{tenant_id}/deployments", response_model=Page[DeploymentOut])
def list_deployments(
    tenant_id: TenantId,
    principal: PrincipalDep,
    db: DbDep,
    page: PageDep,
    environment: Environment | None = None,
    is_active: bool | None = None,
) -> Any:
    """List a tenant's deployments."""
    return _views.deployments(
        db, principal, tenant_id, page, environment=environment, is_active=is_active
    )


@router.post(
    "/tenants/{tenant_id}/deployments",
    response_model=DeploymentOut,
    status_code=status.HTTP_201_CREATED,
)
def create_deployment(
    tenant_id: TenantId, body: DeploymentIn, principal: PrincipalDep, db: DbDep
) -> Any:
    """Validate a blueprint and pin it in an environment."""
    return tenancy.deployments.create_deployment(
        db,
        principal,
        tenant_id,
        document=body.document,
        bindings=body.bindings,
        settings=body.settings,
        environment=body.environment,
    )


@router.get("/tenants/{tenant_id}/deployments/{deployment_id}", response_model=DeploymentOut)
def get_deployment(
    tenant_id: TenantId, deployment_id: DeploymentId, principal: PrincipalDep, db: DbDep
) -> Any:
    """Return one deployment."""
    return _views.deployment(db, principal, tenant_id, deployment_id)


@router.patch("/tenants/{tenant_id}/deployments/{deployment_id}", response_model=DeploymentOut)
def update_deployment(
    tenant_id: TenantId,
    deployment_id: DeploymentId,
    body: DeploymentPatch,
    principal: PrincipalDep,
    db: DbDep,
) -> Any:
    """Activate or retire a deployment (rollback is activating an older one)."""
    return tenancy.deployments.set_active(
        db, principal, tenant_id, deployment_id, is_active=body.is_active
    )


@router.delete("/tenants/{tenant_id}/deployments/{deployment_id}", response_model=DeploymentOut)
def retire_deployment(
    tenant_id: TenantId, deployment_id: DeploymentId, principal: PrincipalDep, db: DbDep
) -> Any:
    """Retire a deployment; it is kept (runs refer to it) but receives no more events."""
    return tenancy.deployments.set_active(db, principal, tenant_id, deployment_id, is_active=False)
