"""The step kinds of the delivery-to-cash blueprint; importing this package registers them."""

from __future__ import annotations

from ledgerbridge.steps import _erp, _psa

__all__ = ["ERP_KINDS", "PSA_KINDS"]

ERP_KINDS = (
    "erp.invoice_milestone",
    "erp.post_expense",
    "erp.post_time",
    "erp.remove_time",
    "erp.upsert_customer",
    "erp.upsert_project",
)
PSA_KINDS = ("psa.mark_invoiced", "psa.record_payment", "psa.write_back_customer")

del _erp, _psa
