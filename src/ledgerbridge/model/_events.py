"""Business events: facts reported by a connected system, stored once in the inbox."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EVENT_TYPES", "BusinessEvent", "EventType"]


class EventType(enum.StrEnum):
    """The business events the delivery-to-cash workflow reacts to."""

    CUSTOMER_UPSERTED = "customer.upserted"  #: a client was created or changed
    PROJECT_AUTHORIZED = "project.authorized"  #: a project may now be billed
    TIME_ENTRY_APPROVED = "time_entry.approved"  #: time is approved for billing
    TIME_ENTRY_CHANGED = "time_entry.changed"  #: approved time was edited
    TIME_ENTRY_UNAPPROVED = "time_entry.unapproved"  #: approval was withdrawn
    EXPENSE_APPROVED = "expense.approved"  #: an expense is approved
    MILESTONE_COMPLETED = "milestone.completed"  #: a billing milestone is done
    INVOICE_POSTED = "invoice.posted"  #: the ERP posted an invoice
    PAYMENT_RECEIVED = "payment.received"  #: the ERP recorded a payment


EVENT_TYPES = frozenset(e.value for e in EventType)


@dataclass(frozen=True, kw_only=True, slots=True)
class BusinessEvent:
    """One inbound event.

    The inbox deduplicates on (tenant, connection, object type, external id, source version);
    ``payload`` is the raw record as the system sent it and is kept for replay.
    """

    tenant_id: str
    connection_id: str
    event_type: str
    object_type: str
    external_id: str
    source_version: int
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not self.tenant_id:
            raise ValueError("tenant_id is required")
        if not self.external_id:
            raise ValueError("external_id is required")
        if self.source_version < 0:
            raise ValueError("source_version must not be negative")

    @property
    def entity_key(self) -> str:
        """The key of the source object the event is about (for per-entity ordering)."""
        return f"{self.connection_id}:{self.object_type}:{self.external_id}"
