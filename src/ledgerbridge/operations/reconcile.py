"""Reconcile one tenant: read both systems through its connectors and compare."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from functools import partial
from typing import Any

from ledgerbridge import store
from ledgerbridge.engine import RetryPolicy, call_with_retry
from ledgerbridge.engine._deployments import DeploymentCache
from ledgerbridge.errors import ConfigError
from ledgerbridge.operations._reconcile import ReconReport, SourceItem, TargetCharge, compare

__all__ = ["reconcile_tenant"]

#: invoices read back at once
INVOICE_READS_IN_FLIGHT = 8


async def reconcile_tenant(db: store.Database, tenant_id: str, services: Any) -> ReconReport:
    """Compare the tenant's PSA approved billable work with its ERP charges and invoices.

    ``services`` provides ``connector(tenant_id, connection_id)`` (a Worker does).
    """
    with db.read() as conn:
        deployments = DeploymentCache().active(conn, tenant_id)
        if not deployments:
            raise ConfigError(f"tenant {tenant_id} has no active deployment")
        bindings = deployments[0].bindings
        projects = store.xrefs.list_(conn, tenant_id, object_type="project", system="erp")
        invoices = store.xrefs.list_(conn, tenant_id, object_type="invoice", system="erp")
        held = _held(
            store.exceptions.list_(conn, tenant_id=tenant_id, status="open", limit=100_000)
        )
    psa = services.connector(tenant_id, bindings["psa"])
    erp = services.connector(tenant_id, bindings["erp"])
    policy = RetryPolicy(max_attempts=10, base_delay=0.1, max_delay=5.0)
    work = await call_with_retry(psa.list_billable_work, policy)
    source = [_source_item(r) for r in work]
    ids = [p.external_id for p in projects]
    by_project = await call_with_retry(partial(erp.list_charges_of, ids), policy)
    target: list[TargetCharge] = []
    for project in projects:
        for charge in by_project[project.external_id]:
            target.append(
                TargetCharge(
                    project_id=project.canonical_id,
                    object_type=str(charge.get("object_type")),
                    source_id=str(charge.get("source_id")),
                    erp_id=str(charge.get("erp_id")),
                    amount=Decimal(str(charge.get("amount"))),
                    currency=str(charge.get("currency")),
                    billed=bool(charge.get("billed")),
                )
            )
    report = compare(source, target, held=held)
    report.invoices = await _invoice_totals(erp, invoices, policy)
    return report


def _source_item(record: dict[str, Any]) -> SourceItem:
    return SourceItem(
        project_id=str(record["project_id"]),
        period=str(record.get("date", ""))[:7],
        object_type=str(record.get("object_type", "time_entry")),
        source_id=str(record["id"]),
        amount=Decimal(str(record.get("amount") or 0)),
        currency=str(record.get("currency")),
    )


def _held(rows: list[Any]) -> set[tuple[str, str]]:
    held = set()
    for row in rows:
        detail = store.loads(row.detail) or {}
        parts = str(detail.get("entity_key", "")).split(":")
        if len(parts) >= 3:
            held.add((parts[-2], parts[-1]))
    return held


async def _invoice_totals(erp: Any, invoices: list[Any], policy: RetryPolicy) -> dict[str, Any]:
    gate = asyncio.Semaphore(INVOICE_READS_IN_FLIGHT)

    async def read(erp_id: str) -> Any:
        async with gate:
            return await call_with_retry(partial(erp.get_invoice, erp_id), policy)

    read_back = await asyncio.gather(*(read(row.external_id) for row in invoices))
    totals: dict[str, dict[str, Decimal]] = {}
    counts = {"drafted": 0, "paid": 0, "partially_paid": 0, "open": 0}
    for invoice in read_back:
        currency = invoice.total.currency
        bucket = totals.setdefault(currency, {"invoiced": Decimal(0), "paid": Decimal(0)})
        bucket["invoiced"] += invoice.total.amount
        bucket["paid"] += invoice.total.amount - invoice.balance.amount
        counts["drafted"] += 1
        counts[invoice.status if invoice.status in counts else "open"] += 1
    return {
        "counts": counts,
        "by_currency": {c: {k: str(v) for k, v in t.items()} for c, t in sorted(totals.items())},
    }
