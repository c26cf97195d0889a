"""The QuickBooks Online ERP connector: delivery-to-cash over the Accounting API v3."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp

from ledgerbridge import errors
from ledgerbridge.connectors import _base
from ledgerbridge.connectors.quickbooks import _client, _company, _mapping, _payments, _settings
from ledgerbridge.model import Customer, Expense, Project, TimeEntry

__all__ = ["QuickBooksConnector"]

_CONNECTOR = "quickbooks"
#: ids per IN (...) list in a query
_IN_CHUNK = 100
#: where find_by_idempotency_key looks for the marker of each object type
_KEY_FIELDS = {
    "customer": ("Customer", "Notes"),
    "project": ("Customer", "Notes"),
    "time_entry": ("TimeActivity", "Description"),
    "expense": ("Purchase", "PrivateNote"),
    "invoice": ("Invoice", "PrivateNote"),
}

Obj = _company.Obj


@_base.register("quickbooks")
class QuickBooksConnector(_base.BaseErpConnector):
    """Posts customers, projects, time, expenses and invoices to a QuickBooks Online company.

    See :class:`~ledgerbridge.connectors.quickbooks.QuickBooksSettings` for the settings.

    Args:
        settings: the connection settings.
        session: the HTTP session to use; one is created (and closed) when omitted.
        tenant_id: the tenant stamped on events read from the company.
        connection_id: the connection stamped on events (default: the setting).
    """

    def __init__(
        self,
        settings: dict[str, Any],
        *,
        session: aiohttp.ClientSession | None = None,
        tenant_id: str = "",
        connection_id: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(settings, **kwargs)
        self.config = _settings.parse_settings(settings)
        self.tenant_id = tenant_id
        self.connection_id = connection_id or self.config.connection_id
        self._session = session
        self._owns_session = session is None
        self._company: _company.Company | None = None
        self._limiter = _client.RateLimiter(
            per_second=self.config.rate_limit_per_second, per_minute=self.config.per_minute
        )

    @property
    def company(self) -> _company.Company:
        """The company's versions, references and look-ups (created on first use)."""
        if self._company is None:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            client = _client.QuickBooksClient(
                self._session,
                base_url=self.config.base_url,
                realm_id=self.config.realm_id,
                access_token=self.config.access_token,
                minorversion=self.config.minorversion,
                timeout_seconds=self.config.timeout_seconds,
                limiter=self._limiter,
            )
            self._company = _company.Company(client, self.config)
        return self._company

    @property
    def client(self) -> _client.QuickBooksClient:
        """The company's API client (created on first use)."""
        return self.company.client

    async def aclose(self) -> None:
        """Close the HTTP session if the connector created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None
        self._company = None

    async def ping(self) -> None:
        """Run the cheapest query (one account) to check reachability and credentials."""
        await self.client.query("SELECT * FROM Account STARTPOSITION 1 MAXRESULTS 1")

    # -- customers and projects -------------------------------------------------------

    async def _upsert_named(
        self, body: Obj, *, what: str, source_id: str, erp_id: str | None, key: str
    ) -> str:
        if erp_id is None:
            try:
                return await self.company.create("Customer", body, key=key)
            except _client.QboFaultError as exc:
                if exc.code != "6240":
                    raise
                found = await self.company.find("Customer", "DisplayName", body["DisplayName"])
                marked = _mapping.parse_marker(found.get("Notes")) if found else None
                if found is None or not marked or marked[0] != source_id:
                    raise self.company.name_taken(
                        body["DisplayName"], what, source_id, exc
                    ) from None
                erp_id = str(found["Id"])
        fields = {k: v for k, v in body.items() if k != "CurrencyRef"}
        await self.company.update("Customer", erp_id, fields, key=key)
        return erp_id

    async def upsert_customer(
        self, customer: Customer, *, erp_id: str | None, idempotency_key: str
    ) -> str:
        """Create the Customer, or update it; adopt one with our marker on a name clash.

        Raises:
            PermanentError: the display name belongs to an object ledgerbridge did not make.
        """
        body = _mapping.customer_body(customer, key=idempotency_key)
        return await self._upsert_named(
            body, what="customer", source_id=customer.id, erp_id=erp_id, key=idempotency_key
        )

    async def upsert_project(
        self, project: Project, *, customer_erp_id: str, erp_id: str | None, idempotency_key: str
    ) -> str:
        """Create the project as a sub-customer (``IsProject``) of the customer, or update it.

        Raises:
            PermanentError: the display name belongs to an object ledgerbridge did not make.
        """
        body = _mapping.project_body(project, customer_erp_id=customer_erp_id, key=idempotency_key)
        return await self._upsert_named(
            body, what="project", source_id=project.id, erp_id=erp_id, key=idempotency_key
        )

    # -- charges ------------------------------------------------------------------------

    async def _post_charge(self, entity: str, body: Obj, *, erp_id: str | None, key: str) -> str:
        if erp_id is None:
            return await self.company.create(entity, body, key=key)

        async def guard(current: Obj) -> None:
            await self.company.refuse_billed(entity, current)

        await self.company.update(entity, erp_id, body, key=key, guard=guard)
        return erp_id

    async def post_time(
        self,
        entry: TimeEntry,
        *,
        project_erp_id: str,
        customer_erp_id: str,
        erp_id: str | None,
        idempotency_key: str,
    ) -> str:
        """Create a billable TimeActivity on the project, or correct the one ``erp_id``.

        Raises:
            RecordError: billable time has no rate, or is not a whole number of minutes.
            PermanentError: the time activity to correct is already invoiced.
        """
        body = _mapping.time_activity_body(
            entry,
            project_erp_id=project_erp_id,
            employee_id=await self.company.employee(entry.resource_id),
            item_id=await self.company.service_item(),
            key=idempotency_key,
        )
        return await self._post_charge("TimeActivity", body, erp_id=erp_id, key=idempotency_key)

    async def post_expense(
        self,
        expense: Expense,
        *,
        project_erp_id: str,
        customer_erp_id: str,
        erp_id: str | None,
        idempotency_key: str,
    ) -> str:
        """Create a Purchase whose line is billable to the project, or correct ``erp_id``.

        Raises:
            ConfigError: the expense or payment account does not exist.
            PermanentError: the expense to correct is already invoiced.
        """
        body = _mapping.purchase_body(
            expense,
            project_erp_id=project_erp_id,
            payment_account_id=await self.company.account("payment_account_name"),
            expense_account_id=await self.company.account("expense_account_name"),
            key=idempotency_key,
        )
        return await self._post_charge("Purchase", body, erp_id=erp_id, key=idempotency_key)

    async def remove_charge(self, object_type: str, erp_id: str, *, idempotency_key: str) -> None:
        """Delete a time activity or expense that is not invoiced; a missing one is fine.

        Raises:
            PermanentError: the charge is already invoiced (the message names the invoice).
        """
        entity = _mapping.charge_entity(object_type)

        async def guard(current: Obj) -> None:
            await self.company.refuse_billed(entity, current)

        async def delete(current: Obj, attempt: int) -> Obj:
            purpose = "delete-retry" if attempt else "delete"
            request_id = _client.request_id(idempotency_key, purpose)
            answer = await self.client.delete(
                entity, erp_id, str(current["SyncToken"]), request_id=request_id
            )
            self.company.forget(entity, erp_id)
            return answer

        await self.company.write_current(entity, erp_id, delete, guard=guard)

    # -- invoices, look-ups and feeds -----------------------------------------------------

    async def create_invoice(self, request: _base.InvoiceRequest, *, idempotency_key: str) -> str:
        """Create the project's invoice; lines linked to charges mark them ``HasBeenBilled``.

        Raises:
            RecordError: the request has no lines or a line lacks quantity or price.
        """
        body = _mapping.invoice_body(
            request, item_id=await self.company.service_item(), key=idempotency_key
        )
        return await self.company.create("Invoice", body, key=idempotency_key)

    async def get_invoice(self, erp_id: str) -> _base.ErpInvoice:
        """Read the invoice with its total, balance, status and the payments applied to it."""
        raw = await self.client.read("Invoice", erp_id)
        ids = [
            str(x.get("TxnId"))
            for x in raw.get("LinkedTxn") or []
            if isinstance(x, dict) and x.get("TxnType") == "Payment"
        ]
        payments: list[Obj] = []
        if ids:
            wanted = ", ".join(_mapping.quote(i) for i in ids)
            page = await self.client.query(
                f"SELECT * FROM Payment WHERE Id IN ({wanted}) MAXRESULTS {_client.MAX_PAGE}"
            )
            payments = page.get("Payment") or []
        return _mapping.erp_invoice(raw, payments)

    async def find_by_idempotency_key(self, object_type: str, idempotency_key: str) -> str | None:
        """Return the id of the object whose marker carries ``idempotency_key``, if any.

        ``object_type`` is one of customer, project, time_entry, expense or invoice.
        """
        if object_type not in _KEY_FIELDS:
            raise ValueError(f"unknown object type {object_type!r}")
        entity, field = _KEY_FIELDS[object_type]
        page = await self.client.query(
            f"SELECT * FROM {entity} WHERE {field} LIKE {_mapping.like_key(idempotency_key)} "
            "MAXRESULTS 10"
        )
        for obj in page.get(entity) or []:
            marked = _mapping.parse_marker(obj.get(field))
            if marked and marked[1] == idempotency_key:
                return str(obj["Id"])
        return None

    async def list_charges(self, project_erp_id: str) -> list[dict[str, Any]]:
        """List the project's time activities and billable expenses with amount and billed flag.

        A billed charge also names the invoice that billed it (``invoice_erp_id``).
        """
        return (await self.list_charges_of([project_erp_id]))[project_erp_id]

    async def list_charges_of(self, project_erp_ids: Sequence[str]) -> dict[str, list[Obj]]:
        """List the charges of many projects with a few queries per hundred projects.

        Purchases cannot be filtered by the project on their lines, so every marked
        Purchase is read once for all projects instead of once per project.

        Raises:
            PermanentError: a project does not exist in the company.
        """
        wanted = list(dict.fromkeys(project_erp_ids))
        charges: dict[str, list[Obj]] = {pid: [] for pid in wanted}
        billed_on: dict[tuple[str, str], str] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            billed_on.update(await self._time_charges(wanted[start : start + _IN_CHUNK], charges))
        for raw in await self.client.query_all("Purchase", "PrivateNote LIKE '[lb:%'"):
            for project, found in _mapping.purchase_charges_by_project(raw).items():
                if project in charges:
                    charges[project] += found
        for found in charges.values():
            for charge in found:
                invoice = billed_on.get((charge["object_type"], charge["erp_id"]))
                if invoice is not None:
                    charge["invoice_erp_id"] = invoice
        return charges

    async def _time_charges(
        self, projects: list[str], into: dict[str, list[Obj]]
    ) -> dict[tuple[str, str], str]:
        """Add the projects' TimeActivity charges to ``into``; return what their invoices bill."""
        ids = ", ".join(_mapping.quote(i) for i in projects)
        currency = {
            str(raw["Id"]): str((raw.get("CurrencyRef") or {}).get("value") or "USD")
            for raw in await self.client.query_all("Customer", f"Id IN ({ids})")
        }
        missing = [pid for pid in projects if pid not in currency]
        if missing:
            raise errors.PermanentError(
                f"QuickBooks has no project (Customer) {missing[0]}",
                hint="the project was deleted in QuickBooks, or the cross-reference is stale",
                connector=_CONNECTOR,
            )
        for raw in await self.client.query_all("TimeActivity", f"CustomerRef IN ({ids})"):
            project = str((raw.get("CustomerRef") or {}).get("value"))
            if project in into:
                into[project].append(_mapping.time_activity_charge(raw, currency=currency[project]))
        return await self._billing_invoices(f"CustomerRef IN ({ids})")

    async def _billing_invoices(self, where: str) -> dict[tuple[str, str], str]:
        """Map each (object type, charge id) billed on an invoice matching ``where`` to it."""
        kinds = {"TimeActivity": "time_entry", "Purchase": "expense"}
        billed: dict[tuple[str, str], str] = {}
        for invoice in await self.client.query_all("Invoice", where):
            for line in invoice.get("Line") or []:
                links = line.get("LinkedTxn") if isinstance(line, dict) else None
                for link in links or []:
                    kind = kinds.get(str(link.get("TxnType")))
                    if kind is not None:
                        billed[(kind, str(link.get("TxnId")))] = str(invoice["Id"])
        return billed

    async def read_events(self, cursor: str | None, *, limit: int = 200) -> _base.EventPage:
        """Read ``payment.received`` events: Payments created or changed after ``cursor``.

        Raises:
            ConfigError: the connector was built without a ``tenant_id``.
        """
        if not self.tenant_id:
            raise errors.ConfigError(
                "reading QuickBooks events needs the tenant_id", connector=_CONNECTOR
            )
        return await _payments.read_payments(
            self.client,
            cursor,
            limit=limit,
            tenant_id=self.tenant_id,
            connection_id=self.connection_id,
        )
