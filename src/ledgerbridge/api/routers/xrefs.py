"""Cross-references: one canonical object's ids in each connected system."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ledgerbridge.api import _problems, _views
from ledgerbridge.api._pagination import Page
from ledgerbridge.api.deps import DbDep, PageDep, PrincipalDep

router = APIRouter(tags=["xrefs"], responses=_problems.responses(401, 403, 422))
Filter = Annotated[str | None, Query(max_length=200)]


class XrefOut(BaseModel):
    """One cross-reference."""

    tenant_id: str
    object_type: str
    canonical_id: str
    system: str
    external_id: str
    data: dict[str, Any]
    updated_at: float


@router.get("/xrefs", response_model=Page[XrefOut])
def list_xrefs(
    principal: PrincipalDep,
    db: DbDep,
    page: PageDep,
    tenant_id: Filter = None,
    object_type: Filter = None,
    system: Filter = None,
    canonical_id: Filter = None,
    external_id: Filter = None,
) -> Any:
    """List cross-references."""
    filters = {
        "tenant_id": tenant_id,
        "object_type": object_type,
        "system": system,
        "canonical_id": canonical_id,
        "external_id": external_id,
    }
    return _views.activity_page(db, principal, page, what="xrefs", filters=filters)
