"""Payments in Tryton: posting and paying invoices, and the ``payment.received`` feed.

A payment in Tryton is a move line on the receivable account that the pay wizard adds to
the invoice's ``payment_lines``; adding it writes the invoice, so the invoices whose
``write_date`` moved since the cursor are the ones whose ``amount_to_pay`` may have changed.
Each of their payment lines becomes one ``payment.received`` event whose external id is the
move line id; lines already reported come back with the same id and version and the inbox
drops them.

The cursor is the latest invoice ``write_date`` seen, as ISO text. The next read starts a
few seconds earlier, so a payment committed just after a read is not missed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ledgerbridge import errors
from ledgerbridge.connectors import _base
from ledgerbridge.connectors.tryton import _rpc
from ledgerbridge.model import BusinessEvent, EventType

__all__ = ["OVERLAP", "pay_invoice", "post_invoices", "read_payments"]

#: How far before the cursor each read starts.
OVERLAP = dt.timedelta(seconds=5)
_INVOICE_FIELDS = ["id", "write_date", "amount_to_pay", "currency.code", "payment_lines"]
_LINE_FIELDS = ["id", "date", "debit", "credit", "create_date"]


async def post_invoices(client: _rpc.TrytonClient, invoice_ids: Sequence[int]) -> list[int]:
    """Post the draft invoices among ``invoice_ids`` in one call (Tryton numbers them).

    Returns:
        The ids that were drafts and are now posted.
    """
    invoices = client.model("account.invoice")
    drafts = await invoices.search([["id", "in", list(invoice_ids)], ["state", "=", "draft"]])
    if drafts:
        await invoices.button("post", drafts)
    return drafts


async def pay_invoice(
    client: _rpc.TrytonClient,
    invoice_id: int,
    amount: Decimal,
    *,
    date: dt.date | None = None,
    payment_method: str | None = None,
) -> None:
    """Pay ``amount`` on a posted invoice with the pay wizard, as the finance team does.

    Less than what remains to pay is recorded as a partial payment.

    Args:
        client: a session used within the last five minutes (the wizard asks for it).
        invoice_id: the posted invoice.
        amount: the amount received, in the invoice currency.
        date: the payment date (default: today on the server).
        payment_method: the name of the payment method (default: the first one).

    Raises:
        PermanentError: Tryton refused, e.g. the invoice is not posted or the amount is too high.
        ConfigError: no payment method exists.
    """
    domain = [["name", "=", payment_method]] if payment_method else []
    methods = await client.model("account.invoice.payment.method").search(domain, limit=1)
    if not methods:
        raise errors.ConfigError(
            f"Tryton has no invoice payment method {payment_method or ''}".strip(),
            connector="tryton",
        )
    values: dict[str, Any] = {"payment_method": methods[0], "amount": amount}
    if date is not None:
        values["date"] = date
    await client.run_wizard(
        "account.invoice.pay",
        {"start": ("choice", values), "ask": ("pay", {"type": "partial"})},
        active_model="account.invoice",
        active_ids=[invoice_id],
    )


def _parse_cursor(cursor: str | None) -> dt.datetime | None:
    if not cursor:
        return None
    try:
        return dt.datetime.fromisoformat(cursor)
    except ValueError:
        raise errors.ConfigError(
            f"the Tryton feed cursor {cursor!r} is not a date-time", connector="tryton"
        ) from None


def _stamp(value: Any) -> dt.datetime | None:
    return value if isinstance(value, dt.datetime) else None


def _version(line: dict[str, Any]) -> int:
    created = _stamp(line.get("create_date"))
    base = int(created.replace(tzinfo=dt.UTC).timestamp() * 1000) if created else 0
    return max(base, 1)


def _event(
    invoice: dict[str, Any], line: dict[str, Any], *, tenant_id: str, connection_id: str
) -> BusinessEvent:
    currency = str((invoice.get("currency.") or {}).get("code") or "")
    payload: dict[str, Any]
    try:
        amount = Decimal(line["credit"]) - Decimal(line["debit"])
        payload = {
            "record": {
                "id": str(line["id"]),
                "invoice_erp_id": str(invoice["id"]),
                "amount": amount,
                "currency": currency,
                "date": line["date"].isoformat(),
                "invoice_balance": Decimal(invoice["amount_to_pay"] or 0),
            }
        }
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        problem = {
            "message": f"Tryton payment line {line.get('id')} cannot be read: {exc}",
            "field": "payment_lines",
            "hint": "check the payment on the invoice in Tryton",
        }
        payload = {"record": None, "mapping_error": problem}
    return BusinessEvent(
        tenant_id=tenant_id,
        connection_id=connection_id,
        event_type=EventType.PAYMENT_RECEIVED.value,
        object_type="payment",
        external_id=str(line.get("id")),
        source_version=_version(line),
        payload={**payload, "raw": {"invoice": invoice, "line": line}},
        occurred_at=_stamp(line.get("create_date")),
    )


async def read_payments(
    client: _rpc.TrytonClient, cursor: str | None, *, tenant_id: str, connection_id: str
) -> _base.EventPage:
    """Read the payments on customer invoices written since ``cursor``.

    Returns:
        One event per payment line, and the cursor to read on from.
    """
    since = _parse_cursor(cursor)
    domain: list[Any] = [["type", "=", "out"], ["state", "in", ["posted", "paid"]]]
    if since is not None:
        domain.append(["write_date", ">=", since - OVERLAP])
    invoices = await client.model("account.invoice").search_read(
        domain, _INVOICE_FIELDS, order=[("write_date", "ASC"), ("id", "ASC")]
    )
    line_ids = sorted({i for inv in invoices for i in inv.get("payment_lines") or []})
    lines = await client.model("account.move.line").read(line_ids, _LINE_FIELDS) if line_ids else []
    by_id = {row["id"]: row for row in lines}
    events = [
        _event(inv, by_id[i], tenant_id=tenant_id, connection_id=connection_id)
        for inv in invoices
        for i in inv.get("payment_lines") or []
        if i in by_id
    ]
    stamps = [s for inv in invoices if (s := _stamp(inv.get("write_date"))) is not None]
    latest = max([*stamps, *([since] if since else [])], default=None)
    return _base.EventPage(events=events, cursor=latest.isoformat() if latest else cursor)
