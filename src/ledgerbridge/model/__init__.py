"""Canonical business objects and events; depends on nothing else of ledgerbridge."""

from __future__ import annotations

from ledgerbridge.model._events import EVENT_TYPES, BusinessEvent, EventType
from ledgerbridge.model._money import (
    CURRENCY_MINOR_UNITS,
    CurrencyMismatchError,
    Money,
    is_known_currency,
    sum_money,
    to_decimal,
)
from ledgerbridge.model._objects import (
    BillingType,
    Contract,
    Customer,
    Expense,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Milestone,
    Payment,
    Project,
    Resource,
    TimeEntry,
)

__all__ = [
    "CURRENCY_MINOR_UNITS",
    "EVENT_TYPES",
    "BillingType",
    "BusinessEvent",
    "Contract",
    "CurrencyMismatchError",
    "Customer",
    "EventType",
    "Expense",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Milestone",
    "Money",
    "Payment",
    "Project",
    "Resource",
    "TimeEntry",
    "is_known_currency",
    "sum_money",
    "to_decimal",
]
