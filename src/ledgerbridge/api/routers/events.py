"""Inbox events: what connected systems reported, stored once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from ledgerbridge.api import _problems, _views
from ledgerbridge.api._pagination import Page
from ledgerbridge.api.deps import DbDep, PageDep, PrincipalDep

router = APIRouter(tags=["events"], responses=_problems.responses(401, 403, 404, 422))
Filter = Annotated[str | None, Query(max_length=128)]


class EventOut(BaseModel):
    """One stored event."""

    id: str
    tenant_id: str
    connection_id: str
    event_type: str
    object_type: str
    external_id: str
    source_version: int
    payload: dict[str, Any]
    received_at: float


@router.get("/events", response_model=Page[EventOut])
def list_events(
    principal: PrincipalDep,
    db: DbDep,
    page: PageDep,
    tenant_id: Filter = None,
    connection_id: Filter = None,
    event_type: Filter = None,
    object_type: Filter = None,
    external_id: Filter = None,
) -> Any:
    """List events, newest first."""
    filters = {
        "tenant_id": tenant_id,
        "connection_id": connection_id,
        "event_type": event_type,
        "object_type": object_type,
        "external_id": external_id,
    }
    return _views.activity_page(db, principal, page, what="events", filters=filters)


@router.get("/events/{event_id}", response_model=EventOut)
def get_event(
    event_id: Annotated[str, Path(max_length=64)], principal: PrincipalDep, db: DbDep
) -> Any:
    """Return one event with its payload."""
    return _views.event(db, principal, event_id)
