"""The audit trail: hash-chained per tenant (and per partner for partner-level actions)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ledgerbridge import tenancy
from ledgerbridge.api import _problems, _views
from ledgerbridge.api._pagination import Page
from ledgerbridge.api.deps import DbDep, EngineDep, PageDep, PrincipalDep

router = APIRouter(tags=["audit"], responses=_problems.responses(401, 403, 404, 422))
Filter = Annotated[str | None, Query(max_length=128)]


class AuditOut(BaseModel):
    """One audit row; ``chain`` is the tenant (or partner) whose chain holds it."""

    chain: str
    seq: int
    at: float
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    hash: str


class VerifyIn(BaseModel):
    """Which chain to verify; all chains inside the caller's scope when omitted."""

    tenant_id: str | None = Field(default=None, max_length=64)


class ChainReportOut(BaseModel):
    """The verdict on one chain."""

    tenant_id: str
    rows: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str | None = None


@router.get("/audit", response_model=Page[AuditOut])
def list_audit(
    principal: PrincipalDep,
    db: DbDep,
    page: PageDep,
    tenant_id: Filter = None,
    action: Filter = None,
    actor: Filter = None,
) -> Any:
    """List audit rows by chain and sequence."""
    filters = {"tenant_id": tenant_id, "action": action, "actor": actor}
    return _views.activity_page(db, principal, page, what="audit", filters=filters)


@router.post("/audit/verify", response_model=list[ChainReportOut])
def verify_audit(
    principal: PrincipalDep, db: DbDep, client: EngineDep, body: VerifyIn | None = None
) -> Any:
    """Walk the chains and report the first altered, missing or extra row of each."""
    principal.require(tenancy.Permission.OPERATE)
    chains = _views.audit_chains(db, principal, body.tenant_id if body else None)
    reports = [r for chain in chains for r in client.verify_audit(chain)]
    return [
        {
            "tenant_id": r.tenant_id,
            "rows": r.rows,
            "ok": r.ok,
            "first_bad_seq": r.first_bad_seq,
            "problem": r.problem,
        }
        for r in reports
    ]
