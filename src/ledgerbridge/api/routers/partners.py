"""Partners: the brands that run the platform for their customers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge import tenancy
from ledgerbridge.api import _problems, _views
from ledgerbridge.api._pagination import Page
from ledgerbridge.api.deps import DbDep, PageDep, PrincipalDep

router = APIRouter(tags=["partners"], responses=_problems.responses(401, 403, 404, 422))
PartnerId = Annotated[str, Path(max_length=64)]
HEX_COLOUR = r"^#[0-9a-fA-F]{6}$"


class Brand(BaseModel):
    """How the console, e-mails and reports look to the partner's customers."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=200)
    logo_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    primary_colour: str | None = Field(default=None, pattern=HEX_COLOUR)
    accent_colour: str | None = Field(default=None, pattern=HEX_COLOUR)
    support_email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    domains: list[Annotated[str, Field(max_length=253)]] = Field(
        default_factory=list, max_length=20
    )


class BrandOut(BaseModel):
    """A stored brand (documents written before validation may carry more keys)."""

    model_config = ConfigDict(extra="allow")

    display_name: str | None = None
    logo_url: str | None = None
    primary_colour: str | None = None
    accent_colour: str | None = None
    support_email: str | None = None
    domains: list[str] = Field(default_factory=list)


class PartnerIn(BaseModel):
    """A new partner."""

    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    brand: Brand = Field(default_factory=Brand)


class PartnerPatch(BaseModel):
    """Changes to a partner; omitted fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    brand: Brand | None = None


class PartnerOut(BaseModel):
    """A partner."""

    id: str
    name: str
    brand: BrandOut
    created_at: float


@router.get("/partners", response_model=Page[PartnerOut])
def list_partners(principal: PrincipalDep, db: DbDep, page: PageDep) -> Any:
    """List the partners the caller may see (a partner key sees only its own)."""
    return _views.partners(db, principal, page)


@router.post("/partners", response_model=PartnerOut, status_code=status.HTTP_201_CREATED)
def create_partner(body: PartnerIn, principal: PrincipalDep, db: DbDep) -> Any:
    """Create a partner (platform operators only)."""
    brand = body.brand.model_dump(exclude_none=True)
    return tenancy.manage.create_partner(db, principal, name=body.name, brand=brand)


@router.get("/partners/{partner_id}", response_model=PartnerOut)
def get_partner(partner_id: PartnerId, principal: PrincipalDep, db: DbDep) -> Any:
    """Return one partner."""
    return _views.partner(db, principal, partner_id)


@router.patch("/partners/{partner_id}", response_model=PartnerOut)
def update_partner(
    partner_id: PartnerId, body: PartnerPatch, principal: PrincipalDep, db: DbDep
) -> Any:
    """Change a partner's name or brand."""
    changes: dict[str, Any] = {"name": body.name}
    if body.brand is not None:
        changes["brand"] = body.brand.model_dump(exclude_none=True)
    return tenancy.manage.update_partner(db, principal, partner_id, changes)
