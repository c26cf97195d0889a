"""The Kantata OX (Mavenlink) PSA connector, registered as ``kantata``.

Reads ``/subscribed_events`` into canonical business events (``notes/records.md``) and
writes invoices, external payments and client organizations back.
"""

from __future__ import annotations

from ledgerbridge.connectors.kantata._client import KantataClient, KeyedPage, TokenBucket
from ledgerbridge.connectors.kantata._connector import DEFAULT_RATE_LIMIT, KantataConnector
from ledgerbridge.connectors.kantata._cursor import FeedCursor
from ledgerbridge.connectors.kantata._mapping import (
    Lookups,
    classify,
    map_record,
    to_business_event,
)

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "FeedCursor",
    "KantataClient",
    "KantataConnector",
    "KeyedPage",
    "Lookups",
    "TokenBucket",
    "classify",
    "map_record",
    "to_business_event",
]
