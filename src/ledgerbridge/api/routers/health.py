"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ledgerbridge import store
from ledgerbridge.api.deps import DbDep

router = APIRouter(tags=["health"])
EXPECTED_REVISION = "0002"


class Health(BaseModel):
    """A health verdict."""

    status: str
    detail: str | None = None


@router.get("/healthz", response_model=Health)
def healthz() -> Any:
    """Answer while the process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(db: DbDep) -> Any:
    """Answer ok when the database is reachable and migrated, 503 otherwise."""
    try:
        revision = store.current_revision(db)
    except sa.exc.SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, 503)
    if revision is None or revision < EXPECTED_REVISION:
        detail = f"database schema is at {revision or 'nothing'}, needs {EXPECTED_REVISION}"
        return JSONResponse({"status": "unavailable", "detail": detail}, 503)
    return Health(status="ok")
