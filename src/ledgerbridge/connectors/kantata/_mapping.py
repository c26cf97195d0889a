"""Pure mapping of Kantata OX subscribed events to canonical business events.

A feed event maps to zero or one :class:`~ledgerbridge.model.BusinessEvent`
(see ``notes/records.md``): :func:`classify` decides which business event a feed event is,
:func:`map_record` builds the canonical record from the Kantata object and the looked-up
workspace, organization and user, and :func:`to_business_event` puts both together. A feed
event that matters but cannot be mapped becomes an event whose payload carries
``mapping_error`` instead of a record; nothing here raises for bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledgerbridge.connectors.kantata import _fields as f
from ledgerbridge.model import BusinessEvent, EventType

__all__ = [
    "AUTHORISED_STATUSES",
    "BILLING_FIELDS",
    "Classified",
    "Lookups",
    "classify",
    "map_record",
    "source_version",
    "to_business_event",
]

#: workspace status messages that make a project billable
AUTHORISED_STATUSES = frozenset({"Okay to Start", "Active"})
#: time entry fields whose change, while approved, is a ``time_entry.changed``
BILLING_FIELDS = frozenset(
    {
        "time_in_minutes",
        "rate_in_cents",
        "billable",
        "date_performed",
        "workspace_id",
        "user_id",
        "story_id",
        "role_id",
        "currency",
        "notes",
    }
)
_BILLING_TYPES = ("time_and_materials", "fixed_fee", "retainer")
#: the business event a broken feed event of each resource is reported as
_PRIMARY = {
    "organization": EventType.CUSTOMER_UPSERTED,
    "workspace": EventType.PROJECT_AUTHORIZED,
    "time_entry": EventType.TIME_ENTRY_APPROVED,
    "expense": EventType.EXPENSE_APPROVED,
    "story": EventType.MILESTONE_COMPLETED,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Lookups:
    """Related Kantata objects by id, used to fill customer, currency and resource fields."""

    workspaces: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    organizations: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    users: Mapping[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Classified:
    """What one feed event means: the business event and the Kantata object it is about."""

    event_type: str
    object_type: str
    obj: dict[str, Any]


def classify(event: dict[str, Any]) -> Classified | None:
    """Return the business event a feed event stands for, or None when it is not one.

    Raises:
        FieldError: the feed event is about a relevant resource but cannot be read.
    """
    kind = event.get("event_type")
    if not isinstance(kind, str) or kind.count(":") != 1:
        return None
    resource, action = kind.split(":")
    rule = _RULES.get(resource)
    if rule is None or action not in ("created", "updated", "deleted"):
        return None
    before = event.get("previous_payload")
    after = event.get("current_payload")
    if action != "deleted":
        after = f.obj(after, "current_payload")
    if action != "created":
        before = f.obj(before, "previous_payload")
    return rule(action, before, after, event.get("payload_changes"))


def _organization(action: str, before: Any, after: Any, changes: Any) -> Classified | None:
    if action == "deleted":
        return None
    return Classified(event_type=EventType.CUSTOMER_UPSERTED, object_type="customer", obj=after)


def _workspace(action: str, before: Any, after: Any, changes: Any) -> Classified | None:
    if action == "deleted":
        return None
    if not _authorised(f.obj(after.get("status"), "status")):
        return None
    return Classified(event_type=EventType.PROJECT_AUTHORIZED, object_type="project", obj=after)


def _authorised(status: dict[str, Any]) -> bool:
    message = status.get("message")
    return isinstance(message, str) and message in AUTHORISED_STATUSES


def _time_entry(action: str, before: Any, after: Any, changes: Any) -> Classified | None:
    was = f.flag(before, "approved") if action != "created" else False
    now = f.flag(after, "approved") if action != "deleted" else False
    if now and not was:
        kind = EventType.TIME_ENTRY_APPROVED
    elif was and not now:
        kind = EventType.TIME_ENTRY_UNAPPROVED
    elif was and now and _changed(before, after, changes) & BILLING_FIELDS:
        kind = EventType.TIME_ENTRY_CHANGED
    else:
        return None
    return Classified(
        event_type=kind, object_type="time_entry", obj=after if after is not None else before
    )


def _changed(before: dict[str, Any], after: dict[str, Any], changes: Any) -> set[str]:
    if isinstance(changes, dict):
        return {k for k in changes if isinstance(k, str)}
    return {k for k in set(before) | set(after) if before.get(k) != after.get(k)}


def _expense(action: str, before: Any, after: Any, changes: Any) -> Classified | None:
    if action == "deleted":
        return None
    was = f.flag(before, "approved") if action != "created" else False
    if not f.flag(after, "approved") or was:
        return None
    return Classified(event_type=EventType.EXPENSE_APPROVED, object_type="expense", obj=after)


def _story(action: str, before: Any, after: Any, changes: Any) -> Classified | None:
    if action == "deleted" or after.get("story_type") != "milestone":
        return None
    if after.get("state") != "completed":
        return None
    if action == "updated" and before.get("state") == "completed":
        return None
    return Classified(event_type=EventType.MILESTONE_COMPLETED, object_type="milestone", obj=after)


_Rule = Callable[[str, Any, Any, Any], Classified | None]
_RULES: dict[str, _Rule] = {
    "organization": _organization,
    "workspace": _workspace,
    "time_entry": _time_entry,
    "expense": _expense,
    "story": _story,
}


# --- records ---------------------------------------------------------------------------------


def map_record(object_type: str, raw: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """Build the canonical record of ``object_type`` from a Kantata object.

    Raises:
        FieldError: a field is missing, of the wrong type, or a related object is unknown.
    """
    return _BUILDERS[object_type](raw, lookups)


def _customer(raw: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    return {
        "id": f.ident(raw, "id"),
        "name": f.text(raw, "name", required=True),
        "currency": f.currency(raw, "currency"),
        "email": f.text(raw, "email"),
    }


def _context(raw: dict[str, Any], lookups: Lookups) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Return (workspace id, workspace, organization) of an object in a workspace."""
    workspace_id = f.ident(raw, "workspace_id")
    assert workspace_id is not None
    workspace = lookups.workspaces.get(workspace_id)
    if not isinstance(workspace, dict):
        raise f.FieldError(
            "workspace_id",
            f"workspace {workspace_id} was not found in Kantata",
            hint="check that the connection's user can see the workspace",
        )
    return workspace_id, workspace, _client_of(workspace, workspace_id, lookups)


