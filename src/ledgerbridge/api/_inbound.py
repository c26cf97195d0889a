"""Webhook bodies to business events: pure functions, no I/O.

QuickBooks and Xero notices carry no entity data. Each notice becomes one
``erp.notification`` event whose record names the entity, its id and the operation, so a
worker can read the entity later; its source version is the notice's change time in
milliseconds, so the same notice delivered again is stored once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from pydantic import BaseModel, Field, ValidationError

from ledgerbridge import errors
from ledgerbridge.model import BusinessEvent

NOTIFICATION = "erp.notification"


class InboundEvent(BaseModel):
    """One event of the generic webhook body."""

    event_type: str = Field(min_length=1, max_length=64)
    object_type: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=128)
    source_version: int = Field(ge=0, le=2**62)
    record: dict[str, Any] = Field(default_factory=dict)


class InboundBody(BaseModel):
    """The generic webhook body: ``{"events": [...]}``."""

    events: list[InboundEvent] = Field(max_length=1000)


def _json(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise errors.RecordError(f"the webhook body is not JSON: {exc}") from exc


def generic_events(body: bytes, *, tenant_id: str, connection_id: str) -> list[BusinessEvent]:
    """Parse a generic webhook body.

    Raises:
        RecordError: the body is not JSON or not ``{"events": [...]}``.
    """
    try:
        parsed = InboundBody.model_validate(_json(body))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise errors.RecordError(
            f"the webhook body is not valid: {where}: {first['msg']}"
        ) from None
    return [
        BusinessEvent(
            tenant_id=tenant_id,
            connection_id=connection_id,
            event_type=e.event_type,
            object_type=e.object_type,
            external_id=e.external_id,
            source_version=e.source_version,
            payload={"record": e.record},
        )
        for e in parsed.events
    ]


def _millis(stamp: str) -> int:
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise errors.RecordError(f"the change time {stamp!r} is not an ISO date-time") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    millis = int(when.timestamp() * 1000)
    if millis < 0:
        raise errors.RecordError(f"the change time {stamp!r} is before 1970")
    return millis


def _notice(
    *,
    tenant_id: str,
    connection_id: str,
    entity: str,
    entity_id: str,
    operation: str,
    when: str,
    extra: dict[str, Any],
) -> BusinessEvent:
    if not entity or not entity_id:
        raise errors.RecordError("a notice names no entity or entity id")
    record = {
        "entity": entity,
        "id": entity_id,
        "operation": operation,
        "changed_at": when,
        **extra,
    }
    return BusinessEvent(
        tenant_id=tenant_id,
        connection_id=connection_id,
        event_type=NOTIFICATION,
        object_type=entity.lower()[:64],
        external_id=entity_id[:128],
        source_version=_millis(when),
        payload={"record": record},
    )


def quickbooks_events(body: bytes, *, tenant_id: str, connection_id: str) -> list[BusinessEvent]:
    """Parse a QuickBooks Online webhook body (legacy or CloudEvents format).

    Raises:
        RecordError: the body is neither format.
    """
    data = _json(body)
    ids = {"tenant_id": tenant_id, "connection_id": connection_id}
    if isinstance(data, list):
        return [_cloud_event(item, ids) for item in data]
    if not isinstance(data, dict) or not isinstance(data.get("eventNotifications"), list):
        raise errors.RecordError("a QuickBooks webhook body has eventNotifications or is a list")
    out = []
    for group in data["eventNotifications"]:
        realm = str(group.get("realmId", "")) if isinstance(group, dict) else ""
        change = group.get("dataChangeEvent") if realm else None
        entities = change.get("entities") if isinstance(change, dict) else None
        if not isinstance(entities, list):
            raise errors.RecordError("a QuickBooks notification has no dataChangeEvent.entities")
        for e in entities:
            if not isinstance(e, dict):
                raise errors.RecordError("each dataChangeEvent.entities item must be an object")
            out.append(
                _notice(
                    **ids,
                    entity=str(e.get("name", "")),
                    entity_id=str(e.get("id", "")),
                    operation=str(e.get("operation", "")),
                    when=str(e.get("lastUpdated", "")),
                    extra={"realm_id": realm},
                )
            )
    return out


def _cloud_event(item: Any, ids: dict[str, str]) -> BusinessEvent:
    if not isinstance(item, dict) or not str(item.get("type", "")).startswith("qbo."):
        raise errors.RecordError("a QuickBooks CloudEvent has a type qbo.<entity>.<operation>.v1")
    _, entity, operation, *_ = [*str(item["type"]).split("."), "", ""]
    return _notice(
        **ids,
        entity=entity,
        entity_id=str(item.get("intuitentityid", "")),
        operation=operation,
        when=str(item.get("time", "")),
        extra={"realm_id": str(item.get("intuitaccountid", ""))},
    )


def xero_events(body: bytes, *, tenant_id: str, connection_id: str) -> list[BusinessEvent]:
    """Parse a Xero webhook body; the intent-to-receive probe has no events.

    Raises:
        RecordError: the body has no ``events`` list.
    """
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise errors.RecordError("a Xero webhook body has an events list")
    ids = {"tenant_id": tenant_id, "connection_id": connection_id}
    if not all(isinstance(e, dict) for e in data["events"]):
        raise errors.RecordError("each item of a Xero webhook's events must be an object")
    return [
        _notice(
            **ids,
            entity=str(e.get("eventCategory", "")),
            entity_id=str(e.get("resourceId", "")),
            operation=str(e.get("eventType", "")),
            when=str(e.get("eventDateUtc", "")),
            extra={"xero_tenant_id": str(e.get("tenantId", ""))},
        )
        for e in data["events"]
    ]
