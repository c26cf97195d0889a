"""Canonical business objects of the delivery-to-cash workflow.

These are the platform's own shapes; connectors map each system's records to and from
them. All are frozen, keyword-only dataclasses; money is always :class:`Money`.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal

from ledgerbridge.model._money import Money

__all__ = [
    "BillingType",
    "Contract",
    "Customer",
    "Expense",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Milestone",
    "Payment",
    "Project",
    "Resource",
    "TimeEntry",
]


class BillingType(enum.StrEnum):
    """How a project is billed."""

    TIME_AND_MATERIALS = "time_and_materials"  #: unbilled approved time and expenses are invoiced
    FIXED_FEE = "fixed_fee"  #: each milestone carries a fee that is invoiced on completion
    RETAINER = "retainer"  #: a monthly fee, plus billable work over the retainer


class InvoiceStatus(enum.StrEnum):
    """Lifecycle of an invoice as both sides see it."""

    DRAFT = "draft"  #: created, not yet sent
    OPEN = "open"  #: sent or posted, balance outstanding
    PARTIALLY_PAID = "partially_paid"  #: some payment applied
    PAID = "paid"  #: balance is zero
    VOID = "void"  #: cancelled


@dataclass(frozen=True, kw_only=True, slots=True)
class Customer:
    """A client firm that is billed."""

    id: str
    name: str
    currency: str
    email: str | None = None
    active: bool = True

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("customer name must not be empty")


@dataclass(frozen=True, kw_only=True, slots=True)
class Contract:
    """The commercial terms of a project."""

    billing_type: BillingType
    currency: str
    fee: Money | None = None
    retainer_monthly: Money | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Project:
    """A piece of client work delivered in the PSA."""

    id: str
    customer_id: str
    name: str
    contract: Contract
    authorized: bool = False
    require_time_approvals: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class Resource:
    """A person who records time."""

    id: str
    name: str
    role: str
    cost_rate: Money | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TimeEntry:
    """Time recorded by a resource on a project."""

    id: str
    project_id: str
    resource_id: str
    date: dt.date
    hours: Decimal
    billable: bool
    rate: Money | None
    approved: bool
    invoiced: bool = False
    notes: str = ""

    @property
    def amount(self) -> Money | None:
        """The billable value: hours x rate, rounded to the currency."""
        if self.rate is None or not self.billable:
            return None
        return (self.rate * self.hours).rounded()


@dataclass(frozen=True, kw_only=True, slots=True)
class Expense:
    """An expense incurred on a project."""

    id: str
    project_id: str
    resource_id: str
    date: dt.date
    amount: Money
    category: str
    billable: bool
    approved: bool
    invoiced: bool = False
    notes: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Milestone:
    """A billing milestone of a project."""

    id: str
    project_id: str
    name: str
    fee: Money | None
    completed: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class InvoiceLine:
    """One line of an invoice."""

    description: str
    quantity: Decimal
    unit_price: Money
    source_type: str | None = None
    source_id: str | None = None

    @property
    def amount(self) -> Money:
        """quantity x unit price, rounded to the currency."""
        return (self.unit_price * self.quantity).rounded()


@dataclass(frozen=True, kw_only=True, slots=True)
class Invoice:
    """An invoice to a customer."""

    id: str
    customer_id: str
    project_id: str | None
    currency: str
    lines: tuple[InvoiceLine, ...] = field(default_factory=tuple)
    status: InvoiceStatus = InvoiceStatus.DRAFT
    balance: Money | None = None

    @property
    def total(self) -> Money:
        """Sum of the lines."""
        total = Money.zero(self.currency)
        for line in self.lines:
            total = total + line.amount
        return total


@dataclass(frozen=True, kw_only=True, slots=True)
class Payment:
    """A payment received against an invoice."""

    id: str
    invoice_id: str
    amount: Money
    date: dt.date
