"""Step kinds that write back to the PSA: customer master, invoiced flags, payments."""

from __future__ import annotations

from typing import Any

from ledgerbridge import errors
from ledgerbridge.engine.step import StepContext, step_kind
from ledgerbridge.model import to_decimal
from ledgerbridge.steps import _records

PSA = "psa"
ERP = "erp"


@step_kind("psa.write_back_customer")
async def write_back_customer(ctx: StepContext) -> dict[str, Any]:
    """Write the ERP-owned customer master back to the PSA when the PSA's copy differs."""
    customer = _records.customer(ctx.record)
    master = ctx.xref_record("customer", customer.id, ERP)
    if master is None:
        raise errors.TransientError(f"customer {customer.id} is not in the ERP yet")
    name = master[1].get("name") or customer.name
    email = master[1].get("email")
    if name == customer.name and (email or None) == (customer.email or None):
        return {"written": False}
    ctx.about_to_write = {"organization": {"id": customer.id, "name": name, "email": email}}
    owned = type(customer)(id=customer.id, name=name, currency=customer.currency, email=email)
    await ctx.connector().write_back_customer(
        owned, psa_id=customer.id, idempotency_key=ctx.idempotency_key
    )
    return {"written": True, "name": name}


@step_kind("psa.mark_invoiced")
async def mark_invoiced(ctx: StepContext) -> dict[str, Any]:
    """Record the ERP invoice in the PSA, marking the included entries invoiced."""
    drafted = next((r for r in ctx.results.values() if "erp_invoice_id" in r), None)
    if drafted is None or not drafted.get("erp_invoice_id"):
        return {"psa_invoice_id": None}
    milestone_ids = (
        [drafted["milestone_id"]] if ctx.record.get("billing_type") != "time_and_materials" else []
    )
    if not (drafted["time_entry_ids"] or drafted["expense_ids"] or milestone_ids):
        return {"psa_invoice_id": None}
    ctx.about_to_write = {"invoice": drafted}
    psa_id = await ctx.connector().mark_invoiced(
        project_id=str(ctx.record.get("project_id")),
        time_entry_ids=drafted["time_entry_ids"],
        expense_ids=drafted["expense_ids"],
        milestone_ids=milestone_ids,
        erp_invoice_id=drafted["erp_invoice_id"],
        idempotency_key=ctx.idempotency_key,
    )
    ctx.set_xref("invoice", drafted["erp_invoice_id"], PSA, psa_id)
    return {"psa_invoice_id": psa_id}


@step_kind("psa.record_payment")
async def record_payment(ctx: StepContext) -> dict[str, Any]:
    """Mark the PSA invoice (partly) paid when the ERP records a payment."""
    invoice_erp_id = str(ctx.record.get("invoice_erp_id"))
    psa_invoice = ctx.xref("invoice", invoice_erp_id, PSA)
    if psa_invoice is None:
        raise errors.TransientError(
            f"ERP invoice {invoice_erp_id} has no PSA invoice yet",
            hint="check the milestone run that drafted the invoice",
        )
    amount = to_decimal(ctx.record.get("amount"))
    ctx.about_to_write = {"payment": ctx.record}
    payment_id = await ctx.connector().record_payment(
        psa_invoice_id=psa_invoice,
        amount=amount,
        currency=str(ctx.record.get("currency")),
        paid_on=_records._date(ctx.record, "date"),
        idempotency_key=ctx.idempotency_key,
    )
    return {"psa_payment_id": payment_id, "amount": str(amount)}
