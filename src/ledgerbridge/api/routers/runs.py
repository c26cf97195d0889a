"""Runs (one execution of a flow for one event), their steps, and replay."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ledgerbridge import tenancy
from ledgerbridge.api import _problems, _views
from ledgerbridge.api._pagination import Page
from ledgerbridge.api.deps import DbDep, EngineDep, PageDep, PrincipalDep

router = APIRouter(tags=["runs"], responses=_problems.responses(401, 403, 404, 422))
RunId = Annotated[str, Path(max_length=64)]
Filter = Annotated[str | None, Query(max_length=128)]


class RunOut(BaseModel):
    """One run."""

    id: str
    tenant_id: str
    deployment_id: str
    flow: str
    status: str
    entity_key: str
    entity_version: int
    attempts: int
    event_id: str | None
    created_at: float
    finished_at: float | None
    error: Any = None


class StepOut(BaseModel):
    """One recorded step of a run."""

    name: str
    seq: int
    status: str
    attempts: int
    idempotency_key: str | None
    result: Any = None
    error: Any = None
    started_at: float | None
    finished_at: float | None


class Replay(BaseModel):
    """The run a replay queued."""

    run_id: str
    replay_of: str


@router.get("/runs", response_model=Page[RunOut])
def list_runs(
    principal: PrincipalDep,
    db: DbDep,
    page: PageDep,
    tenant_id: Filter = None,
    status: Filter = None,
    flow: Filter = None,
    event_id: Filter = None,
) -> Any:
    """List runs, newest first."""
    filters = {"tenant_id": tenant_id, "status": status, "flow": flow, "event_id": event_id}
    return _views.activity_page(db, principal, page, what="runs", filters=filters)


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: RunId, principal: PrincipalDep, db: DbDep) -> Any:
    """Return one run."""
    return _views.run_view(_views.run_row(db, principal, run_id))


@router.get("/runs/{run_id}/steps", response_model=Page[StepOut])
def list_steps(run_id: RunId, principal: PrincipalDep, db: DbDep) -> Any:
    """List a run's recorded steps in order."""
    return _views.run_steps(db, principal, run_id)


@router.post("/runs/{run_id}/replay", response_model=Replay, responses=_problems.responses(409))
async def replay_run(run_id: RunId, principal: PrincipalDep, db: DbDep, client: EngineDep) -> Any:
    """Queue a new run of the same event and flow; finished steps are not repeated."""
    principal.require(tenancy.Permission.OPERATE)

    def replay() -> dict[str, Any]:
        row = _views.run_row(db, principal, run_id)
        return client.replay(run_id, actor=principal.actor, tenant_id=row.tenant_id)

    return await run_in_threadpool(replay)
