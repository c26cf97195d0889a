"""Invoices and look-ups of the Tryton connector: idempotency keys, drafts, charges."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from ledgerbridge import errors
from ledgerbridge.connectors import _base
from ledgerbridge.connectors.tryton import _mapping, _rpc
from ledgerbridge.model import Money

__all__ = ["CompanySetup", "create_invoice", "find_by_key", "get_invoice", "like", "list_charges"]

_INVOICE_FIELDS = ["id", "state", "total_amount", "amount_to_pay", "currency.code", "payment_lines"]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class CompanySetup:
    """Ids the connector looks up once per session."""

    company: int
    currency: str
    currency_id: int
    employee: int
    service_product: int
    expense_product: int
    payment_term: int | None
    revenue_account: int
    revenue_journal: int | None


def like(text: str) -> str:
    """Escape ``text`` for a Tryton ``like`` pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _first_marked(
    client: _rpc.TrytonClient, model: str, field: str, domain: list[Any], key: str
) -> str | None:
    rows = await client.model(model).search_read(
        [*domain, [field, "like", f"%|{like(key)}]"]], ["id", field]
    )
    for row in rows:
        marker = _mapping.parse_marker(row[field])
        if marker is not None and marker[1] == key:
            return str(row["id"])
    return None


async def find_by_key(client: _rpc.TrytonClient, object_type: str, key: str) -> str | None:
    """Return the id of the record created with idempotency key ``key``, if any.

    Raises:
        ValueError: ``object_type`` is not one the connector writes.
    """
    if object_type == "customer":
        rows = await client.model("party.identifier").search_read(
            [["code", "=", key]], ["party"], limit=1
        )
        return str(rows[0]["party"]) if rows else None
    if object_type == "project":
        domain = [["type", "=", "project"], ["parent", "=", None]]
        return await _first_marked(client, "project.work", "comment", domain, key)
    if object_type == "expense":
        domain = [["type", "=", "project"], ["parent", "!=", None]]
        return await _first_marked(client, "project.work", "comment", domain, key)
    if object_type in ("time", "time_entry", "timesheet"):
        return await _first_marked(client, "timesheet.line", "description", [], key)
    if object_type == "invoice":
        ids = await client.model("account.invoice").search([["reference", "=", key]], limit=1)
        return str(ids[0]) if ids else None
    raise ValueError(f"unknown object type {object_type!r}")


async def create_invoice(
    client: _rpc.TrytonClient, setup: CompanySetup, request: _base.InvoiceRequest, *, key: str
) -> str:
    """Create (or find again) the draft invoice for ``request``; see the connector."""
    existing = await find_by_key(client, "invoice", key)
    if existing is not None:
        return existing
    project = int(request.project_erp_id)
    rows = await client.model("project.work").read(
        [project], ["name", "party", "project_invoice_method"]
    )
    if not rows:
        raise errors.PermanentError(f"Tryton has no project {project}", connector="tryton")
    work = rows[0]
    if work["project_invoice_method"] == "manual":
        invoice = await _explicit_invoice(client, setup, request, key=key)
    else:
        invoice = await _project_invoice(client, work)
        await client.model("account.invoice").write([invoice], {"reference": key})
    return str(invoice)


async def _project_invoice(client: _rpc.TrytonClient, work: dict[str, Any]) -> int:
    invoices = client.model("account.invoice")
    # An earlier attempt whose answer was lost leaves a draft without our reference.
    domain = [
        ["type", "=", "out"],
        ["party", "=", work["party"]],
        ["description", "=", work["name"]],
        ["state", "=", "draft"],
    ]
    before = await invoices.search(domain)
    await client.model("project.work").button("invoice", [work["id"]])
    unreferenced = ["OR", ["reference", "=", None], ["reference", "=", ""]]
    after = await invoices.search([*domain, unreferenced])
    new = [i for i in after if i not in before] or after
    if not new:
        raise errors.PermanentError(
            f"Tryton project {work['name']!r} has nothing to invoice", connector="tryton"
        )
    return max(new)


