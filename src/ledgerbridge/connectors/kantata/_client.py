"""A thin aiohttp client of the Kantata OX API v1: one method per endpoint, no business rules.

Every call waits for the client-side rate limiter, carries the bearer token and an explicit
timeout, and translates failures in :func:`map_errors` (the only place that does). Answers are
Kantata's keyed maps; :class:`KeyedPage` returns their objects in ``results`` order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec

from ledgerbridge import errors
from ledgerbridge.engine._retry import RetryPolicy, call_with_retry

__all__ = ["KantataClient", "KeyedPage", "TokenBucket", "map_errors"]

logger = logging.getLogger(__name__)

_CONNECTOR = "kantata"
MAX_PER_PAGE = 200
_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class TokenBucket:
    """Client-side rate limiting: ``rate`` requests per second with bursts of ``capacity``.

    Args:
        rate: requests per second; None or 0 switches the limiter off.
        capacity: the largest burst (defaults to ``rate``, at least 1).
    """

    def __init__(self, rate: float | None, *, capacity: float | None = None) -> None:
        self.rate = rate or 0.0
        self.capacity = max(1.0, capacity if capacity is not None else self.rate)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` (the server's Retry-After)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        """Wait until a request may be sent."""
        async with self._lock:
            while True:
                now = time.monotonic()
                wait = self._paused_until - now
                if self.rate > 0:
                    self._tokens = min(
                        self.capacity, self._tokens + (now - self._stamp) * self.rate
                    )
                    self._stamp = now
                    if self._tokens < 1:
                        wait = max(wait, (1 - self._tokens) / self.rate)
                if wait <= 0:
                    if self.rate > 0:
                        self._tokens -= 1
                    return
                await asyncio.sleep(wait)


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyedPage:
    """One page of a Kantata list answer.

    Attributes:
        objects: the objects of the requested resource, in ``results`` order.
        count: the number of matching objects across all pages.
        page_count: the number of pages.
        included: other keyed maps of the answer (included objects), by key.
    """

    objects: list[dict[str, Any]]
    count: int
    page_count: int
    included: dict[str, dict[str, Any]]


class _StatusError(Exception):
    """An HTTP answer other than 2xx, translated by :func:`map_errors`."""

    def __init__(self, status: int, body: bytes, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.retry_after = retry_after


class _ContractError(Exception):
    """An answer that does not have the documented shape."""


def _first_error(body: bytes) -> tuple[str | None, str | None]:
    """Return (message, field) of the first element of an ``{"errors": [...]}`` body."""
    try:
        data = _DECODER.decode(body)
    except msgspec.DecodeError:
        return None, None
    found = data.get("errors") if isinstance(data, dict) else None
    first = found[0] if isinstance(found, list) and found else None
    if not isinstance(first, dict):
        return None, None
    message, field = first.get("message"), first.get("field")
    return (
        message[:500] if isinstance(message, str) else None,
        field[:100] if isinstance(field, str) else None,
    )


def _status_error(endpoint: str, error: _StatusError) -> errors.LedgerbridgeError:
    message, field = _first_error(error.body)
    status = error.status
    said = f": {message}" if message else ""
    common: dict[str, Any] = {"connector": _CONNECTOR, "status_code": status, "field": field}
    if status == 429:
        return errors.TransientError(
            f"Kantata is rate limiting {endpoint}", retry_after=error.retry_after, **common
        )
    if status >= 500:
        return errors.TransientError(f"Kantata failed on {endpoint} ({status}){said}", **common)
    if status in (401, 403):
        return errors.ConfigError(
            f"Kantata refused the credentials for {endpoint} ({status}){said}",
            hint="check the connection's access token",
            **common,
        )
    return errors.PermanentError(
        f"Kantata refused {endpoint} ({status}){said}"
        if message
        else f"Kantata refused {endpoint}",
        **common,
    )


@contextlib.asynccontextmanager
async def map_errors(endpoint: str, *, is_write: bool) -> AsyncIterator[None]:
    """Translate the failures of one Kantata call into ledgerbridge errors.

    Args:
        endpoint: method and path, used in messages (``POST /invoices``).
        is_write: whether the call changes data (a lost answer is then ambiguous).

    Raises:
        TransientError: connection refused, connect timeout, a failed read, 429 or 5xx.
        AmbiguousError: the connection dropped or timed out after a write was sent.
        ConfigError: 401 or 403.
        PermanentError: any other 4xx, or an answer that is not the documented JSON.
    """
    try:
        yield
    except _StatusError as exc:
        raise _status_error(endpoint, exc) from None
    except (msgspec.DecodeError, _ContractError) as exc:
        raise errors.PermanentError(
            f"Kantata sent an unreadable answer to {endpoint}",
            connector=_CONNECTOR,
            internal_detail=str(exc)[:300],
        ) from exc
    except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
        never_sent = isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
        if is_write and not never_sent:
            raise errors.AmbiguousError(
                f"the connection to Kantata was lost after {endpoint} was sent; "
                "it may have been applied",
                connector=_CONNECTOR,
                internal_detail=repr(exc)[:300],
            ) from exc
        raise errors.TransientError(
            f"Kantata unreachable during {endpoint}: {type(exc).__name__}",
            connector=_CONNECTOR,
            internal_detail=repr(exc)[:300],
        ) from exc


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After", "")
    try:
        return max(0.0, float(int(raw.strip())))
    except ValueError:
        return None


def keyed_page(data: Any, key: str) -> KeyedPage:
    """Parse a keyed-map answer for ``key``.

    Raises:
        _ContractError: the answer does not have Kantata's shape.
    """
    if not isinstance(data, dict) or not isinstance(data.get("results", []), list):
        raise _ContractError("the answer is not a keyed map with results")
    table = data.get(key) or {}
    if not isinstance(table, dict):
        raise _ContractError(f"{key} is not a map of objects by id")
    objects = []
    for ref in data.get("results", []):
        if not isinstance(ref, dict) or ref.get("key") != key:
            continue
        found = table.get(str(ref.get("id")))
        if not isinstance(found, dict):
            raise _ContractError(f"results names {key} {str(ref.get('id'))[:20]} that is missing")
        objects.append(found)
    count, meta = data.get("count"), data.get("meta")
    pages = meta.get("page_count") if isinstance(meta, dict) else None
    included = {k: v for k, v in data.items() if isinstance(v, dict) and k not in (key, "meta")}
    return KeyedPage(
        objects=objects,
        count=count if isinstance(count, int) and not isinstance(count, bool) else len(objects),
        page_count=pages if isinstance(pages, int) and not isinstance(pages, bool) else 1,
        included=included,
    )


class KantataClient:
    """Calls to one Kantata account.

    Args:
        session: the injected HTTP session; the client never closes it.
        base_url: the API root, such as ``https://api.mavenlink.com/api/v1``.
        token: the OAuth bearer token (text or an object with ``get_secret_value()``).
        timeout_seconds: the total timeout of each call.
        limiter: the rate limiter shared by all calls.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        token: Any,
        timeout_seconds: float = 30.0,
        limiter: TokenBucket | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        secret = token.get_secret_value() if hasattr(token, "get_secret_value") else token
        self._headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_seconds, sock_connect=min(timeout_seconds, 10.0)
        )
        self.limiter = limiter or TokenBucket(None)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        endpoint = f"{method} {path}"
        await self.limiter.acquire()
        async with map_errors(endpoint, is_write=method in _WRITES):
            async with self._session.request(
                method,
                self._base + path,
                params=params,
                json=body,
                headers=self._headers,
                timeout=self._timeout,
            ) as response:
                raw = await response.read()
                if response.status == 429:
                    retry_after = _retry_after(response.headers)
                    self.limiter.pause(retry_after or 1.0)
                    raise _StatusError(429, raw, retry_after)
                if response.status >= 300:
                    raise _StatusError(response.status, raw, None)
            return _DECODER.decode(raw) if raw else {}

    async def _page(self, key: str, path: str, params: Mapping[str, str]) -> KeyedPage:
        data = await self._call("GET", path, params=params)
        async with map_errors(f"GET {path}", is_write=False):
            return keyed_page(data, key)

    async def subscribed_events(
        self,
        *,
        created_after: str | None,
        page: int,
        per_page: int,
        optional_fields: Iterable[str] = (),
    ) -> KeyedPage:
        """``GET /subscribed_events``: one page of the change feed, oldest first."""
        params = {"page": str(page), "per_page": str(min(per_page, MAX_PER_PAGE))}
        if created_after:
            params["created_after"] = created_after
        if fields := ",".join(optional_fields):
            params["optional_fields"] = fields
        return await self._page("subscribed_events", "/subscribed_events", params)

    async def _list(self, resource: str, params: dict[str, str], per_page: int) -> KeyedPage:
        params = {"page": "1", "per_page": str(min(per_page, MAX_PER_PAGE)), **params}
        return await self._page(resource, f"/{resource}", params)

    async def _create(self, resource: str, singular: str, fields: dict[str, Any]) -> dict[str, Any]:
        data = await self._call("POST", f"/{resource}", body={singular: fields})
        return await self._single(data, resource, f"POST /{resource}")

    async def _single(self, data: Any, resource: str, endpoint: str) -> dict[str, Any]:
        async with map_errors(endpoint, is_write=False):
            page = keyed_page(data, resource)
            if len(page.objects) != 1:
                raise _ContractError(f"expected one {resource} object, got {len(page.objects)}")
            return page.objects[0]

    async def by_ids(self, resource: str, ids: list[str]) -> list[dict[str, Any]]:
        """``GET /<resource>?only=...``: the objects with these ids (at most 200)."""
        if not ids:
            return []
        page = await self._list(resource, {"only": ",".join(ids[:MAX_PER_PAGE])}, len(ids))
        return page.objects

    async def by_reference(self, resource: str, ref: str) -> list[dict[str, Any]]:
        """``GET /<resource>?external_reference_service_model_ref=...``: objects tagged ``ref``."""
        page = await self._list(resource, {"external_reference_service_model_ref": ref}, 20)
        return page.objects

    async def list_all(
        self, resource: str, params: dict[str, str], *, policy: RetryPolicy | None = None
    ) -> list[dict[str, Any]]:
        """``GET /<resource>`` with filters, following every page.

        With ``policy``, each page's transient failures are retried, so one lost page of a
        long listing does not restart it.
        """
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            fetch = functools.partial(
                self._page,
                resource,
                f"/{resource}",
                {**params, "page": str(page), "per_page": str(MAX_PER_PAGE)},
            )
            found = await (call_with_retry(fetch, policy) if policy else fetch())
            out.extend(found.objects)
            if page >= found.page_count or not found.objects:
                return out
            page += 1

    async def users(self, *, per_page: int = 1) -> KeyedPage:
        """``GET /users``: the first page of users (a cheap authenticated call)."""
        return await self._list("users", {}, per_page)

    async def create_invoice(self, fields: dict[str, Any]) -> dict[str, Any]:
        """``POST /invoices``: create one invoice from time entries, expenses and milestones."""
        return await self._create("invoices", "invoice", fields)

    async def create_external_payment(self, fields: dict[str, Any]) -> dict[str, Any]:
        """``POST /external_payments``: record a payment against an invoice."""
        return await self._create("external_payments", "external_payment", fields)

    async def create_organization(self, fields: dict[str, Any]) -> dict[str, Any]:
        """``POST /organizations``: create a client organization."""
        return await self._create("organizations", "organization", fields)

    async def update_organization(self, oid: str, fields: dict[str, Any]) -> dict[str, Any]:
        """``PUT /organizations/{id}``: change a client organization; return it."""
        path = f"/organizations/{urllib.parse.quote(oid, safe='')}"
        data = await self._call("PUT", path, body={"organization": fields})
        return await self._single(data, "organizations", f"PUT {path}")
