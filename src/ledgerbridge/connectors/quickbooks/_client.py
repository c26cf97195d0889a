"""A thin async client for the QuickBooks Online Accounting API v3.

One :class:`QuickBooksClient` talks to one company (realm) over an injected
:class:`aiohttp.ClientSession`. Each method is one endpoint and returns parsed JSON, with money
as :class:`~decimal.Decimal` (never float). Every write carries ``requestid`` so that a retry
after a lost answer replays instead of writing twice. :func:`map_errors` is the one place
where transport failures and Fault bodies become :mod:`ledgerbridge.errors`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec

from ledgerbridge import errors

__all__ = [
    "DEFAULT_MINORVERSION",
    "MAX_REQUEST_ID",
    "QboFaultError",
    "QuickBooksClient",
    "RateLimiter",
    "StaleObjectError",
    "decode",
    "encode",
    "map_errors",
    "request_id",
]

logger = logging.getLogger(__name__)

DEFAULT_MINORVERSION = 75
#: the longest ``requestid`` QuickBooks accepts
MAX_REQUEST_ID = 50
#: seconds to wait after a 429 that names no ``Retry-After`` (Intuit's guidance)
THROTTLE_WAIT_S = 60.0
#: the largest page the query endpoint returns
MAX_PAGE = 1000
_CONNECTOR = "quickbooks"
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def encode(value: Any) -> bytes:
    """Serialise ``value`` to JSON; Decimals become numbers written from their text, not floats."""
    return _ENCODER.encode(value)


def decode(body: bytes) -> Any:
    """Parse JSON; numbers with a fraction or exponent become Decimal.

    Raises:
        msgspec.DecodeError: the body is not JSON.
    """
    return _DECODER.decode(body)


def request_id(key: str, purpose: str = "") -> str:
    """Return the ``requestid`` for the write ``purpose`` made under the idempotency ``key``.

    The same key and purpose always give the same id; ids longer than QuickBooks allows are
    replaced by a digest of the same length limit.
    """
    text = f"{key}~{purpose}" if purpose else key
    if len(text) <= MAX_REQUEST_ID:
        return text
    return "lb-" + hashlib.sha256(text.encode()).hexdigest()[: MAX_REQUEST_ID - 3]


class QboFaultError(errors.PermanentError):
    """QuickBooks refused the request with a Fault."""

    def __init__(
        self, message: str, *, code: str, fault_type: str, element: str = "", **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.code = code
        self.fault_type = fault_type
        self.element = element


class StaleObjectError(errors.TransientError):
    """The SyncToken sent is no longer current: someone else changed the object (Fault 5010)."""


class _HttpFailure(Exception):
    """An answer with an error status or a Fault body (translated in :func:`map_errors`)."""

    def __init__(self, status: int, body: bytes, retry_after: str | None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.retry_after = retry_after


def _first_error(body: bytes) -> tuple[str, str, str, str, str]:
    """Return (code, Message, Detail, element, type) of a Fault body, as far as it has them."""
    try:
        doc = decode(body)
    except msgspec.DecodeError:
        return "", body[:200].decode("utf-8", "replace"), "", "", ""
    fault = doc.get("Fault") or doc.get("fault") if isinstance(doc, dict) else None
    if not isinstance(fault, dict):
        return "", "", "", "", ""
    items = fault.get("Error") or fault.get("error")
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    return (
        str(first.get("code", "")),
        str(first.get("Message", "")),
        str(first.get("Detail", "")),
        str(first.get("element", "") or ""),
        str(fault.get("type", "")),
    )


def _retry_after(header: str | None) -> float:
    try:
        return max(0.0, float(header)) if header else THROTTLE_WAIT_S
    except ValueError:
        return THROTTLE_WAIT_S


def _status_error(failure: _HttpFailure, endpoint: str) -> errors.LedgerbridgeError:
    code, message, detail, element, fault_type = _first_error(failure.body)
    status = failure.status
    text = " ".join(p for p in (code, message) if p) + (f": {detail}" if detail else "")
    context: dict[str, Any] = {"connector": _CONNECTOR, "status_code": status}
    if status in (401, 403):
        return errors.ConfigError(
            f"QuickBooks refused the credentials for {endpoint} (HTTP {status}): {text}",
            hint="reconnect the QuickBooks company (the access token is invalid or expired)",
            **context,
        )
    if status == 429:
        return errors.TransientError(
            f"QuickBooks throttled {endpoint} (HTTP 429)",
            retry_after=_retry_after(failure.retry_after),
            **context,
        )
    if status >= 500:
        return errors.TransientError(
            f"QuickBooks failed {endpoint} (HTTP {status}): {text}", **context
        )
    if code == "5010":
        return StaleObjectError(f"QuickBooks refused {endpoint}: {text}", **context)
    return QboFaultError(
        f"QuickBooks refused {endpoint}: {text or f'HTTP {status}'}",
        code=code,
        fault_type=fault_type,
        element=element,
        field=element or None,
        **context,
    )


@contextlib.asynccontextmanager
async def map_errors(endpoint: str, *, is_write: bool) -> AsyncIterator[None]:
    """Translate the failures of one request into ledgerbridge errors.

    Args:
        endpoint: the request, such as ``POST timeactivity``, used in messages.
        is_write: whether a lost answer may hide an applied write.

    Raises:
        ConfigError: 401 or 403.
        TransientError: connection refused, connect timeout, 429 (with ``retry_after``), 5xx,
            or a read whose connection dropped; :class:`StaleObjectError` for Fault 5010.
        AmbiguousError: a write was sent but its answer was lost.
        PermanentError: any other Fault (:class:`QboFaultError`), or a body that is not JSON.
    """
    try:
        yield
    except errors.LedgerbridgeError:
        raise
    except _HttpFailure as failure:
        raise _status_error(failure, endpoint) from None
    except msgspec.DecodeError as exc:
        raise errors.PermanentError(
            f"QuickBooks answered {endpoint} with a body that is not valid JSON",
            connector=_CONNECTOR,
            internal_detail=str(exc),
        ) from exc
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
        raise errors.TransientError(
            f"QuickBooks unreachable for {endpoint}: {type(exc).__name__}",
            connector=_CONNECTOR,
            internal_detail=repr(exc),
        ) from exc
    except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
        if is_write:
            raise errors.AmbiguousError(
                f"the answer to {endpoint} was lost after the request was sent; "
                "QuickBooks may have applied it",
                connector=_CONNECTOR,
                internal_detail=repr(exc),
            ) from exc
        raise errors.TransientError(
            f"QuickBooks connection lost during {endpoint}: {type(exc).__name__}",
            connector=_CONNECTOR,
            internal_detail=repr(exc),
        ) from exc


class _Window:
    """Send times reserved within one sliding window."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        # A small margin keeps requests that arrive a little early inside the vendor's window.
        self.window_s = window_s * 1.05
        self.times: collections.deque[float] = collections.deque()

    def earliest(self, now: float) -> float:
        if len(self.times) < self.limit:
            return now
        return max(now, self.times[-self.limit] + self.window_s)

    def reserve(self, at: float) -> None:
        self.times.append(at)
        while len(self.times) > self.limit:
            self.times.popleft()


