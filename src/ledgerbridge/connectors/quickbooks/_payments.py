"""The ``payment.received`` feed: Payments changed since a cursor, as business events.

The cursor is ``<LastUpdatedTime>|<id>:<SyncToken>,...``: the update time of the last
Payment returned and the versions already returned at that time. MetaData times have whole
seconds, so the query asks for ``>=`` that time and skips the versions it already gave.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ledgerbridge import errors
from ledgerbridge.connectors import _base
from ledgerbridge.connectors.quickbooks import _client, _mapping
from ledgerbridge.model import BusinessEvent, EventType

__all__ = ["EPOCH", "read_payments"]

#: where a feed without a cursor starts
EPOCH = "1970-01-01T00:00:00+00:00"
_IDS_PER_QUERY = 200

Seen = frozenset[tuple[str, str]]


def _parse_cursor(cursor: str | None) -> tuple[str, Seen]:
    if not cursor:
        return EPOCH, frozenset()
    stamp, _, rest = cursor.partition("|")
    seen = frozenset(
        (part.split(":", 1)[0], part.split(":", 1)[-1]) for part in rest.split(",") if part
    )
    return stamp, seen


def _stamp(raw: Mapping[str, Any]) -> str:
    meta = raw.get("MetaData")
    return str(meta.get("LastUpdatedTime", "")) if isinstance(meta, dict) else ""


def _version(raw: Mapping[str, Any]) -> tuple[str, str]:
    return str(raw.get("Id", "")), str(raw.get("SyncToken", ""))


def _next_cursor(since: str, seen: Seen, fresh: list[dict[str, Any]]) -> str:
    if not fresh:
        stamp, keep = since, seen
    else:
        stamp = _stamp(fresh[-1])
        keep = frozenset(_version(p) for p in fresh if _stamp(p) == stamp)
        keep = keep | seen if stamp == since else keep
    return stamp + "|" + ",".join(f"{i}:{t}" for i, t in sorted(keep))


async def _changed(
    client: _client.QuickBooksClient, since: str, seen: Seen, limit: int
) -> list[dict[str, Any]]:
    page_size = min(_client.MAX_PAGE, limit + len(seen) + 1)
    statement = (
        f"SELECT * FROM Payment WHERE MetaData.LastUpdatedTime >= {_mapping.quote(since)} "
        "ORDERBY MetaData.LastUpdatedTime"
    )
    fresh: list[dict[str, Any]] = []
    start = 1
    while len(fresh) <= limit:
        page = await client.query(f"{statement} STARTPOSITION {start} MAXRESULTS {page_size}")
        rows = page.get("Payment") or []
        fresh += [p for p in rows if not (_stamp(p) == since and _version(p) in seen)]
        if len(rows) < page_size:
            break
        start += len(rows)
    return fresh


async def _invoices(
    client: _client.QuickBooksClient, payments: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    ids = sorted(
        {
            str(link.get("TxnId"))
            for p in payments
            for line in p.get("Line") or []
            for link in (line.get("LinkedTxn") or [] if isinstance(line, dict) else [])
            if isinstance(link, dict) and link.get("TxnType") == "Invoice"
        }
    )
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ", ".join(_mapping.quote(i) for i in ids[start : start + _IDS_PER_QUERY])
        page = await client.query(
            f"SELECT * FROM Invoice WHERE Id IN ({chunk}) MAXRESULTS {_client.MAX_PAGE}"
        )
        found.update({str(inv["Id"]): inv for inv in page.get("Invoice") or []})
    return found


def _events(
    raw: dict[str, Any],
    invoices: Mapping[str, Mapping[str, Any]],
    *,
    tenant_id: str,
    connection_id: str,
) -> list[BusinessEvent]:
    payment_id = str(raw.get("Id", ""))
    try:
        version = _mapping.source_version(raw)
        occurred: dt.datetime | None = dt.datetime.fromisoformat(_stamp(raw))
        records = _mapping.payment_records(raw, invoices)
        payloads: list[tuple[str, dict[str, Any]]] = [
            (payment_id if len(records) == 1 else f"{payment_id}:{invoice_id}", {"record": rec})
            for invoice_id, rec in records
        ]
    except errors.RecordError as exc:
        version, occurred = max(0, _safe_version(raw)), None
        problem = {"message": exc.message, "field": exc.field, "hint": exc.hint}
        payloads = [(payment_id, {"record": None, "mapping_error": problem})]
    return [
        BusinessEvent(
            tenant_id=tenant_id,
            connection_id=connection_id,
            event_type=EventType.PAYMENT_RECEIVED.value,
            object_type="payment",
            external_id=external_id,
            source_version=version,
            payload={**payload, "raw": raw},
            occurred_at=occurred,
        )
        for external_id, payload in payloads
    ]


def _safe_version(raw: Mapping[str, Any]) -> int:
    try:
        return _mapping.source_version(raw)
    except errors.RecordError:
        token = str(raw.get("SyncToken") or "0")
        return int(token) if token.isdigit() else 0


async def read_payments(
    client: _client.QuickBooksClient,
    cursor: str | None,
    *,
    limit: int,
    tenant_id: str,
    connection_id: str,
) -> _base.EventPage:
    """Read the Payments changed after ``cursor`` as ``payment.received`` events.

    A payment applied to several invoices gives one event per invoice, with external ids
    ``<payment id>:<invoice id>``. A payment that cannot be mapped gives one event with
    ``record: None`` and a ``mapping_error``.

    Args:
        client: the company's client.
        cursor: the cursor of the previous page, or None to start from the beginning.
        limit: the most Payments to return.
        tenant_id: the tenant stamped on every event.
        connection_id: the connection stamped on every event.

    Returns:
        The events, the cursor to read on from, and whether more Payments are waiting.
    """
    since, seen = _parse_cursor(cursor)
    fresh = await _changed(client, since, seen, limit)
    has_more = len(fresh) > limit
    fresh = fresh[:limit]
    invoices = await _invoices(client, fresh) if fresh else {}
    events = [
        event
        for raw in fresh
        for event in _events(raw, invoices, tenant_id=tenant_id, connection_id=connection_id)
    ]
    return _base.EventPage(
        events=events, cursor=_next_cursor(since, seen, fresh), has_more=has_more
    )
