"""QuickBooks Online webhooks: payload formats, the ``intuit-signature`` and batched delivery.

Both formats carry no entity data: receivers read each entity by id. The legacy format groups
changes per company under ``eventNotifications``; the CloudEvents format is a JSON array with one
event per change, typed ``qbo.<entity>.<created|updated|deleted>.v1``. The signature is
base64(HMAC-SHA256(raw body, verifier token)). Deliveries that fail are counted and not retried
(the service's retry schedule is not documented).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec

logger = logging.getLogger(__name__)

#: the payload formats a sandbox can send
FORMATS = ("legacy", "cloudevents")
SIGNATURE_HEADER = "intuit-signature"
_PAST = {"Create": "created", "Update": "updated", "Delete": "deleted", "Merge": "merged"}
_DELIVERY_TIMEOUT_S = 10.0


@dataclass(frozen=True, kw_only=True, slots=True)
class ChangeNotice:
    """One change of one entity, as a webhook reports it."""

    realm_id: str
    entity: str
    entity_id: str
    operation: str
    last_updated: str


def sign(body: bytes, verifier: str) -> str:
    """Return the ``intuit-signature`` of ``body``."""
    digest = hmac.new(verifier.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(body: bytes, signature: str, verifier: str) -> bool:
    """Return whether ``signature`` is the signature of ``body`` (constant-time comparison)."""
    return hmac.compare_digest(sign(body, verifier), signature)


def build_payload(
    notices: Sequence[ChangeNotice],
    *,
    fmt: str = "legacy",
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> bytes:
    """Encode ``notices`` in the legacy or the CloudEvents format.

    Raises:
        ValueError: when ``fmt`` is not a known format.
    """
    if fmt == "legacy":
        return msgspec.json.encode(_legacy(notices))
    if fmt == "cloudevents":
        return msgspec.json.encode([_cloud_event(n, new_id()) for n in notices])
    raise ValueError(f"webhook format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def build_signed_payload(
    notices: Sequence[ChangeNotice], *, fmt: str, verifier: str
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of one webhook delivery."""
    body = build_payload(notices, fmt=fmt)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, verifier)}
    return body, headers


def _legacy(notices: Sequence[ChangeNotice]) -> dict[str, Any]:
    by_realm: dict[str, list[dict[str, str]]] = {}
    for n in notices:
        stamp = dt.datetime.fromisoformat(n.last_updated).strftime("%Y-%m-%dT%H:%M:%S%z")
        entry = {
            "name": n.entity,
            "id": n.entity_id,
            "operation": n.operation,
            "lastUpdated": stamp,
        }
        by_realm.setdefault(n.realm_id, []).append(entry)
    return {
        "eventNotifications": [
            {"realmId": realm, "dataChangeEvent": {"entities": entities}}
            for realm, entities in by_realm.items()
        ]
    }


def _cloud_event(n: ChangeNotice, event_id: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "intuit.sandbox",
        "type": f"qbo.{n.entity.lower()}.{_PAST.get(n.operation, n.operation.lower())}.v1",
        "datacontenttype": "application/json",
        "time": n.last_updated,
        "intuitentityid": n.entity_id,
        "intuitaccountid": n.realm_id,
        "data": {},
    }


class WebhookDispatcher:
    """Collects change notices and POSTs them to every receiver, one batch every ``batch_ms``.

    Args:
        urls: the receiver URLs.
        verifier: the verifier token that signs each body.
        fmt: ``"legacy"`` or ``"cloudevents"``.
        batch_ms: how long notices gather before one delivery.
    """

    def __init__(
        self, urls: Sequence[str], verifier: str, *, fmt: str = "legacy", batch_ms: int = 200
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"webhook format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self.urls = tuple(urls)
        self.verifier = verifier
        self.fmt = fmt
        self.batch_s = max(batch_ms, 1) / 1000.0
        self.delivered = 0
        self.failed = 0
        self._pending: list[ChangeNotice] = []
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None

    def record(self, realm_id: str, entity: str, entity_id: str, operation: str, when: str) -> None:
        """Queue one change (the ``on_change`` listener of the ERP state)."""
        notice = ChangeNotice(
            realm_id=realm_id,
            entity=entity,
            entity_id=entity_id,
            operation=operation,
            last_updated=when,
        )
        with self._lock:
            self._pending.append(notice)

    async def start(self, app: Any = None) -> None:
        """Start the delivery loop (an aiohttp ``on_startup`` hook)."""
        if self.urls:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, app: Any = None) -> None:
        """Stop the delivery loop (an aiohttp ``on_cleanup`` hook)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=_DELIVERY_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                await asyncio.sleep(self.batch_s)
                await self.flush(session)

    async def flush(self, session: aiohttp.ClientSession) -> None:
        """Deliver everything queued so far as one signed POST per receiver."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        body, headers = build_signed_payload(batch, fmt=self.fmt, verifier=self.verifier)
        for url in self.urls:
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    ok = response.status < 300
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if ok:
                self.delivered += 1
            else:
                self.failed += 1
                logger.warning("webhook delivery failed url=%s notices=%d", url, len(batch))
