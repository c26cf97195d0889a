"""Connectors: one package per external system, registered by kind."""

from __future__ import annotations

from ledgerbridge.connectors._base import (
    BaseConnector,
    BaseErpConnector,
    BasePsaConnector,
    ErpInvoice,
    EventPage,
    InvoiceRequest,
    create,
    kinds,
    load_builtin,
    register,
)

__all__ = [
    "BaseConnector",
    "BaseErpConnector",
    "BasePsaConnector",
    "ErpInvoice",
    "EventPage",
    "InvoiceRequest",
    "create",
    "kinds",
    "load_builtin",
    "register",
]