async def _explicit_invoice(
    client: _rpc.TrytonClient, setup: CompanySetup, request: _base.InvoiceRequest, *, key: str
) -> int:
    if not request.lines:
        raise errors.RecordError("a fixed-fee invoice needs at least one line", field="lines")
    party = int(request.customer_erp_id)
    (row,) = await client.model("party.party").read([party], ["addresses", "account_receivable"])
    account = row["account_receivable"]
    if account is None:
        (config,) = await client.model("account.configuration").read(
            [1], ["default_account_receivable"]
        )
        account = config["default_account_receivable"]
    if not row["addresses"] or not account:
        raise errors.PermanentError(
            f"Tryton party {party} lacks an address or a receivable account", connector="tryton"
        )
    lines = []
    for index, line in enumerate(request.lines):
        line_values = _mapping.invoice_line_values(
            line, account=setup.revenue_account, currency=setup.currency, index=index
        )
        lines.append({**line_values, "company": setup.company, "currency": setup.currency_id})
    values: dict[str, Any] = {
        "type": "out",
        "company": setup.company,
        "party": party,
        "invoice_address": row["addresses"][0],
        "account": account,
        "currency": setup.currency_id,
        "journal": setup.revenue_journal,
        "payment_term": setup.payment_term,
        "description": request.memo or None,
        "reference": key,
        "lines": [["create", lines]],
    }
    (invoice,) = await client.model("account.invoice").create([values])
    return invoice


async def get_invoice(client: _rpc.TrytonClient, erp_id: str) -> _base.ErpInvoice:
    """Read an ``account.invoice`` as an :class:`ErpInvoice` with its payments.

    Raises:
        PermanentError: there is no such invoice.
    """
    rows = await client.model("account.invoice").read([int(erp_id)], _INVOICE_FIELDS)
    if not rows:
        raise errors.PermanentError(f"Tryton has no invoice {erp_id}", connector="tryton")
    row = rows[0]
    currency = row["currency."]["code"]
    payments = []
    if row["payment_lines"]:
        moves = await client.model("account.move.line").read(
            row["payment_lines"], ["id", "date", "debit", "credit"]
        )
        for move in moves:
            amount = Money(move["credit"] - move["debit"], currency)
            payments.append({"erp_id": str(move["id"]), "amount": amount, "date": move["date"]})
    return _mapping.erp_invoice(row, payments=payments)


async def list_charges(
    client: _rpc.TrytonClient, setup: CompanySetup, project: int
) -> list[dict[str, Any]]:
    """List the timesheet lines and expenses under ``project`` (for reconciliation).

    A billed charge also names the invoice that billed it (``invoice_erp_id``).
    """
    works = await client.model("project.work").search_read(
        [["parent", "=", project]],
        ["id", "type", "list_price", "timesheet_works", "invoice_line", "comment"],
    )
    charges: list[dict[str, Any]] = []
    prices: dict[int, Decimal] = {}
    for work in works:
        if work["type"] == "task":
            prices.update({tw: work["list_price"] for tw in work["timesheet_works"]})
        elif (marker := _mapping.parse_marker(work["comment"])) is not None:
            charges.append(_charge(work, "expense", work["list_price"], marker[0], setup))
    if prices:
        lines = await client.model("timesheet.line").search_read(
            [["work", "in", list(prices)]],
            ["id", "work", "duration", "invoice_line", "description"],
        )
        for line in lines:
            hours = _mapping.duration_to_hours(line["duration"])
            marker = _mapping.parse_marker(line["description"])
            source = marker[0] if marker else None
            charges.append(_charge(line, "time_entry", hours * prices[line["work"]], source, setup))
    billed = [int(c["invoice_line"]) for c in charges if c["invoice_line"]]
    if billed:
        rows = await client.model("account.invoice.line").read(billed, ["id", "invoice"])
        invoice_of = {row["id"]: row["invoice"] for row in rows}
        for charge in charges:
            if invoice_of.get(charge["invoice_line"]) is not None:
                charge["invoice_erp_id"] = str(invoice_of[charge["invoice_line"]])
    for charge in charges:
        del charge["invoice_line"]
    return charges


def _charge(
    row: dict[str, Any], kind: str, amount: Decimal, source: str | None, setup: CompanySetup
) -> dict[str, Any]:
    return {
        "erp_id": str(row["id"]),
        "object_type": kind,
        "amount": Money(amount, setup.currency).rounded().amount,
        "currency": setup.currency,
        "billed": bool(row["invoice_line"]),
        "source_id": source,
        "invoice_line": row["invoice_line"],  # replaced by invoice_erp_id in list_charges
    }
