"""The poller: reads change feeds of connected systems into the inbox.

Every connection whose connector offers ``read_events(cursor)`` is read page by page; each
page is ingested (deduplicated) and its cursor saved, so a crash between pages re-reads at most one page, which the inbox
drops as duplicates.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
import structlog

from ledgerbridge import errors, store
from ledgerbridge.engine.client import Client

__all__ = ["Poller"]

log = structlog.get_logger("ledgerbridge.poller")


class Poller:
    """Reads every feed of the active deployments once per :meth:`poll` call."""

    def __init__(self, db: store.Database, services: Any, *, client: Client | None = None) -> None:
        self.db = db
        self.services = services
        self.client = client or Client(db)
        self.failures: dict[tuple[str, str], str] = {}

    def _feeds(self) -> list[tuple[str, str]]:
        with self.db.read() as conn:
            tenants = store.tenancy.list_tenants(conn)
            feeds: set[tuple[str, str]] = set()
            for tenant in tenants:
                for deployment in self.client.deployments.active(conn, tenant.id):
                    feeds.update((tenant.id, cid) for cid in deployment.bound_connections)
        return sorted(feeds)

    async def poll(self, *, max_pages: int = 1000) -> int:
        """Read each feed until it has nothing more; return how many events were stored.

        A feed that fails (the system is down, throttling, credentials revoked) is left
        where its cursor stands and named in :attr:`failures`; the next poll resumes it.
        """
        stored = 0
        self.failures = {}
        for tenant_id, connection_id in self._feeds():
            try:
                connector = self.services.connector(tenant_id, connection_id)
                if not hasattr(connector, "read_events"):
                    continue
                stored += await self._drain_feed(tenant_id, connection_id, connector, max_pages)
            except sa.exc.DBAPIError as exc:
                self.failures[(tenant_id, connection_id)] = "the database is unavailable"
                log.warning(
                    "feed read failed",
                    tenant_id=tenant_id,
                    connection_id=connection_id,
                    error=str(exc.orig)[:200],
                    kind="database",
                )
            except errors.LedgerbridgeError as exc:
                self.failures[(tenant_id, connection_id)] = exc.message
                log.warning(
                    "feed read failed",
                    tenant_id=tenant_id,
                    connection_id=connection_id,
                    error=exc.message,
                    kind=exc.kind,
                )
        return stored

    async def _drain_feed(
        self, tenant_id: str, connection_id: str, connector: Any, max_pages: int
    ) -> int:
        stored = 0
        cursor = self._cursor(tenant_id, connection_id)
        for _ in range(max_pages):
            page = await connector.read_events(cursor)
            if page.events:
                stored += self.client.ingest(page.events).stored
            if page.cursor is not None and page.cursor != cursor:
                cursor = page.cursor
                self._save_cursor(tenant_id, connection_id, cursor)
            if not page.has_more:
                break
        return stored

    def _cursor(self, tenant_id: str, connection_id: str) -> str | None:
        with self.db.read() as conn:
            return store.cursors.get(conn, tenant_id, connection_id)

    def _save_cursor(self, tenant_id: str, connection_id: str, cursor: str) -> None:
        with self.db.write() as conn:
            store.cursors.save(conn, tenant_id, connection_id, cursor, now=time.time())
