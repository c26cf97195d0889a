"""The QuickBooks Online ERP connector: API client, mapping, connector and webhook parsing.

Importing this package registers the connector under the kind ``"quickbooks"``.
"""

from __future__ import annotations

from ledgerbridge.connectors.quickbooks._client import (
    QboFaultError,
    QuickBooksClient,
    RateLimiter,
    StaleObjectError,
    map_errors,
    request_id,
)
from ledgerbridge.connectors.quickbooks._connector import QuickBooksConnector
from ledgerbridge.connectors.quickbooks._settings import QuickBooksSettings
from ledgerbridge.connectors.quickbooks._webhooks import (
    SIGNATURE_HEADER,
    WebhookNotice,
    parse_notifications,
    sign,
    verify_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "QboFaultError",
    "QuickBooksClient",
    "QuickBooksConnector",
    "QuickBooksSettings",
    "RateLimiter",
    "StaleObjectError",
    "WebhookNotice",
    "map_errors",
    "parse_notifications",
    "request_id",
    "sign",
    "verify_signature",
]
