"""Pure mapping between the canonical model and QuickBooks Online JSON (no I/O).

How delivery-to-cash lands in QuickBooks:

* a customer is a ``Customer``; a project is a sub-customer (``Job``, ``IsProject``,
  ``BillWithParent``) whose parent is the customer. Their ``Notes`` carry a marker
  ``[lb:<source id>|<idempotency key>]`` that says ledgerbridge made them;
* time is a ``TimeActivity`` of an employee on the project, ``Billable`` at ``HourlyRate``,
  with whole ``Hours`` and ``Minutes``; its ``Description`` ends with the marker;
* a billable expense is a ``Purchase`` with one ``AccountBasedExpenseLineDetail`` line that is
  ``Billable`` to the project; its ``PrivateNote`` carries the marker;
* an invoice is an ``Invoice`` for the project with one ``SalesItemLineDetail`` line per
  request line; a line ``LinkedTxn`` to a charge marks the charge ``HasBeenBilled``.

Amounts go out as Decimal and come back as Decimal; nothing here touches a float.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ledgerbridge import errors
from ledgerbridge.connectors import _base
from ledgerbridge.model import Customer, Expense, InvoiceStatus, Money, Project, TimeEntry

__all__ = [
    "CHARGE_ENTITIES",
    "MAX_NOTE",
    "charge_entity",
    "customer_body",
    "entry_minutes",
    "erp_invoice",
    "invoice_body",
    "like_key",
    "marker",
    "parse_marker",
    "payment_records",
    "project_body",
    "purchase_body",
    "purchase_charges",
    "quote",
    "rounded",
    "source_version",
    "time_activity_body",
    "time_activity_charge",
]

#: the longest free text kept in a description or note
MAX_NOTE = 3800
#: canonical charge types and the QuickBooks entity that holds each
CHARGE_ENTITIES = {
    "time_entry": "TimeActivity",
    "time": "TimeActivity",
    "timeactivity": "TimeActivity",
    "expense": "Purchase",
    "purchase": "Purchase",
}
_MARKER = re.compile(r"\[lb:([^|\]]*)\|([^\]]*)\]")
_ZERO = Decimal(0)
# A minute is 1/60 h; hours quantized to 0.0001 are at most 0.003 min away from whole minutes.
_MINUTE_TOLERANCE = Decimal("0.01")


def marker(source_id: str, key: str) -> str:
    """Return the marker that ties a QuickBooks object to its source and idempotency key."""
    return f"[lb:{source_id}|{key}]"


def parse_marker(text: Any) -> tuple[str, str] | None:
    """Return (source id, idempotency key) of the last marker in ``text``, if any."""
    if not isinstance(text, str):
        return None
    found = _MARKER.findall(text)
    return (found[-1][0], found[-1][1]) if found else None


def quote(value: str) -> str:
    """Quote ``value`` as a string literal of the query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def like_key(key: str) -> str:
    """Return the quoted LIKE pattern that finds the marker with idempotency key ``key``."""
    return quote(f"%|{key}]%")


def charge_entity(object_type: str) -> str:
    """Return the QuickBooks entity of a canonical charge type.

    Raises:
        ValueError: for a type that is not a charge.
    """
    entity = CHARGE_ENTITIES.get(object_type.lower())
    if entity is None:
        raise ValueError(f"unknown charge type {object_type!r}")
    return entity


def rounded(amount: Decimal, currency: str, *, field: str = "amount") -> Decimal:
    """Round ``amount`` half-up to the minor units of ``currency``.

    Raises:
        RecordError: the currency is unknown.
    """
    try:
        return Money(amount, currency).rounded().amount
    except ValueError as exc:
        raise errors.RecordError(str(exc), field=field) from None


def _note(text: str, tag: str) -> str:
    text = text.strip()[:MAX_NOTE]
    return f"{text} {tag}" if text else tag


def customer_body(customer: Customer, *, key: str) -> dict[str, Any]:
    """Return the Customer fields for ``customer``."""
    body: dict[str, Any] = {
        "DisplayName": customer.name.strip(),
        "CompanyName": customer.name.strip(),
        "CurrencyRef": {"value": customer.currency},
        "Active": customer.active,
        "Notes": marker(customer.id, key),
    }
    if customer.email:
        body["PrimaryEmailAddr"] = {"Address": customer.email}
    return body


