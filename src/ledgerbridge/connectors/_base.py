"""The ports connectors implement, and the registry they join by kind.

The engine never imports a connector by name: each connector module registers its class
with :func:`register`, and the engine builds one with :func:`create` from a connection's
kind and settings.

Every method raises only errors from :mod:`ledgerbridge.errors`:
``TransientError`` (retry), ``AmbiguousError`` (a write may have been applied: the engine
calls ``find_by_idempotency_key`` before writing again), ``PermanentError`` (the target
refused), ``RecordError`` (this record cannot be mapped) or ``ConfigError`` (credentials).
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from ledgerbridge.model import BusinessEvent, Customer, Expense, Money, Project, TimeEntry

__all__ = [
    "BaseConnector",
    "BaseErpConnector",
    "BasePsaConnector",
    "ErpInvoice",
    "EventPage",
    "InvoiceRequest",
    "create",
    "kinds",
    "register",
]

_REGISTRY: dict[str, type[BaseConnector]] = {}
C = TypeVar("C", bound="type[BaseConnector]")


def register(kind: str) -> Callable[[C], C]:
    """Class decorator: make a connector class available under ``kind``."""

    def decorate(cls: C) -> C:
        cls.kind = kind
        _REGISTRY[kind] = cls
        return cls

    return decorate


def kinds() -> list[str]:
    """Return the registered connector kinds, sorted."""
    return sorted(_REGISTRY)


def create(kind: str, settings: Mapping[str, Any], **kwargs: Any) -> BaseConnector:
    """Build a connector of ``kind`` from its connection settings.

    Raises:
        KeyError: no connector registered under ``kind``.
    """
    return _REGISTRY[kind](dict(settings), **kwargs)


class BaseConnector(abc.ABC):
    """Common part of every connector: settings, a cheap ping, and closing."""

    kind: ClassVar[str] = ""

    def __init__(self, settings: dict[str, Any], **kwargs: Any) -> None:
        self.settings = settings

    @abc.abstractmethod
    async def ping(self) -> None:
        """Check reachability and credentials cheaply; raise on failure."""

    async def aclose(self) -> None:
        """Release network resources."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EventPage:
    """Events read from a change feed, and the cursor to read the next ones from."""

    events: list[BusinessEvent]
    cursor: str | None
    has_more: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class InvoiceRequest:
    """What the engine asks the ERP to invoice: a draft for one project."""

    project_erp_id: str
    customer_erp_id: str
    currency: str
    txn_date: dt.date
    lines: list[
        dict[str, Any]
    ]  # {"description", "quantity": Decimal, "unit_price": Decimal, "charge_id"?}
    memo: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ErpInvoice:
    """An ERP invoice as read back: total, balance and status."""

    erp_id: str
    total: Money
    balance: Money
    status: str  # draft | open | partially_paid | paid | void
    payments: list[dict[str, Any]] = field(default_factory=list)


class BaseErpConnector(BaseConnector):
    """The ERP side: customers, projects, billable charges, invoices, payments."""

    @abc.abstractmethod
    async def upsert_customer(
        self, customer: Customer, *, erp_id: str | None, idempotency_key: str
    ) -> str:
        """Create or update the customer; return its ERP id."""

    @abc.abstractmethod
    async def upsert_project(
        self, project: Project, *, customer_erp_id: str, erp_id: str | None, idempotency_key: str
    ) -> str:
        """Create or update the project (QuickBooks: sub-customer; Tryton: project.work)."""

    @abc.abstractmethod
    async def post_time(
        self,
        entry: TimeEntry,
        *,
        project_erp_id: str,
        customer_erp_id: str,
        erp_id: str | None,
        idempotency_key: str,
    ) -> str:
        """Post (or correct, when ``erp_id`` is given) a billable time charge; return its id."""

    @abc.abstractmethod
    async def post_expense(
        self,
        expense: Expense,
        *,
        project_erp_id: str,
        customer_erp_id: str,
        erp_id: str | None,
        idempotency_key: str,
    ) -> str:
        """Post (or correct) a billable expense charge; return its id."""

    @abc.abstractmethod
    async def remove_charge(self, object_type: str, erp_id: str, *, idempotency_key: str) -> None:
        """Remove a charge that was posted but is no longer approved."""

    @abc.abstractmethod
    async def create_invoice(self, request: InvoiceRequest, *, idempotency_key: str) -> str:
        """Create a draft invoice and mark the included charges billed; return its id."""

    @abc.abstractmethod
    async def get_invoice(self, erp_id: str) -> ErpInvoice:
        """Read an invoice back with its balance and payments."""

    @abc.abstractmethod
    async def find_by_idempotency_key(self, object_type: str, idempotency_key: str) -> str | None:
        """Return the id of the object an earlier write with this key created, if any."""

    async def list_charges(self, project_erp_id: str) -> list[dict[str, Any]]:
        """List the project's charges as ``{"erp_id", "object_type", "amount": Decimal,
        "currency", "billed": bool, "source_id"}`` (for reconciliation)."""
        raise NotImplementedError

    async def list_charges_of(
        self, project_erp_ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """List the charges of many projects, by project ERP id (for reconciliation).

        One :meth:`list_charges` per project, four at a time; a connector whose API
        lists many projects' charges in fewer calls overrides this.
        """
        gate = asyncio.Semaphore(4)

        async def one(project: str) -> tuple[str, list[dict[str, Any]]]:
            async with gate:
                return project, await self.list_charges(project)

        return dict(await asyncio.gather(*(one(p) for p in dict.fromkeys(project_erp_ids))))


class BasePsaConnector(BaseConnector):
    """The PSA side: the change feed, reads, and write-backs."""

    @abc.abstractmethod
    async def read_events(self, cursor: str | None, *, limit: int = 200) -> EventPage:
        """Read business events from the change feed after ``cursor``."""

    @abc.abstractmethod
    async def mark_invoiced(
        self,
        *,
        project_id: str,
        time_entry_ids: list[str],
        expense_ids: list[str],
        milestone_ids: list[str],
        erp_invoice_id: str,
        idempotency_key: str,
    ) -> str:
        """Record in the PSA that these items are invoiced; return the PSA invoice id."""

    @abc.abstractmethod
    async def record_payment(
        self,
        *,
        psa_invoice_id: str,
        amount: Decimal,
        currency: str,
        paid_on: dt.date,
        idempotency_key: str,
    ) -> str:
        """Record a payment against the PSA invoice; return the PSA payment id."""

    @abc.abstractmethod
    async def write_back_customer(
        self, customer: Customer, *, psa_id: str | None, idempotency_key: str
    ) -> str:
        """Write the ERP-owned customer master back to the PSA."""


#: modules shipped with ledgerbridge that register connector kinds or step kinds on import
BUILTIN_MODULES = (
    "ledgerbridge.connectors.kantata",
    "ledgerbridge.connectors.quickbooks",
    "ledgerbridge.connectors.tryton",
    "ledgerbridge.steps",
    "ledgerbridge.testing",
)


def load_builtin() -> list[str]:
    """Import the shipped connector modules that are present; return the kinds registered."""
    import importlib
    import importlib.util

    for name in BUILTIN_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return kinds()
