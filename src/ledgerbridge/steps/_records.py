"""Canonical records (JSON-ready dicts in event payloads) to model objects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ledgerbridge import errors
from ledgerbridge.model import (
    BillingType,
    Contract,
    Customer,
    Expense,
    Money,
    Project,
    TimeEntry,
    to_decimal,
)


def _field(record: Mapping[str, Any], name: str) -> Any:
    if record.get(name) is None:
        raise errors.RecordError(
            f"the record has no {name}", field=name, hint="correct the record in the source system"
        )
    return record[name]


def _decimal(record: Mapping[str, Any], name: str) -> Decimal:
    try:
        return to_decimal(_field(record, name))
    except (TypeError, ValueError) as exc:
        raise errors.RecordError(
            f"{name} is not a number: {record.get(name)!r}", field=name
        ) from exc


def _date(record: Mapping[str, Any], name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(_field(record, name)))
    except ValueError as exc:
        raise errors.RecordError(f"{name} is not a date: {record.get(name)!r}", field=name) from exc


def _money(amount: Decimal, currency: str, name: str) -> Money:
    try:
        return Money(amount, currency)
    except ValueError as exc:
        raise errors.RecordError(f"{name}: {exc}", field="currency") from exc


def customer(record: Mapping[str, Any]) -> Customer:
    """Build a Customer from a ``customer`` record."""
    return Customer(
        id=str(_field(record, "id")),
        name=str(_field(record, "name")),
        currency=str(_field(record, "currency")),
        email=record.get("email"),
    )


def project(record: Mapping[str, Any]) -> Project:
    """Build a Project (with its contract) from a ``project`` record."""
    try:
        billing = BillingType(str(_field(record, "billing_type")))
    except ValueError as exc:
        raise errors.RecordError(
            f"unknown billing type {record.get('billing_type')!r}", field="billing_type"
        ) from exc
    currency = str(_field(record, "currency"))
    fee = record.get("fee")
    contract = Contract(
        billing_type=billing,
        currency=currency,
        fee=_money(to_decimal(fee), currency, "fee") if fee is not None else None,
    )
    return Project(
        id=str(_field(record, "id")),
        customer_id=str(_field(record, "customer_id")),
        name=str(_field(record, "name")),
        contract=contract,
        authorized=bool(record.get("authorized", True)),
    )


def time_entry(record: Mapping[str, Any]) -> TimeEntry:
    """Build a TimeEntry from a ``time_entry`` record."""
    currency = str(_field(record, "currency"))
    rate = record.get("rate")
    return TimeEntry(
        id=str(_field(record, "id")),
        project_id=str(_field(record, "project_id")),
        resource_id=str(record.get("resource_id") or ""),
        date=_date(record, "date"),
        hours=_decimal(record, "hours"),
        billable=bool(record.get("billable")),
        rate=_money(to_decimal(rate), currency, "rate") if rate is not None else None,
        approved=bool(record.get("approved")),
        invoiced=bool(record.get("invoiced")),
        notes=str(record.get("notes") or ""),
    )


def expense(record: Mapping[str, Any]) -> Expense:
    """Build an Expense from an ``expense`` record."""
    return Expense(
        id=str(_field(record, "id")),
        project_id=str(_field(record, "project_id")),
        resource_id=str(record.get("resource_id") or ""),
        date=_date(record, "date"),
        amount=_money(_decimal(record, "amount"), str(_field(record, "currency")), "amount"),
        category=str(record.get("category") or "Expense"),
        billable=bool(record.get("billable")),
        approved=bool(record.get("approved")),
        invoiced=bool(record.get("invoiced")),
        notes=str(record.get("notes") or ""),
    )


def charge_amount(record: Mapping[str, Any]) -> Decimal:
    """The billable value of a time or expense record, rounded to cents."""
    if record.get("amount") is not None:
        return to_decimal(record["amount"])
    entry = time_entry(record)
    value = entry.amount
    return value.amount if value is not None else Decimal(0)