def project_body(project: Project, *, customer_erp_id: str, key: str) -> dict[str, Any]:
    """Return the sub-customer fields of ``project`` under the customer ``customer_erp_id``."""
    # QuickBooks wants DisplayName unique across every customer and job, while PSA project
    # titles repeat ("ERP rollout" for two clients); the project id keeps it unique.
    suffix = f" ({project.id})"
    return {
        "DisplayName": project.name.strip()[: 100 - len(suffix)] + suffix,
        "ParentRef": {"value": customer_erp_id},
        "Job": True,
        "IsProject": True,
        "BillWithParent": True,
        "CurrencyRef": {"value": project.contract.currency},
        "Notes": marker(project.id, key),
    }


def entry_minutes(entry: TimeEntry) -> int:
    """Return the whole minutes of ``entry`` (its hours are minutes / 60).

    Raises:
        RecordError: the hours are negative or not a whole number of minutes.
    """
    exact = entry.hours * 60
    minutes = exact.to_integral_value(rounding=ROUND_HALF_UP)
    if entry.hours < 0 or abs(exact - minutes) > _MINUTE_TOLERANCE:
        raise errors.RecordError(
            f"time entry {entry.id}: {entry.hours} hours is not a whole number of minutes",
            field="hours",
        )
    return int(minutes)


def time_activity_body(
    entry: TimeEntry, *, project_erp_id: str, employee_id: str, item_id: str, key: str
) -> dict[str, Any]:
    """Return the TimeActivity fields for ``entry``.

    Raises:
        RecordError: billable time has no rate, or its hours are not whole minutes.
    """
    minutes = entry_minutes(entry)
    body: dict[str, Any] = {
        "TxnDate": entry.date.isoformat(),
        "NameOf": "Employee",
        "EmployeeRef": {"value": employee_id},
        "CustomerRef": {"value": project_erp_id},
        "ItemRef": {"value": item_id},
        "Hours": minutes // 60,
        "Minutes": minutes % 60,
        "BillableStatus": "NotBillable",
        "Description": _note(entry.notes, marker(entry.id, key)),
    }
    if entry.billable:
        if entry.rate is None:
            raise errors.RecordError(f"billable time entry {entry.id} has no rate", field="rate")
        body.update(BillableStatus="Billable", HourlyRate=entry.rate.amount)
    return body


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise errors.RecordError(f"QuickBooks {field} is not a number: {value!r:.40}", field=field)
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise errors.RecordError(f"QuickBooks {field} is not a number", field=field) from None
    if not result.is_finite():
        raise errors.RecordError(f"QuickBooks {field} is not a finite number", field=field)
    return result


def _ref(raw: Mapping[str, Any], field: str) -> str | None:
    ref = raw.get(field)
    return str(ref["value"]) if isinstance(ref, dict) and "value" in ref else None


def time_activity_charge(raw: Mapping[str, Any], *, currency: str) -> dict[str, Any]:
    """Return a TimeActivity as a charge: amount = rate x minutes / 60, rounded to the currency.

    Raises:
        RecordError: a duration or rate field is not a number.
    """
    minutes = _decimal(raw.get("Hours", 0), "Hours") * 60 + _decimal(
        raw.get("Minutes", 0), "Minutes"
    )
    rate = _decimal(raw.get("HourlyRate", 0), "HourlyRate")
    status = raw.get("BillableStatus")
    amount = rounded(rate * minutes / 60, currency) if status != "NotBillable" else _ZERO
    found = parse_marker(raw.get("Description"))
    return {
        "erp_id": str(raw.get("Id", "")),
        "object_type": "time_entry",
        "amount": amount,
        "currency": currency,
        "billed": status == "HasBeenBilled",
        "source_id": found[0] if found else None,
        "minutes": int(minutes),
        "rate": rate,
    }


