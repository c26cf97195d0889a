"""Pure mapping between the canonical model and Tryton record values (no I/O).

How delivery-to-cash lands in Tryton:

* a customer is a ``party.party`` with one address; its canonical id is the party
  ``code`` and the creating write's idempotency key is a party identifier;
* a project is a ``project.work`` of type ``project``. Time-and-materials projects
  invoice on ``timesheet``; fixed-fee and retainer projects on ``manual`` (their milestones
  bill the fee as explicit draft lines, see :func:`invoice_line_values`);
* time is a ``timesheet.line`` on a child task of the project that carries the hourly
  rate as its list price (one task per rate, so every rate is billed exactly). Its
  description ends with a marker ``[lb:<source id>|<idempotency key>]``;
* an expense is a child ``project.work`` of type ``project`` invoiced on ``effort``: done
  (progress 1), product "Expenses (rebill)", quantity 1 and the amount as list price.
  ``project.work.invoice`` puts it on the same invoice as the time. Its comment carries
  the marker.

Tryton invoices hours rounded to its hour unit (0.01 h), so line totals match the
canonical amounts to the cent when each rate's hours have at most two decimals.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ledgerbridge import errors
from ledgerbridge.connectors import _base
from ledgerbridge.model import (
    BillingType,
    Customer,
    Expense,
    InvoiceStatus,
    Money,
    Project,
    TimeEntry,
)

__all__ = [
    "PRICE_DIGITS",
    "charge_marker",
    "duration_to_hours",
    "erp_invoice",
    "expense_values",
    "hours_to_duration",
    "invoice_line_values",
    "invoice_status",
    "parse_marker",
    "party_update_values",
    "party_values",
    "project_values",
    "rate_task_values",
    "timesheet_values",
]

#: Decimal places Tryton keeps on list and unit prices.
PRICE_DIGITS = 4
_MARKER = re.compile(r"\[lb:([^|\]]*)\|([^\]]*)\]\s*$")
_STATES = {
    "draft": InvoiceStatus.DRAFT,
    "validated": InvoiceStatus.OPEN,
    "posted": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "cancelled": InvoiceStatus.VOID,
}


def _record_error(message: str, field: str) -> errors.RecordError:
    return errors.RecordError(message, field=field, connector="tryton")


def charge_marker(source_id: str, key: str) -> str:
    """Return the marker that ties a Tryton record to its source and idempotency key.

    Raises:
        RecordError: the id or key contains ``|`` or ``]`` and could not be read back.
    """
    if re.search(r"[|\]\n]", source_id):
        raise _record_error(f"source id {source_id!r} contains '|', ']' or a newline", "id")
    if re.search(r"[\]\n]", key) or not key:
        raise _record_error("idempotency key is empty or contains ']' or a newline", "key")
    return f"[lb:{source_id}|{key}]"


def parse_marker(text: str | None) -> tuple[str, str] | None:
    """Return ``(source_id, key)`` from a text ending in a marker, or None."""
    match = _MARKER.search(text or "")
    return (match.group(1), match.group(2)) if match else None


def _note(text: str, marker: str) -> str:
    text = " ".join(text.split())
    return f"{text} {marker}" if text else marker


def hours_to_duration(hours: Decimal) -> dt.timedelta:
    """Convert hours to a duration rounded half-up to the second.

    Raises:
        RecordError: hours are not a finite, non-negative Decimal.
    """
    if not isinstance(hours, Decimal) or not hours.is_finite() or hours < 0:
        raise _record_error(f"hours must be a non-negative Decimal, not {hours!r}", "hours")
    try:
        seconds = (hours * 3600).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise _record_error(f"hours {hours} are out of range", "hours") from None
    return dt.timedelta(seconds=int(seconds))


def duration_to_hours(duration: dt.timedelta) -> Decimal:
    """Convert a Tryton duration to hours (exact for whole seconds up to 28 digits)."""
    micro = Decimal(duration // dt.timedelta(microseconds=1))
    return micro / Decimal(3_600_000_000)


def _price(money: Money, field: str, currency: str) -> Decimal:
    if money.currency != currency:
        raise _record_error(
            f"{field} is in {money.currency} but the Tryton company bills in {currency}", field
        )
    exponent = money.amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PRICE_DIGITS:
        raise _record_error(f"{field} {money.amount} has more than {PRICE_DIGITS} decimals", field)
    return money.amount


def party_values(customer: Customer, *, key: str, payment_term: int | None) -> dict[str, Any]:
    """Values that create ``customer`` as a ``party.party`` with one address."""
    values = party_update_values(customer)
    values["code"] = customer.id
    values["identifiers"] = [["create", [{"code": key}]]]
    values["addresses"] = [["create", [{"party_name": customer.name}]]]
    if payment_term is not None:
        values["customer_payment_term"] = payment_term
    return values


def party_update_values(customer: Customer) -> dict[str, Any]:
    """Values that bring an existing party in line with ``customer``."""
    if not customer.name.strip():
        raise _record_error("customer name is empty", "name")
    return {"name": customer.name.strip(), "active": customer.active}


def project_values(
    project: Project, *, party: int, company: int, product: int, currency: str, key: str
) -> dict[str, Any]:
    """Values that create ``project`` as a ``project.work`` of type project."""
    contract = project.contract
    fixed = contract.billing_type != BillingType.TIME_AND_MATERIALS
    price = Decimal(0)
    if fixed and contract.fee is not None:
        price = _price(contract.fee, "contract.fee", currency)
    if not project.name.strip():
        raise _record_error("project name is empty", "name")
    return {
        "name": project.name.strip(),
        "type": "project",
        "company": company,
        "party": party,
        "project_invoice_method": "manual" if fixed else "timesheet",
        "product": product,
        "list_price": price,
        "timesheet_available": False,
        "comment": charge_marker(project.id, key),
    }


def rate_task_values(
    rate: Money, *, parent: int, company: int, product: int, currency: str
) -> dict[str, Any]:
    """Values for the child task that carries the time billed at ``rate``."""
    price = _price(rate, "rate", currency)
    return {
        "name": f"Consulting at {price:f} {currency}/h",
        "type": "task",
        "parent": parent,
        "company": company,
        "product": product,
        "list_price": price,
        "timesheet_available": True,
    }


def timesheet_values(
    entry: TimeEntry, *, company: int, employee: int, work: int, key: str
) -> dict[str, Any]:
    """Values for the ``timesheet.line`` of ``entry`` on the timesheet work ``work``."""
    if not entry.billable or entry.rate is None:
        raise _record_error("only billable time with a rate is posted to Tryton", "rate")
    duration = hours_to_duration(entry.hours)
    if duration <= dt.timedelta(0):
        raise _record_error(f"hours must be positive, not {entry.hours}", "hours")
    return {
        "company": company,
        "employee": employee,
        "date": entry.date,
        "duration": duration,
        "work": work,
        "description": _note(entry.notes, charge_marker(entry.id, key)),
    }


def expense_values(
    expense: Expense,
    *,
    parent: int,
    party: int,
    company: int,
    product: int,
    currency: str,
    key: str,
) -> dict[str, Any]:
    """Values for the child ``project.work`` that bills ``expense`` once, on effort."""
    if not expense.billable:
        raise _record_error("only billable expenses are posted to Tryton", "billable")
    price = _price(expense.amount, "amount", currency)
    if price <= 0:
        raise _record_error(f"expense amount must be positive, not {price}", "amount")
    label = " ".join(f"Expense {expense.date.isoformat()}: {expense.category}".split())
    notes = " ".join(expense.notes.split())
    return {
        "name": f"{label} - {notes}" if notes else label,
        "type": "project",
        "parent": parent,
        "company": company,
        "party": party,
        "project_invoice_method": "effort",
        "product": product,
        "list_price": price,
        "progress": Decimal(1),
        "timesheet_available": False,
        "comment": charge_marker(expense.id, key),
    }


def invoice_line_values(
    line: Mapping[str, Any], *, account: int, currency: str, index: int
) -> dict[str, Any]:
    """Values for one ``account.invoice.line`` of an explicit (milestone) draft invoice."""
    where = f"lines[{index}]"
    try:
        quantity = Decimal(line["quantity"])
        unit_price = line["unit_price"]
        unit = unit_price if isinstance(unit_price, Money) else Money(Decimal(unit_price), currency)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise _record_error(f"{where} needs a quantity and a unit_price: {exc}", where) from None
    description = str(line.get("description") or "").strip()
    if not description:
        raise _record_error(f"{where}.description is empty", f"{where}.description")
    return {
        "type": "line",
        "account": account,
        "quantity": quantity,
        "unit_price": _price(unit, f"{where}.unit_price", currency),
        "description": description,
    }


def invoice_status(state: str, *, total: Decimal, amount_to_pay: Decimal) -> InvoiceStatus:
    """Map a Tryton invoice state (and what remains to pay) to an invoice status.

    Raises:
        RecordError: the state is unknown.
    """
    try:
        status = _STATES[state]
    except KeyError:
        raise _record_error(f"unknown Tryton invoice state {state!r}", "state") from None
    if state == "posted" and 0 < amount_to_pay < total:
        return InvoiceStatus.PARTIALLY_PAID
    if state == "posted" and amount_to_pay == 0 and total != 0:
        return InvoiceStatus.PAID
    return status


def erp_invoice(row: Mapping[str, Any], *, payments: list[dict[str, Any]]) -> _base.ErpInvoice:
    """Build an :class:`ErpInvoice` from an ``account.invoice`` read.

    ``row`` holds ``id``, ``state``, ``total_amount``, ``amount_to_pay`` and ``currency.``
    (the dotted read of the currency's ``code``).
    """
    currency = str((row.get("currency.") or {}).get("code") or "")
    try:
        total = Money(row["total_amount"], currency).rounded()
        to_pay = row.get("amount_to_pay")
        balance = Money(to_pay if to_pay is not None else row["total_amount"], currency)
    except (KeyError, TypeError, ValueError) as exc:
        raise _record_error(
            f"invoice {row.get('id')} cannot be read: {exc}", "total_amount"
        ) from None
    if row.get("state") in ("draft", "validated", "cancelled"):
        balance = total if row.get("state") != "cancelled" else Money.zero(currency)
    status = invoice_status(str(row.get("state")), total=total.amount, amount_to_pay=balance.amount)
    return _base.ErpInvoice(
        erp_id=str(row["id"]),
        total=total,
        balance=balance.rounded(),
        status=status.value,
        payments=payments,
    )
