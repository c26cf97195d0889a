"""The Tryton ERP connector: delivery-to-cash over JSON-RPC."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import aiohttp

from ledgerbridge import errors
from ledgerbridge.connectors import _base
from ledgerbridge.connectors._coalesce import Coalescer
from ledgerbridge.connectors.tryton import _invoicing, _mapping, _payments, _rpc
from ledgerbridge.model import Customer, Expense, Money, Project, TimeEntry

__all__ = ["BATCH_SIZE", "TrytonConnector"]

#: Timesheet lines created per call; ~100 gave the best throughput on SQLite.
BATCH_SIZE = 100
#: how long a new timesheet line waits for others posted at about the same time
LINE_WINDOW_S = 0.02
_TIME = frozenset({"time", "time_entry", "timesheet"})
_EXPENSE = frozenset({"expense"})
#: Tryton numbers works from one sequence; concurrent creates can draw the same number.
_NUMBER_RACE = "number on work must be unique"


def _not_found(what: str, erp_id: str) -> errors.PermanentError:
    return errors.PermanentError(f"Tryton has no {what} with id {erp_id}", connector="tryton")


@_base.register("tryton")
class TrytonConnector(_base.BaseErpConnector):
    """Posts customers, projects, time, expenses and invoices to a Tryton database.

    Settings: ``url``, ``database``, ``username``, ``password`` (text or ``SecretStr``);
    optional ``service_product`` and ``expense_product`` (product names, defaulting to
    "Consulting services" and "Expenses (rebill)") and ``payment_term`` (a name).

    Args:
        settings: the connection settings.
        session: the HTTP session to use; one is created (and closed) when omitted.
        tenant_id: the tenant stamped on events read from the feed.
        connection_id: the connection stamped on events (default: the ``connection_id``
            setting).
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
        self.tenant_id = tenant_id
        self.connection_id = connection_id or str(settings.get("connection_id") or "")
        missing = [k for k in ("url", "database", "username", "password") if not settings.get(k)]
        if missing:
            raise errors.ConfigError(
                f"Tryton connection settings lack {', '.join(missing)}", connector="tryton"
            )
        self._session = session
        self._owns_session = session is None
        self._rpc: _rpc.TrytonClient | None = None
        self._company: _invoicing.CompanySetup | None = None
        self._rate_works: dict[tuple[int, Decimal], int] = {}
        self._work_lock = asyncio.Lock()
        self._setup_lock = asyncio.Lock()
        self._rate_lock = asyncio.Lock()
        #: new timesheet lines posted by concurrent runs go to Tryton in batches
        self.new_lines: Coalescer[tuple[dict[str, Any], str], str] = Coalescer(
            self._create_lines, max_size=BATCH_SIZE, window=LINE_WINDOW_S
        )

    @property
    def client(self) -> _rpc.TrytonClient:
        """The JSON-RPC client (created on first use)."""
        if self._rpc is None:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            self._rpc = _rpc.TrytonClient(
                self._session,
                url=str(self.settings["url"]),
                database=str(self.settings["database"]),
                username=str(self.settings["username"]),
                password=self.settings["password"],
            )
        return self._rpc

    async def aclose(self) -> None:
        """Close the HTTP session if the connector created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None
        self._rpc = None

    async def ping(self) -> None:
        """Log in and read the user's preferences."""
        await self.client.login()

    async def _setup(self) -> _invoicing.CompanySetup:
        async with self._setup_lock:  # concurrent first calls load it once
            if self._company is None:
                self._company = await self._load_setup()
        return self._company

    async def _product(self, setting: str, default: str) -> int:
        name = str(self.settings.get(setting) or default)
        ids = await self.client.model("product.product").search(
            [["template.name", "=", name]], limit=1
        )
        if not ids:
            raise errors.ConfigError(f"Tryton has no product named {name!r}", connector="tryton")
        return ids[0]

    async def _load_setup(self) -> _invoicing.CompanySetup:
        client = self.client
        if not client.context:
            await client.login()
        company, employee = client.context.get("company"), client.context.get("employee")
        if not company or not employee:
            raise errors.ConfigError(
                "the Tryton user needs a current company and employee", connector="tryton"
            )
        (row,) = await client.model("company.company").read([company], ["currency.code"])
        term_name = self.settings.get("payment_term")
        terms = await client.model("account.invoice.payment_term").search(
            [["name", "=", term_name]] if term_name else [], limit=1
        )
        revenue = await client.model("account.account").search(
            [["company", "=", company], ["type.revenue", "=", True], ["closed", "!=", True]],
            limit=1,
        )
        journals = await client.model("account.journal").search([["type", "=", "revenue"]], limit=1)
        if not revenue:
            raise errors.ConfigError("Tryton has no revenue account", connector="tryton")
        return _invoicing.CompanySetup(
            company=company,
            currency=row["currency."]["code"],
            currency_id=row["currency."]["id"],
            employee=employee,
            service_product=await self._product("service_product", "Consulting services"),
            expense_product=await self._product("expense_product", "Expenses (rebill)"),
            payment_term=terms[0] if terms else None,
            revenue_account=revenue[0],
            revenue_journal=journals[0] if journals else None,
        )

    # -- customers and projects -------------------------------------------------------

    async def upsert_customer(
        self, customer: Customer, *, erp_id: str | None, idempotency_key: str
    ) -> str:
        """Create the customer as a party, or update the party ``erp_id``."""
        party = self.client.model("party.party")
        if erp_id is None:
            erp_id = await self.find_by_idempotency_key("customer", idempotency_key)
        if erp_id is None:
            found = await party.search([["code", "=", customer.id]], limit=1)
            erp_id = str(found[0]) if found else None
        if erp_id is not None:
            await party.write([int(erp_id)], _mapping.party_update_values(customer))
            return erp_id
        setup = await self._setup()
        values = _mapping.party_values(
            customer, key=idempotency_key, payment_term=setup.payment_term
        )
        (new_id,) = await party.create([values])
        return str(new_id)

    async def upsert_project(
        self, project: Project, *, customer_erp_id: str, erp_id: str | None, idempotency_key: str
    ) -> str:
        """Create the project as a ``project.work``, or update the work ``erp_id``."""
        work = self.client.model("project.work")
        setup = await self._setup()
        values = _mapping.project_values(
            project,
            party=int(customer_erp_id),
            company=setup.company,
            product=setup.service_product,
            currency=setup.currency,
            key=idempotency_key,
        )
        if erp_id is None:
            erp_id = await self.find_by_idempotency_key("project", idempotency_key)
        if erp_id is None:
            found = await work.search(
                [
                    ["type", "=", "project"],
                    ["comment", "like", f"[lb:{_invoicing.like(project.id)}|%"],
                ],
                limit=1,
            )
            erp_id = str(found[0]) if found else None
        if erp_id is None:
            new_id = await self._create_work(values)
            return str(new_id)
        update = {k: values[k] for k in ("name", "party", "project_invoice_method", "list_price")}
        await work.write([int(erp_id)], update)
        return erp_id

    async def _create_work(self, values: dict[str, Any]) -> int:
        """Create one ``project.work``; works are created one at a time per connector.

        Raises:
            TransientError: another writer drew the same work number; retrying succeeds.
        """
        async with self._work_lock:
            try:
                (new_id,) = await self.client.model("project.work").create([values])
            except errors.PermanentError as exc:
                if _NUMBER_RACE not in exc.message.lower():
                    raise
                raise errors.TransientError(
                    f"Tryton gave a new work a number already taken: {exc.message}",
                    connector="tryton",
                ) from exc
        return int(new_id)

    # -- charges ------------------------------------------------------------------------

    async def _rate_work(self, project: int, rate: Money) -> int:
        """Return the timesheet work of the project's task for ``rate``, creating it once."""
        setup = await self._setup()
        values = _mapping.rate_task_values(
            rate,
            parent=project,
            company=setup.company,
            product=setup.service_product,
            currency=setup.currency,
        )
        cache_key = (project, values["list_price"])
        if cache_key in self._rate_works:
            return self._rate_works[cache_key]
        async with self._rate_lock:  # concurrent posts at a new rate look it up once
            if cache_key not in self._rate_works:
                self._rate_works[cache_key] = await self._find_rate_work(project, values)
        return self._rate_works[cache_key]

    async def _find_rate_work(self, project: int, values: dict[str, Any]) -> int:
        work = self.client.model("project.work")
        domain = [["parent", "=", project], ["type", "=", "task"]]
        domain.append(["list_price", "=", values["list_price"]])
        rows = await work.search_read(domain, ["timesheet_works"], limit=1)
        if not rows:
            task = await self._create_work(values)
            rows = await work.read([task], ["timesheet_works"])
        return int(rows[0]["timesheet_works"][0])

    async def _timesheet_values(
        self, entry: TimeEntry, project_erp_id: str, key: str
    ) -> dict[str, Any]:
        setup = await self._setup()
        if entry.rate is None or not entry.billable:
            raise errors.RecordError(
                "only billable time with a rate is posted to Tryton", field="rate"
            )
        work = await self._rate_work(int(project_erp_id), entry.rate)
        return _mapping.timesheet_values(
            entry, company=setup.company, employee=setup.employee, work=work, key=key
        )

    async def post_time(
        self,
        entry: TimeEntry,
        *,
        project_erp_id: str,
        customer_erp_id: str,
        erp_id: str | None,
        idempotency_key: str,
    ) -> str:
        """Create a timesheet line, or correct the line ``erp_id``.

        Raises:
            PermanentError: Tryton refused, e.g. the line is already invoiced.
        """
        values = await self._timesheet_values(entry, project_erp_id, idempotency_key)
        if erp_id is not None:
            await self.client.model("timesheet.line").write([int(erp_id)], values)
            return erp_id
        return await self.new_lines.submit((values, idempotency_key))

    async def post_time_many(
        self, entries: Sequence[tuple[TimeEntry, str]], *, project_erp_id: str
    ) -> list[str]:
        """Create timesheet lines for ``(entry, idempotency_key)`` pairs, 100 per call.

        Keys that already have a line are not posted again; their line ids are returned.

        Returns:
            The line ids, in the order of ``entries``.
        """
        ids: list[str] = []
        for start in range(0, len(entries), BATCH_SIZE):
            chunk = entries[start : start + BATCH_SIZE]
            items = [(await self._timesheet_values(e, project_erp_id, k), k) for e, k in chunk]
            ids += await self._create_lines(items)
        return ids

    async def _create_lines(self, items: list[tuple[dict[str, Any], str]]) -> list[str]:
        """Create the lines of ``(values, idempotency key)`` pairs whose key has none yet.

        One search finds the keys already posted and one create makes the rest; a key
        that appears twice is created once. Returns the line ids, in order.
        """
        found = await self._lines_by_key([key for _values, key in items])
        todo = {key: values for values, key in items if key not in found}
        if todo:
            created = await self.client.model("timesheet.line").create(list(todo.values()))
            found.update({key: str(i) for key, i in zip(todo, created, strict=True)})
        return [found[key] for _values, key in items]

    async def _lines_by_key(self, keys: Sequence[str]) -> dict[str, str]:
        domain: list[Any] = ["OR"]
        domain += [["description", "like", f"%|{_invoicing.like(key)}]"] for key in keys]
        rows = await self.client.model("timesheet.line").search_read(domain, ["id", "description"])
        found: dict[str, str] = {}
        for row in rows:
            marker = _mapping.parse_marker(row["description"])
            if marker and marker[1] in keys:
                found[marker[1]] = str(row["id"])
        return found

    async def post_expense(
        self,
        expense: Expense,
        *,
        project_erp_id: str,
        customer_erp_id: str,
        erp_id: str | None,
        idempotency_key: str,
    ) -> str:
        """Create the expense as a done child work invoiced on effort, or correct it."""
        setup = await self._setup()
        values = _mapping.expense_values(
            expense,
            parent=int(project_erp_id),
            party=int(customer_erp_id),
            company=setup.company,
            product=setup.expense_product,
            currency=setup.currency,
            key=idempotency_key,
        )
        work = self.client.model("project.work")
        if erp_id is None:
            erp_id = await self.find_by_idempotency_key("expense", idempotency_key)
            if erp_id is None:
                new_id = await self._create_work(values)
                return str(new_id)
        await self._refuse_if_invoiced("project.work", erp_id, "expense")
        await work.write([int(erp_id)], values)
        return erp_id

    async def _refuse_if_invoiced(self, model: str, erp_id: str, what: str) -> bool:
        """Raise if the record is invoiced; return False when it does not exist."""
        rows = await self.client.model(model).read([int(erp_id)], ["invoice_line"])
        if rows and rows[0]["invoice_line"]:
            (line,) = await self.client.model("account.invoice.line").read(
                [rows[0]["invoice_line"]], ["invoice"]
            )
            raise errors.PermanentError(
                f"the {what} {erp_id} is already invoiced on Tryton invoice {line['invoice']}; "
                "correct it with a credit note",
                connector="tryton",
            )
        return bool(rows)

    async def remove_charge(self, object_type: str, erp_id: str, *, idempotency_key: str) -> None:
        """Delete a timesheet line or expense work that is not invoiced yet.

        Raises:
            PermanentError: the charge is already invoiced.
        """
        if object_type in _TIME:
            model, what = "timesheet.line", "timesheet line"
        elif object_type in _EXPENSE:
            model, what = "project.work", "expense"
        else:
            raise ValueError(f"unknown charge type {object_type!r}")
        exists = await self._search_ids(model, [["id", "=", int(erp_id)]])
        if exists and await self._refuse_if_invoiced(model, erp_id, what):
            await self.client.model(model).delete([int(erp_id)])

    async def _search_ids(self, model: str, domain: list[Any]) -> list[int]:
        return await self.client.model(model).search(domain)

    # -- invoices and look-ups ------------------------------------------------------------

    async def create_invoice(self, request: _base.InvoiceRequest, *, idempotency_key: str) -> str:
        """Create the project's draft invoice and return its id.

        Time-and-materials projects are invoiced by Tryton (``project.work.invoice``) from
        their uninvoiced timesheet lines and expenses; fixed-fee projects get a draft with
        the request's lines.

        Raises:
            PermanentError: there is nothing to invoice, or Tryton refused.
        """
        setup = await self._setup()
        return await _invoicing.create_invoice(self.client, setup, request, key=idempotency_key)

    async def get_invoice(self, erp_id: str) -> _base.ErpInvoice:
        """Read the invoice with its total, what remains to pay, and its payments."""
        return await _invoicing.get_invoice(self.client, erp_id)

    async def find_by_idempotency_key(self, object_type: str, idempotency_key: str) -> str | None:
        """Return the id of the record a write with this key created, if any.

        ``object_type`` is one of customer, project, time_entry, expense or invoice.
        """
        return await _invoicing.find_by_key(self.client, object_type, idempotency_key)

    async def list_charges(self, project_erp_id: str) -> list[dict[str, Any]]:
        """List the project's timesheet lines and expenses with amount and billed flag."""
        setup = await self._setup()
        return await _invoicing.list_charges(self.client, setup, int(project_erp_id))

    async def read_events(self, cursor: str | None, *, limit: int = 200) -> _base.EventPage:
        """Read ``payment.received`` events: payments on invoices changed after ``cursor``.

        Every changed invoice is read in one page (``limit`` is not needed: payments since
        the last poll are few), so the page never has more.

        Raises:
            ConfigError: the connector was built without a ``tenant_id`` or a connection id.
        """
        if not self.tenant_id or not self.connection_id:
            raise errors.ConfigError(
                "reading Tryton events needs the tenant_id and the connection_id",
                connector="tryton",
            )
        return await _payments.read_payments(
            self.client, cursor, tenant_id=self.tenant_id, connection_id=self.connection_id
        )