def purchase_body(
    expense: Expense,
    *,
    project_erp_id: str,
    payment_account_id: str,
    expense_account_id: str,
    key: str,
) -> dict[str, Any]:
    """Return the Purchase fields of ``expense``: one line, billable to the project."""
    detail = {
        "AccountRef": {"value": expense_account_id},
        "BillableStatus": "Billable" if expense.billable else "NotBillable",
        "CustomerRef": {"value": project_erp_id},
    }
    line = {
        "Amount": expense.amount.amount,
        "DetailType": "AccountBasedExpenseLineDetail",
        "Description": (expense.notes or expense.category).strip()[:MAX_NOTE],
        "AccountBasedExpenseLineDetail": detail,
    }
    return {
        "PaymentType": "Cash",
        "AccountRef": {"value": payment_account_id},
        "TxnDate": expense.date.isoformat(),
        "CurrencyRef": {"value": expense.amount.currency},
        "PrivateNote": marker(expense.id, key),
        "Line": [line],
    }


def purchase_charges(raw: Mapping[str, Any], *, project_erp_id: str) -> list[dict[str, Any]]:
    """Return the charges of a Purchase whose lines are billable to the project.

    Raises:
        RecordError: ``Line`` is not a list, or a line amount is not a number.
    """
    return purchase_charges_by_project(raw).get(project_erp_id, [])


