"""Webhook receivers: verify by the connection's kind, then store the events in the inbox.

Requests that are unsigned, mis-signed, stale or too large are refused and nothing from
them is stored. Valid deliveries are deduplicated by the inbox, so a sender that delivers
the same body three times stores it once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ledgerbridge import engine, errors, store, tenancy
from ledgerbridge.api import _inbound, _problems, _signatures
from ledgerbridge.api.deps import DbDep, EngineDep, KeyringDep, SettingsDep
from ledgerbridge.api.settings import Settings
from ledgerbridge.model import BusinessEvent
from ledgerbridge.store import _scoped as scoped

router = APIRouter(tags=["webhooks"], responses=_problems.responses(401, 404, 413, 422))
Parser = Callable[..., list[BusinessEvent]]


class Accepted(BaseModel):
    """What a delivery stored."""

    received: int
    stored: int
    duplicates: int


class TooLargeError(errors.ConfigError):
    """The webhook body is larger than the receiver accepts."""


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"the body is {declared} bytes; the limit is {limit}", status_code=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"the body is over the {limit}-byte limit", status_code=413)
        chunks.append(chunk)
    return b"".join(chunks)


def _load(
    db: store.Database, keyring: tenancy.Keyring, connection_id: str, tenant_id: str | None
) -> tuple[Any, dict[str, Any]]:
    with db.read() as conn:
        rows = scoped.connections_by_id(conn, connection_id, tenant_id)
    if not rows:
        raise errors.NotFoundError(f"connection {connection_id} does not exist")
    if len(rows) > 1:  # the same answer as for an unknown id: nothing about other tenants
        raise errors.NotFoundError(
            f"connection {connection_id} does not exist",
            hint="deliver to /hooks/{tenant_id}/{connection_id}",
        )
    row = rows[0]
    credentials = keyring.open(row.secret) if row.secret else {}
    return row, credentials


def _verify(
    kind: str, body: bytes, request: Request, credentials: dict[str, Any], tolerance: float
) -> tuple[str | None, Parser]:
    def secret(name: str) -> str:
        value = credentials.get(name)
        if not isinstance(value, str) or not value:
            raise tenancy.access.unauthorized(
                f"the connection has no {name} to check signatures with"
            )
        return value

    headers = request.headers
    if kind == "quickbooks":
        reason = _signatures.verify_base64(
            body,
            headers.get(_signatures.INTUIT_HEADER),
            secret("verifier_token"),
            name="intuit-signature",
        )
        return reason, _inbound.quickbooks_events
    if kind == "xero":
        reason = _signatures.verify_base64(
            body,
            headers.get(_signatures.XERO_HEADER),
            secret("webhook_key"),
            name="x-xero-signature",
        )
        return reason, _inbound.xero_events
    reason = _signatures.verify_generic(
        body,
        headers.get(_signatures.GENERIC_HEADER),
        secret("webhook_secret"),
        now=time.time(),
        tolerance=tolerance,
    )
    return reason, _inbound.generic_events


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Xero: the signature is valid (empty body)"}
}


@dataclass(frozen=True, slots=True)
class _Delivery:
    """What both receivers need: the request and the services that verify and store it."""

    request: Request
    db: store.Database
    keyring: tenancy.Keyring
    settings: Settings
    client: engine.Client


def _delivery(
    request: Request, db: DbDep, keyring: KeyringDep, settings: SettingsDep, client: EngineDep
) -> _Delivery:
    return _Delivery(request, db, keyring, settings, client)


DeliveryDep = Annotated[_Delivery, Depends(_delivery)]


@router.post(
    "/hooks/{tenant_id}/{connection_id}",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_RESPONSES,
)
async def receive_for_tenant(
    tenant_id: Annotated[str, Path(max_length=64)],
    connection_id: Annotated[str, Path(max_length=64)],
    delivery: DeliveryDep,
) -> Any:
    """Verify a delivery to one tenant's connection by its kind and store its events."""
    return await _receive(delivery, connection_id, tenant_id)


@router.post(
    "/hooks/{connection_id}",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_RESPONSES,
)
async def receive(connection_id: Annotated[str, Path(max_length=64)], delivery: DeliveryDep) -> Any:
    """Verify a webhook delivery by the connection's kind and store its events.

    The connection's id must be unique across tenants (generated ids are); otherwise
    deliver to ``/hooks/{tenant_id}/{connection_id}``.
    """
    return await _receive(delivery, connection_id, None)


async def _receive(d: _Delivery, connection_id: str, tenant_id: str | None) -> Any:
    body = await _read_body(d.request, d.settings.webhook_max_bytes)
    row, credentials = await run_in_threadpool(_load, d.db, d.keyring, connection_id, tenant_id)
    reason, parse = _verify(
        row.kind, body, d.request, credentials, d.settings.webhook_tolerance_seconds
    )
    if reason is not None:
        raise tenancy.access.unauthorized(reason)
    events = parse(body, tenant_id=row.tenant_id, connection_id=row.id)
    result = await run_in_threadpool(d.client.ingest, events) if events else None
    if row.kind == "xero":
        return Response(status_code=status.HTTP_200_OK)
    return Accepted(
        received=len(events),
        stored=result.stored if result else 0,
        duplicates=result.duplicates if result else 0,
    )