def _client_of(workspace: dict[str, Any], workspace_id: str, lookups: Lookups) -> dict[str, Any]:
    org_id = f.ident(workspace, "organization_id", required=False)
    organization = lookups.organizations.get(org_id) if org_id else None
    if not isinstance(organization, dict):
        missing = f" ({org_id} was not found)" if org_id else ""
        raise f.FieldError(
            "organization_id",
            f"workspace {workspace_id} has no client organization{missing}",
            hint="set the workspace's client organization in Kantata",
        )
    return organization


def _project(raw: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    project_id = f.ident(raw, "id")
    assert project_id is not None
    organization = _client_of(raw, project_id, lookups)
    billing_type = f.text(raw, "billing_type") or "time_and_materials"
    if billing_type not in _BILLING_TYPES:
        raise f.FieldError("billing_type", f"must be one of {', '.join(_BILLING_TYPES)}")
    price = f.whole(raw, "price_in_cents", required=False)
    status = f.obj(raw.get("status"), "status")
    return {
        "id": project_id,
        "customer_id": f.ident(organization, "id"),
        "name": f.text(raw, "title", required=True),
        "currency": f.currency(raw, "currency"),
        "customer_currency": _related_currency(organization, "organization"),
        "billing_type": billing_type,
        "fee": None if billing_type == "time_and_materials" or price is None else f.cents(price),
        "authorized": _authorised(status),
    }


def _resource(raw: dict[str, Any], lookups: Lookups) -> tuple[str | None, str | None, str | None]:
    user_id = f.ident(raw, "user_id", required=False)
    user = lookups.users.get(user_id) if user_id else None
    if not isinstance(user, dict):
        return user_id, None, None
    return user_id, f.text(user, "full_name"), f.text(user, "role_name")


def _time(raw: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    workspace_id, workspace, organization = _context(raw, lookups)
    minutes = f.whole(raw, "time_in_minutes")
    assert minutes is not None
    rate_cents = f.whole(raw, "rate_in_cents", required=False)
    resource_id, resource_name, role = _resource(raw, lookups)
    return {
        "id": f.ident(raw, "id"),
        "project_id": workspace_id,
        "customer_id": f.ident(organization, "id"),
        "resource_id": resource_id,
        "resource_name": resource_name,
        "role": role,
        "date": f.date(raw, "date_performed"),
        "hours": f.hours(minutes),
        "minutes": minutes,
        "billable": f.flag(raw, "billable", default=True),
        "rate": None if rate_cents is None else f.cents(rate_cents),
        "currency": f.currency(raw, "currency") if "currency" in raw else _ws_currency(workspace),
        "project_currency": _ws_currency(workspace),
        "customer_currency": _related_currency(organization, "organization"),
        "amount": None if rate_cents is None else f.time_amount(minutes, rate_cents),
        "approved": f.flag(raw, "approved"),
        "invoiced": f.flag(raw, "is_invoiced", default=False),
        "notes": f.text(raw, "notes") or "",
    }


def _ws_currency(workspace: dict[str, Any]) -> str:
    return _related_currency(workspace, "workspace")


def _related_currency(related: dict[str, Any], name: str) -> str:
    """Read the currency of a looked-up object, naming it in the error."""
    try:
        return f.currency(related, "currency")
    except f.FieldError as exc:
        raise f.FieldError(f"{name}.currency", exc.message) from None


def _expense_record(raw: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    workspace_id, workspace, organization = _context(raw, lookups)
    amount = f.whole(raw, "amount_in_cents")
    assert amount is not None
    return {
        "id": f.ident(raw, "id"),
        "project_id": workspace_id,
        "customer_id": f.ident(organization, "id"),
        "resource_id": f.ident(raw, "user_id", required=False),
        "date": f.date(raw, "date"),
        "amount": f.cents(amount),
        "currency": f.currency(raw, "currency") if "currency" in raw else _ws_currency(workspace),
        "project_currency": _ws_currency(workspace),
        "customer_currency": _related_currency(organization, "organization"),
        "category": f.text(raw, "category", required=True),
        "billable": f.flag(raw, "billable", default=True),
        "approved": f.flag(raw, "approved"),
        "invoiced": f.flag(raw, "is_invoiced", default=False),
        "notes": f.text(raw, "notes") or "",
    }


def _milestone(raw: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    workspace_id, workspace, organization = _context(raw, lookups)
    price = f.whole(raw, "price_in_cents", required=False)
    billing_type = f.text(workspace, "billing_type") or "time_and_materials"
    return {
        "id": f.ident(raw, "id"),
        "project_id": workspace_id,
        "customer_id": f.ident(organization, "id"),
        "name": f.text(raw, "title", required=True),
        "fee": None if price is None else f.cents(price),
        "currency": _ws_currency(workspace),
        "billing_type": billing_type,
    }


_BUILDERS: dict[str, Callable[[dict[str, Any], Lookups], dict[str, Any]]] = {
    "customer": _customer,
    "project": _project,
    "time_entry": _time,
    "expense": _expense_record,
    "milestone": _milestone,
}


# --- events ----------------------------------------------------------------------------------

_OBJECT_TYPES = {
    "organization": "customer",
    "workspace": "project",
    "time_entry": "time_entry",
    "expense": "expense",
    "story": "milestone",
}


def source_version(event: dict[str, Any]) -> int | None:
    """Return the feed event id as an integer, or None when it is not a whole number."""
    raw = event.get("id")
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def to_business_event(
    event: Any, *, lookups: Lookups, tenant_id: str, connection_id: str
) -> BusinessEvent | None:
    """Map one subscribed event to a business event, or None when it is not one.

    A relevant event that cannot be mapped is returned with ``payload["mapping_error"]``
    (``message``, ``field``, ``hint``) and ``payload["record"] = None``.

    Args:
        event: the feed event, with ``previous_payload`` and ``current_payload``.
        lookups: the workspaces, organizations and users the event may refer to.
        tenant_id: the tenant the connection belongs to.
        connection_id: the connection the event was read from.
    """
    if not isinstance(event, dict):
        return None
    kind = event.get("event_type")
    resource = kind.split(":")[0] if isinstance(kind, str) else ""
    if resource not in _RULES:
        return None
    found: Classified | None = None
    try:
        found = classify(event)
        if found is None:
            return None
        record = map_record(found.object_type, found.obj, lookups)
        version = source_version(event)
        if version is None:
            raise f.FieldError("id", "the feed event id must be a whole number")
    except f.FieldError as exc:
        return _failed(
            event, found, resource, exc, tenant_id=tenant_id, connection_id=connection_id
        )
    return BusinessEvent(
        tenant_id=tenant_id,
        connection_id=connection_id,
        event_type=found.event_type,
        object_type=found.object_type,
        external_id=str(record["id"]),
        source_version=version,
        payload={"record": record, "raw": found.obj},
        occurred_at=f.timestamp(event.get("created_at")),
    )


def _failed(
    event: dict[str, Any],
    found: Classified | None,
    resource: str,
    error: f.FieldError,
    *,
    tenant_id: str,
    connection_id: str,
) -> BusinessEvent:
    raw = found.obj if found is not None else _raw_object(event)
    external_id = _first_id(
        event.get("subject_id"), raw.get("id") if isinstance(raw, dict) else None
    )
    problem = {
        "message": f"Kantata {resource} {external_id}: {error.field} {error.message}",
        "field": error.field,
        "hint": error.hint or "correct the record in Kantata",
    }
    return BusinessEvent(
        tenant_id=tenant_id,
        connection_id=connection_id,
        event_type=found.event_type if found is not None else _PRIMARY[resource],
        object_type=found.object_type if found is not None else _OBJECT_TYPES[resource],
        external_id=external_id,
        source_version=source_version(event) or 0,
        payload={"record": None, "raw": raw, "mapping_error": problem},
        occurred_at=f.timestamp(event.get("created_at")),
    )


def _raw_object(event: dict[str, Any]) -> Any:
    current = event.get("current_payload")
    return current if current is not None else event.get("previous_payload", event)


def _first_id(*candidates: Any) -> str:
    for value in candidates:
        try:
            found = f.ident({"id": value}, "id", required=False)
        except f.FieldError:
            continue
        if found:
            return found
    return "unknown"