class RateLimiter:
    """Client-side request limits of one company: at most N per second and M per minute.

    QuickBooks counts requests in sliding windows, so the limiter reserves send times with
    the same rule (a burst allowance would trip the vendor's window). Reservations are made
    without awaiting, so the limiter works on any event loop and keeps callers in order.

    Args:
        per_second: requests per second; 0 or None switches this limit off.
        per_minute: requests per minute; 0 or None switches this limit off.
    """

    def __init__(self, *, per_second: int | None = 10, per_minute: int | None = 500) -> None:
        self._windows = [
            _Window(limit, span)
            for limit, span in ((per_second, 1.0), (per_minute, 60.0))
            if limit and limit > 0
        ]

    @property
    def is_off(self) -> bool:
        """Whether no limit applies."""
        return not self._windows

    async def acquire(self) -> None:
        """Wait until one more request may be sent."""
        if not self._windows:
            return
        now = time.monotonic()
        at = max(w.earliest(now) for w in self._windows)
        for window in self._windows:
            window.reserve(at)
        if at > now:
            await asyncio.sleep(at - now)


class QuickBooksClient:
    """One endpoint per method for one QuickBooks company.

    Args:
        session: the injected HTTP session; the client never closes it.
        base_url: the service root, e.g. ``https://quickbooks.api.intuit.com``.
        realm_id: the company id.
        access_token: the OAuth2 bearer token (text or an object with ``get_secret_value()``).
        minorversion: the API minor version sent with every request.
        timeout_seconds: the total time allowed for one request.
        limiter: the company's request limits (none when omitted).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        realm_id: str,
        access_token: Any,
        minorversion: int = DEFAULT_MINORVERSION,
        timeout_seconds: float = 30.0,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._session = session
        self._root = f"{base_url.rstrip('/')}/v3/company/{realm_id}"
        self._token = access_token
        self._minorversion = str(minorversion)
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_seconds, connect=min(timeout_seconds, 10.0)
        )
        self._limiter = limiter or RateLimiter(per_second=None, per_minute=None)
        self.realm_id = realm_id

    def _headers(self) -> dict[str, str]:
        getter = getattr(self._token, "get_secret_value", None)
        token = str(getter() if callable(getter) else self._token)
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str],
        body: bytes | None = None,
    ) -> Any:
        endpoint = f"{method} {path.split('/')[0]}"
        await self._limiter.acquire()
        query = {**params, "minorversion": self._minorversion}
        async with map_errors(endpoint, is_write=method == "POST"):
            async with self._session.request(
                method,
                f"{self._root}/{path}",
                params=query,
                data=body,
                headers=self._headers(),
                timeout=self._timeout,
            ) as response:
                raw = await response.read()
                if response.status >= 300:
                    raise _HttpFailure(response.status, raw, response.headers.get("Retry-After"))
            doc = decode(raw)
            if isinstance(doc, dict) and ("Fault" in doc or "fault" in doc):
                raise _HttpFailure(400, raw, None)
        return doc

    @staticmethod
    def _member(doc: Any, key: str, endpoint: str) -> dict[str, Any]:
        value = doc.get(key) if isinstance(doc, dict) else None
        if not isinstance(value, dict):
            raise errors.PermanentError(
                f"QuickBooks answered {endpoint} without a {key} object", connector=_CONNECTOR
            )
        return value

    async def create(
        self, entity: str, body: Mapping[str, Any], *, request_id: str
    ) -> dict[str, Any]:
        """Create an ``entity`` (``POST /{entity}?requestid=``); return the stored object."""
        path = entity.lower()
        doc = await self._send("POST", path, params={"requestid": request_id}, body=encode(body))
        return self._member(doc, entity, f"POST {path}")

    async def update(
        self, entity: str, body: Mapping[str, Any], *, request_id: str
    ) -> dict[str, Any]:
        """Update an ``entity``; ``body`` holds ``Id``, the current ``SyncToken`` and ``sparse``."""
        path = entity.lower()
        params = {"requestid": request_id, "operation": "update"}
        doc = await self._send("POST", path, params=params, body=encode(body))
        return self._member(doc, entity, f"POST {path}")

    async def delete(
        self, entity: str, entity_id: str, sync_token: str, *, request_id: str
    ) -> dict[str, Any]:
        """Delete a transaction (``POST /{entity}?operation=delete``)."""
        path = entity.lower()
        params = {"requestid": request_id, "operation": "delete"}
        body = encode({"Id": entity_id, "SyncToken": sync_token})
        doc = await self._send("POST", path, params=params, body=body)
        return self._member(doc, entity, f"POST {path}")

    async def read(self, entity: str, entity_id: str) -> dict[str, Any]:
        """Read one object (``GET /{entity}/{id}``)."""
        path = f"{entity.lower()}/{entity_id}"
        doc = await self._send("GET", path, params={})
        return self._member(doc, entity, f"GET {entity.lower()}")

    async def query(self, statement: str) -> dict[str, Any]:
        """Run one query statement; return its ``QueryResponse`` (``{}`` when nothing matches)."""
        doc = await self._send("GET", "query", params={"query": statement})
        return self._member(doc, "QueryResponse", "GET query")

    async def query_all(
        self, entity: str, where: str = "", *, order_by: str = "Id", page_size: int = MAX_PAGE
    ) -> list[dict[str, Any]]:
        """Return every ``entity`` matching ``where``, paging with STARTPOSITION/MAXRESULTS."""
        found: list[dict[str, Any]] = []
        clause = f" WHERE {where}" if where else ""
        start = 1
        while True:
            page = await self.query(
                f"SELECT * FROM {entity}{clause} ORDERBY {order_by} "
                f"STARTPOSITION {start} MAXRESULTS {page_size}"
            )
            rows = page.get(entity) or []
            found.extend(rows)
            if len(rows) < page_size:
                return found
            start += len(rows)

    async def cdc(self, entities: Sequence[str], changed_since: str) -> list[dict[str, Any]]:
        """Return the ``CDCResponse`` of the entities changed since an ISO date-time."""
        params = {"entities": ",".join(entities), "changedSince": changed_since}
        doc = await self._send("GET", "cdc", params=params)
        value = doc.get("CDCResponse") if isinstance(doc, dict) else None
        if not isinstance(value, list):
            raise errors.PermanentError(
                "QuickBooks answered GET cdc without a CDCResponse", connector=_CONNECTOR
            )
        return value
