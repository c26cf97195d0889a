"""The exception queue: read, retry, skip with a reason, approve, replay, and in bulk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from ledgerbridge import engine, errors, store, tenancy
from ledgerbridge.api import _problems, _views
from ledgerbridge.api._pagination import Page
from ledgerbridge.api.deps import DbDep, EngineDep, PageDep, PrincipalDep

router = APIRouter(tags=["exceptions"], responses=_problems.responses(401, 403, 404, 409, 422))
ExceptionId = Annotated[str, Path(max_length=64)]
Filter = Annotated[str | None, Query(max_length=128)]
Action = Literal["retry", "skip", "approve", "replay"]
MAX_BULK = 500


class ExceptionOut(BaseModel):
    """One exception-queue entry with everything needed to act on it."""

    id: str
    tenant_id: str
    run_id: str
    flow: str
    status: str
    kind: str
    reason: str
    hint: str | None
    detail: dict[str, Any]
    note: str | None
    created_at: float
    resolution: str | None
    resolved_by: str | None
    resolved_at: float | None


class Resolution(BaseModel):
    """What an action did."""

    id: str
    run_id: str
    tenant_id: str
    resolution: str
    new_run_id: str | None = None


class SkipIn(BaseModel):
    """Why the exception is closed without running again."""

    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")


class BulkIn(BaseModel):
    """An action applied to every open exception matching the filter."""

    action: Action
    reason: str | None = Field(default=None, max_length=2000, description="required for skip")
    tenant_id: str | None = Field(default=None, max_length=64)
    flow: str | None = Field(default=None, max_length=128)
    kind: str | None = Field(default=None, max_length=32)
    limit: int = Field(default=100, ge=1, le=MAX_BULK)


class BulkFailure(BaseModel):
    """One exception the action could not be applied to."""

    id: str
    detail: str


class BulkOut(BaseModel):
    """The outcome of a bulk action."""

    matched: int
    done: list[Resolution]
    failed: list[BulkFailure]


@router.get("/exceptions", response_model=Page[ExceptionOut])
def list_exceptions(
    principal: PrincipalDep,
    db: DbDep,
    page: PageDep,
    tenant_id: Filter = None,
    status: Literal["open", "resolved"] | None = None,
    kind: Filter = None,
    flow: Filter = None,
    run_id: Filter = None,
) -> Any:
    """List exceptions, newest first."""
    filters = {
        "tenant_id": tenant_id,
        "status": status,
        "error_kind": kind,
        "flow": flow,
        "run_id": run_id,
    }
    return _views.activity_page(db, principal, page, what="exceptions", filters=filters)


@router.get("/exceptions/{exception_id}", response_model=ExceptionOut)
def get_exception(exception_id: ExceptionId, principal: PrincipalDep, db: DbDep) -> Any:
    """Return one exception."""
    return _views.exception_view(_views.exception_row(db, principal, exception_id))


def _act(
    db: store.Database,
    client: engine.Client,
    principal: tenancy.Principal,
    exception_id: str,
    action: Action,
    reason: str | None = None,
) -> dict[str, Any]:
    principal.require(tenancy.Permission.OPERATE)
    row = _views.exception_row(db, principal, exception_id)
    tenant, actor = row.tenant_id, principal.actor
    if action == "replay":
        if row.status != "open":
            raise errors.PermanentError(f"exception {exception_id} is already {row.resolution}")
        new = client.replay(row.run_id, actor=actor, tenant_id=tenant)
        return {
            "id": row.id,
            "run_id": row.run_id,
            "tenant_id": tenant,
            "resolution": "replayed",
            "new_run_id": new["run_id"],
        }
    if action == "skip":
        if not reason or not reason.strip():
            raise errors.ConfigError("a reason is required to skip an exception", field="reason")
        return client.skip(exception_id, actor=actor, reason=reason, tenant_id=tenant)
    method: Callable[..., dict[str, Any]] = client.retry if action == "retry" else client.approve
    return method(exception_id, actor=actor, tenant_id=tenant)


@router.post("/exceptions/{exception_id}/retry", response_model=Resolution)
def retry_exception(
    exception_id: ExceptionId, principal: PrincipalDep, db: DbDep, client: EngineDep
) -> Any:
    """Put the run back in the queue; finished steps stay finished."""
    return _act(db, client, principal, exception_id, "retry")


@router.post("/exceptions/{exception_id}/skip", response_model=Resolution)
def skip_exception(
    exception_id: ExceptionId, body: SkipIn, principal: PrincipalDep, db: DbDep, client: EngineDep
) -> Any:
    """Close the exception without running its run again."""
    return _act(db, client, principal, exception_id, "skip", body.reason)


@router.post("/exceptions/{exception_id}/approve", response_model=Resolution)
def approve_exception(
    exception_id: ExceptionId, principal: PrincipalDep, db: DbDep, client: EngineDep
) -> Any:
    """Approve a run held by an approval policy and queue it."""
    return _act(db, client, principal, exception_id, "approve")


@router.post("/exceptions/{exception_id}/replay", response_model=Resolution)
def replay_exception(
    exception_id: ExceptionId, principal: PrincipalDep, db: DbDep, client: EngineDep
) -> Any:
    """Queue a new run of the exception's event and flow."""
    return _act(db, client, principal, exception_id, "replay")


@router.post("/exceptions/bulk", response_model=BulkOut)
def bulk_exceptions(body: BulkIn, principal: PrincipalDep, db: DbDep, client: EngineDep) -> Any:
    """Apply one action to every open exception matching the filter (up to ``limit``)."""
    principal.require(tenancy.Permission.OPERATE)
    if body.action == "skip" and not (body.reason and body.reason.strip()):
        raise errors.ConfigError("a reason is required to skip exceptions", field="reason")
    filters = {"tenant_id": body.tenant_id, "flow": body.flow, "error_kind": body.kind}
    rows = _views.open_exceptions(db, principal, filters=filters, limit=body.limit)
    done, failed = [], []
    for row in rows:
        try:
            done.append(_act(db, client, principal, row.id, body.action, body.reason))
        except errors.LedgerbridgeError as exc:
            failed.append({"id": row.id, "detail": exc.message})
    return {"matched": len(rows), "done": done, "failed": failed}
