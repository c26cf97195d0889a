"""Step kinds that write to the ERP: customers, projects, charges, invoices.

Each step looks up what it depends on through cross-references; a dependency that is not
there yet (a time entry whose project is still being created) is a transient wait, so the
run retries with backoff and parks with a plain reason if the dependency never arrives.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ledgerbridge import errors
from ledgerbridge.connectors import InvoiceRequest
from ledgerbridge.engine.step import StepContext, step_kind
from ledgerbridge.model import to_decimal
from ledgerbridge.steps import _records

ERP = "erp"


def _require(ctx: StepContext, object_type: str, canonical_id: str, what: str) -> str:
    found = ctx.xref(object_type, canonical_id, ERP)
    if found is None:
        raise errors.TransientError(
            f"{what} {canonical_id} is not in the ERP yet",
            hint=f"check the {object_type} run for {canonical_id} in the exception queue",
        )
    return found


@step_kind("erp.upsert_customer")
async def upsert_customer(ctx: StepContext) -> dict[str, Any]:
    """Create the customer in the ERP; once there, the ERP owns it and is not overwritten."""
    customer = _records.customer(ctx.record)
    existing = ctx.xref_record("customer", customer.id, ERP)
    owner = ctx.blueprint.owner("customer") or ERP
    if existing is not None and owner == ERP:
        return {
            "erp_id": existing[0],
            "created": False,
            "name": existing[1].get("name", customer.name),
        }
    ctx.about_to_write = {"customer": ctx.record}
    erp_id = await ctx.connector().upsert_customer(
        customer, erp_id=existing[0] if existing else None, idempotency_key=ctx.idempotency_key
    )
    ctx.set_xref("customer", customer.id, ERP, erp_id, name=customer.name, email=customer.email)
    return {"erp_id": erp_id, "created": existing is None, "name": customer.name}


@step_kind("erp.upsert_project")
async def upsert_project(ctx: StepContext) -> dict[str, Any]:
    """Create or update the project under its customer in the ERP."""
    project = _records.project(ctx.record)
    customer_erp_id = _require(ctx, "customer", project.customer_id, "customer")
    existing = ctx.xref("project", project.id, ERP)
    ctx.about_to_write = {"project": ctx.record}
    erp_id = await ctx.connector().upsert_project(
        project,
        customer_erp_id=customer_erp_id,
        erp_id=existing,
        idempotency_key=ctx.idempotency_key,
    )
    ctx.set_xref(
        "project",
        project.id,
        ERP,
        erp_id,
        customer_erp_id=customer_erp_id,
        billing_type=project.contract.billing_type.value,
        currency=project.contract.currency,
    )
    return {"erp_id": erp_id, "customer_erp_id": customer_erp_id}


def _refuse_if_invoiced(
    ctx: StepContext, object_type: str, source_id: str, change: str
) -> tuple[str, dict[str, Any]] | None:
    existing = ctx.xref_record(object_type, source_id, ERP)
    if existing is not None and existing[1].get("invoiced"):
        data = existing[1]
        raise errors.PermanentError(
            f"{object_type.replace('_', ' ')} {source_id} was already invoiced on ERP invoice "
            f"{data['invoiced']}; the {change} cannot be applied to an invoiced charge",
            hint="issue a credit note or adjustment in the ERP, then skip this exception with that reason",
        )
    return existing


async def _post_charge(
    ctx: StepContext, object_type: str, charge: Any, amount: Decimal, currency: str, **data: str
) -> dict[str, Any]:
    """Post (or correct) one billable charge and record its cross-reference."""
    existing = _refuse_if_invoiced(ctx, object_type, charge.id, "change")
    project_erp_id = _require(ctx, "project", charge.project_id, "project")
    customer_erp_id = _require(ctx, "customer", str(ctx.record.get("customer_id")), "customer")
    ctx.about_to_write = {object_type: ctx.record, "project_erp_id": project_erp_id}
    post = (
        ctx.connector().post_time if object_type == "time_entry" else ctx.connector().post_expense
    )
    erp_id = await post(
        charge,
        project_erp_id=project_erp_id,
        customer_erp_id=customer_erp_id,
        erp_id=existing[0] if existing else None,
        idempotency_key=ctx.idempotency_key,
    )
    ctx.set_xref(
        object_type,
        charge.id,
        ERP,
        erp_id,
        project_id=charge.project_id,
        amount=str(amount),
        currency=currency,
        **data,
    )
    return {"erp_id": erp_id, "amount": str(amount), "updated": existing is not None}


@step_kind("erp.post_time")
async def post_time(ctx: StepContext) -> dict[str, Any]:
    """Post approved billable time as an ERP charge, or correct the charge after an edit."""
    entry = _records.time_entry(ctx.record)
    amount = _records.charge_amount(ctx.record)
    currency = str(ctx.record.get("currency"))
    return await _post_charge(ctx, "time_entry", entry, amount, currency, hours=str(entry.hours))


@step_kind("erp.post_expense")
async def post_expense(ctx: StepContext) -> dict[str, Any]:
    """Post an approved billable expense as an ERP charge."""
    expense = _records.expense(ctx.record)
    return await _post_charge(
        ctx, "expense", expense, expense.amount.amount, expense.amount.currency
    )


@step_kind("erp.remove_time")
async def remove_time(ctx: StepContext) -> dict[str, Any]:
    """Remove the charge of time that is no longer approved; refuse if it was invoiced."""
    source_id = str(ctx.record.get("id"))
    existing = _refuse_if_invoiced(ctx, "time_entry", source_id, "withdrawal of its approval")
    if existing is None or existing[1].get("removed"):
        return {"removed": False, "reason": "never posted"}
    ctx.about_to_write = {"remove": existing[0]}
    await ctx.connector().remove_charge(
        "time_entry", existing[0], idempotency_key=ctx.idempotency_key
    )
    ctx.set_xref("time_entry", source_id, ERP, existing[0], **(existing[1] | {"removed": True}))
    return {"removed": True, "erp_id": existing[0]}


@step_kind("erp.invoice_milestone")
async def invoice_milestone(ctx: StepContext) -> dict[str, Any]:
    """Draft the invoice a completed milestone calls for.

    Fixed-fee and retainer milestones invoice their fee; time-and-materials milestones
    invoice the project's unbilled charges as the ERP lists them.
    """
    record = ctx.record
    project_id = str(record.get("project_id"))
    project_erp_id = _require(ctx, "project", project_id, "project")
    customer_erp_id = _require(ctx, "customer", str(record.get("customer_id")), "customer")
    connector = ctx.connector()
    currency = str(record.get("currency"))
    billing = str(record.get("billing_type") or "time_and_materials")
    # The charges this step bills stop being "unbilled" once its invoice exists, so a run
    # repeated after a lost lease or answer must find its invoice first, not list again.
    drafted = await connector.find_by_idempotency_key("invoice", ctx.idempotency_key)
    if drafted is not None:
        return await _adopt_invoice(ctx, connector, drafted, project_erp_id, currency)
    included: list[dict[str, Any]] = []
    if billing == "time_and_materials":
        charges = [c for c in await connector.list_charges(project_erp_id) if not c.get("billed")]
        lines = [_charge_line(c) for c in charges]
        included = charges
    else:
        fee = to_decimal(record.get("fee") or 0)
        lines = (
            [
                {
                    "description": str(record.get("name") or "Milestone"),
                    "quantity": 1,
                    "unit_price": fee,
                }
            ]
            if fee
            else []
        )
    if not lines:
        return {
            "erp_invoice_id": None,
            "total": "0",
            "time_entry_ids": [],
            "expense_ids": [],
            "milestone_id": str(record.get("id")),
        }
    request = InvoiceRequest(
        project_erp_id=project_erp_id,
        customer_erp_id=customer_erp_id,
        currency=currency,
        txn_date=ctx.now().date()
        if not record.get("date")
        else dt.date.fromisoformat(str(record["date"])),
        lines=lines,
        memo=f"{record.get('name', 'Milestone')} ({ctx.idempotency_key})",
    )
    ctx.about_to_write = {"invoice": {"lines": lines, "project_erp_id": project_erp_id}}
    invoice_id = await connector.create_invoice(request, idempotency_key=ctx.idempotency_key)
    total = sum(
        (to_decimal(line["quantity"]) * to_decimal(line["unit_price"]) for line in lines),
        Decimal(0),
    ).quantize(Decimal("0.01"))
    for charge in included:
        object_type = str(charge.get("object_type", "time_entry"))
        ctx.set_xref(
            object_type,
            str(charge["source_id"]),
            ERP,
            str(charge["erp_id"]),
            project_id=project_id,
            amount=str(charge.get("amount")),
            currency=currency,
            invoiced=invoice_id,
        )
    ctx.set_xref(
        "invoice",
        invoice_id,
        ERP,
        invoice_id,
        project_id=project_id,
        total=str(total),
        currency=currency,
        milestone_id=str(record.get("id")),
    )
    return {
        "erp_invoice_id": invoice_id,
        "total": str(total),
        "milestone_id": str(record.get("id")),
        "time_entry_ids": [
            str(c["source_id"]) for c in included if c.get("object_type") == "time_entry"
        ],
        "expense_ids": [str(c["source_id"]) for c in included if c.get("object_type") == "expense"],
    }


async def _adopt_invoice(
    ctx: StepContext, connector: Any, invoice_id: str, project_erp_id: str, currency: str
) -> dict[str, Any]:
    """Record an invoice an earlier attempt of this step already created."""
    project_id = str(ctx.record.get("project_id"))
    invoice = await connector.get_invoice(invoice_id)
    included = [
        c
        for c in await connector.list_charges(project_erp_id)
        if c.get("invoice_erp_id") == invoice_id
    ]
    for charge in included:
        ctx.set_xref(
            str(charge.get("object_type", "time_entry")),
            str(charge["source_id"]),
            ERP,
            str(charge["erp_id"]),
            project_id=project_id,
            amount=str(charge.get("amount")),
            currency=currency,
            invoiced=invoice_id,
        )
    total = str(invoice.total.amount)
    ctx.set_xref(
        "invoice",
        invoice_id,
        ERP,
        invoice_id,
        project_id=project_id,
        total=total,
        currency=currency,
        milestone_id=str(ctx.record.get("id")),
    )
    return {
        "erp_invoice_id": invoice_id,
        "total": total,
        "milestone_id": str(ctx.record.get("id")),
        "adopted": True,
        "time_entry_ids": [
            str(c["source_id"]) for c in included if c.get("object_type") == "time_entry"
        ],
        "expense_ids": [str(c["source_id"]) for c in included if c.get("object_type") == "expense"],
    }


def _charge_line(charge: dict[str, Any]) -> dict[str, Any]:
    quantity = charge.get("quantity")
    unit_price = charge.get("unit_price")
    if quantity is None or unit_price is None:
        quantity, unit_price = 1, charge["amount"]
    return {
        "description": str(charge.get("description") or charge.get("object_type")),
        "quantity": quantity,
        "unit_price": unit_price,
        "charge_id": str(charge["erp_id"]),
        "charge_type": str(charge.get("object_type")),
        "amount": charge.get("amount"),
    }