def purchase_charges_by_project(raw: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Return the charges of a Purchase's billable lines, by the project each line bills.

    Raises:
        RecordError: ``Line`` is not a list, or a line amount is not a number.
    """
    currency = _ref(raw, "CurrencyRef") or "USD"
    found = parse_marker(raw.get("PrivateNote"))
    lines = raw.get("Line") or []
    if not isinstance(lines, list):
        raise errors.RecordError("a Purchase's Line must be a list", field="Line")
    charges: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        detail = line.get("AccountBasedExpenseLineDetail") if isinstance(line, dict) else None
        project = _ref(detail, "CustomerRef") if isinstance(detail, dict) else None
        if project is None or not isinstance(detail, dict):
            continue
        charges.setdefault(project, []).append(
            {
                "erp_id": str(raw.get("Id", "")),
                "object_type": "expense",
                "amount": _decimal(line.get("Amount"), "Line.Amount"),
                "currency": currency,
                "billed": detail.get("BillableStatus") == "HasBeenBilled",
                "source_id": found[0] if found else None,
            }
        )
    return charges


def _invoice_line(line: Mapping[str, Any], index: int, *, item_id: str, currency: str) -> Any:
    where = f"lines[{index}]"
    try:
        quantity = _decimal(line["quantity"], f"{where}.quantity")
        price = _decimal(line["unit_price"], f"{where}.unit_price")
    except KeyError as exc:
        raise errors.RecordError(f"invoice {where} has no {exc.args[0]}", field=where) from None
    detail: dict[str, Any] = {"ItemRef": {"value": item_id}, "Qty": quantity, "UnitPrice": price}
    if line.get("date"):
        detail["ServiceDate"] = str(line["date"])
    out: dict[str, Any] = {
        "Amount": rounded(quantity * price, currency, field=f"{where}.amount"),
        "DetailType": "SalesItemLineDetail",
        "Description": str(line.get("description") or "")[:MAX_NOTE],
        "SalesItemLineDetail": detail,
    }
    if line.get("charge_id"):
        try:
            entity = charge_entity(str(line.get("charge_type") or "time_entry"))
        except ValueError as exc:
            raise errors.RecordError(
                f"invoice {where}: {exc}", field=f"{where}.charge_type"
            ) from None
        out["LinkedTxn"] = [{"TxnId": str(line["charge_id"]), "TxnType": entity}]
    return out


def invoice_body(request: _base.InvoiceRequest, *, item_id: str, key: str) -> dict[str, Any]:
    """Return the Invoice fields for ``request``: Amount = Qty x UnitPrice to the cent.

    Raises:
        RecordError: there are no lines, or a line lacks a quantity or unit price.
    """
    if not request.lines:
        raise errors.RecordError("an invoice needs at least one line", field="lines")
    lines = [
        _invoice_line(line, i, item_id=item_id, currency=request.currency)
        for i, line in enumerate(request.lines)
    ]
    body: dict[str, Any] = {
        "CustomerRef": {"value": request.project_erp_id},
        "CurrencyRef": {"value": request.currency},
        "TxnDate": request.txn_date.isoformat(),
        "Line": lines,
        "PrivateNote": marker(request.project_erp_id, key),
    }
    if request.memo:
        body["CustomerMemo"] = {"value": request.memo[:1000]}
    return body


def _applied(payment: Mapping[str, Any], invoice_id: str) -> Decimal:
    total = _ZERO
    for line in payment.get("Line") or []:
        links = line.get("LinkedTxn") if isinstance(line, dict) else None
        for link in links or []:
            if link.get("TxnType") == "Invoice" and str(link.get("TxnId")) == invoice_id:
                total += _decimal(line.get("Amount"), "Payment.Line.Amount")
    return total


def erp_invoice(raw: Mapping[str, Any], payments: Sequence[Mapping[str, Any]]) -> _base.ErpInvoice:
    """Return an Invoice, with the Payments applied to it, as an :class:`ErpInvoice`.

    Raises:
        RecordError: TotalAmt or Balance is missing or not a number.
    """
    erp_id = str(raw.get("Id", ""))
    currency = _ref(raw, "CurrencyRef") or "USD"
    total = _decimal(raw.get("TotalAmt"), "TotalAmt")
    balance = _decimal(raw.get("Balance"), "Balance")
    if str(raw.get("PrivateNote") or "").startswith("Voided"):
        status = InvoiceStatus.VOID
    elif balance <= 0 and total > 0:
        status = InvoiceStatus.PAID
    elif balance < total:
        status = InvoiceStatus.PARTIALLY_PAID
    else:
        status = InvoiceStatus.OPEN
    applied = [
        {"erp_id": str(p.get("Id")), "amount": _applied(p, erp_id), "date": p.get("TxnDate")}
        for p in payments
    ]
    return _base.ErpInvoice(
        erp_id=erp_id,
        total=Money(total, currency),
        balance=Money(balance, currency),
        status=status.value,
        payments=[p for p in applied if p["amount"]],
    )


def source_version(raw: Mapping[str, Any]) -> int:
    """Return a version that grows with every change: LastUpdatedTime in ms plus SyncToken.

    Raises:
        RecordError: MetaData.LastUpdatedTime is missing or not a date-time.
    """
    meta = raw.get("MetaData")
    stamp = meta.get("LastUpdatedTime") if isinstance(meta, dict) else None
    try:
        when = dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        raise errors.RecordError(
            "QuickBooks object has no MetaData.LastUpdatedTime", field="MetaData.LastUpdatedTime"
        ) from None
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    token = str(raw.get("SyncToken") or "0")
    # Times have whole seconds; the SyncToken orders changes made within the same second.
    return int(when.timestamp()) * 1000 + (min(int(token), 999) if token.isdigit() else 0)


def payment_records(
    raw: Mapping[str, Any], invoices: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """Return ``(invoice id, payment record)`` for each invoice the Payment is applied to.

    Raises:
        RecordError: the payment applies to no invoice, or an amount is not a number.
    """
    payment_id = str(raw.get("Id", ""))
    currency = _ref(raw, "CurrencyRef") or "USD"
    out: list[tuple[str, dict[str, Any]]] = []
    for line in raw.get("Line") or []:
        links = line.get("LinkedTxn") if isinstance(line, dict) else None
        for link in links or []:
            if not isinstance(link, dict) or link.get("TxnType") != "Invoice":
                continue
            invoice_id = str(link.get("TxnId"))
            invoice = invoices.get(invoice_id)
            balance = _decimal(invoice["Balance"], "Balance") if invoice else None
            record = {
                "id": payment_id,
                "invoice_erp_id": invoice_id,
                "amount": _decimal(line.get("Amount"), "Line.Amount"),
                "currency": currency,
                "date": str(raw.get("TxnDate") or ""),
                "invoice_balance": balance,
            }
            out.append((invoice_id, record))
    if not out:
        raise errors.RecordError(
            f"QuickBooks payment {payment_id} is not applied to any invoice",
            field="Line.LinkedTxn",
            hint="apply the payment to an invoice in QuickBooks",
        )
    return out
