"""API keys (shown once, stored hashed, revocable) and console users."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from ledgerbridge import tenancy
from ledgerbridge.api import _problems, _views
from ledgerbridge.api._pagination import Page
from ledgerbridge.api.deps import DbDep, PageDep, PrincipalDep

router = APIRouter(tags=["access"], responses=_problems.responses(401, 403, 404, 422))
Role = Literal["partner_admin", "partner_operator", "tenant_viewer"]
Ident = Annotated[str, Path(max_length=64)]


class ApiKeyIn(BaseModel):
    """A new API key; without ids it gets the caller's own scope."""

    name: str = Field(min_length=1, max_length=200)
    role: Role
    partner_id: str | None = Field(default=None, max_length=64)
    tenant_id: str | None = Field(default=None, max_length=64)


class ApiKeyOut(BaseModel):
    """An API key (never the key itself after creation)."""

    id: str
    partner_id: str | None
    tenant_id: str | None
    name: str
    role: str
    created_by: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


class ApiKeyCreated(ApiKeyOut):
    """A new API key, with the key: store it now, it is not shown again."""

    key: str


class UserIn(BaseModel):
    """A new console user."""

    email: str = Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=12, max_length=200, json_schema_extra={"writeOnly": True})
    role: Role
    display_name: str = Field(default="", max_length=200)
    partner_id: str | None = Field(default=None, max_length=64)
    tenant_id: str | None = Field(default=None, max_length=64)


class UserOut(BaseModel):
    """A console user (never the password hash)."""

    id: str
    partner_id: str
    tenant_id: str | None
    email: str
    display_name: str
    role: str
    created_at: float
    disabled_at: float | None


@router.get("/api-keys", response_model=Page[ApiKeyOut])
def list_api_keys(principal: PrincipalDep, db: DbDep, page: PageDep) -> Any:
    """List the API keys inside the caller's scope."""
    return _views.api_keys(db, principal, page)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_api_key(body: ApiKeyIn, principal: PrincipalDep, db: DbDep) -> Any:
    """Create an API key; the response is the only time the key is shown."""
    principal.require(tenancy.Permission.MANAGE)
    row, key = tenancy.access.create_api_key(
        db,
        principal,
        name=body.name,
        role=body.role,
        partner_id=body.partner_id,
        tenant_id=body.tenant_id,
    )
    return {**row, "key": key}


@router.get("/api-keys/{key_id}", response_model=ApiKeyOut)
def get_api_key(key_id: Ident, principal: PrincipalDep, db: DbDep) -> Any:
    """Return one API key."""
    return _views.api_key(db, principal, key_id)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
def revoke_api_key(key_id: Ident, principal: PrincipalDep, db: DbDep) -> Any:
    """Revoke an API key; it stops working at once."""
    principal.require(tenancy.Permission.MANAGE)
    return tenancy.access.revoke_api_key(db, principal, key_id)


@router.get("/users", response_model=Page[UserOut])
def list_users(principal: PrincipalDep, db: DbDep, page: PageDep) -> Any:
    """List the users inside the caller's scope."""
    return _views.users(db, principal, page)


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=_problems.responses(409),
)
def create_user(body: UserIn, principal: PrincipalDep, db: DbDep) -> Any:
    """Create a console user."""
    principal.require(tenancy.Permission.MANAGE)
    return tenancy.access.create_user(
        db,
        principal,
        email=body.email,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        partner_id=body.partner_id,
        tenant_id=body.tenant_id,
    )


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: Ident, principal: PrincipalDep, db: DbDep) -> Any:
    """Return one user."""
    return _views.user(db, principal, user_id)


@router.delete("/users/{user_id}", response_model=UserOut)
def disable_user(user_id: Ident, principal: PrincipalDep, db: DbDep) -> Any:
    """Disable a user (kept for the audit trail)."""
    principal.require(tenancy.Permission.MANAGE)
    return tenancy.access.disable_user(db, principal, user_id)
