"""The Tryton ERP connector: JSON-RPC client, mapping, connector and a local server harness.

Importing this package registers the connector under the kind ``"tryton"``.
"""

from __future__ import annotations

from ledgerbridge.connectors.tryton._connector import BATCH_SIZE, TrytonConnector
from ledgerbridge.connectors.tryton._harness import (
    TrytonInfo,
    TrytonServer,
    cache_key,
    ensure_template,
    free_port,
    tryton_init,
)
from ledgerbridge.connectors.tryton._payments import pay_invoice, post_invoices, read_payments
from ledgerbridge.connectors.tryton._rpc import Model, TrytonClient, map_errors

__all__ = [
    "BATCH_SIZE",
    "Model",
    "TrytonClient",
    "TrytonConnector",
    "TrytonInfo",
    "TrytonServer",
    "cache_key",
    "ensure_template",
    "free_port",
    "map_errors",
    "pay_invoice",
    "post_invoices",
    "read_payments",
    "tryton_init",
]
