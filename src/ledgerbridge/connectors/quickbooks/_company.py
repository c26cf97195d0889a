"""One QuickBooks company as the connector sees it: object versions, references, look-ups.

:class:`Company` keeps the last version (``SyncToken``) of each object it wrote or read, so an
update needs no read first; a stale token is re-read and the write retried once. It also finds
or makes, once per company, the accounts, service item and employees that charges refer to.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import Any

from ledgerbridge import errors
from ledgerbridge.connectors.quickbooks import _client, _mapping, _settings

__all__ = ["Company", "Guard", "Obj", "Write"]

_CONNECTOR = "quickbooks"
#: objects whose last seen version (SyncToken) is kept, so updates need no read first
_SEEN_LIMIT = 10_000

Obj = dict[str, Any]
Write = Callable[[Obj, int], Awaitable[Obj]]
Guard = Callable[[Obj], Awaitable[None]]


def _is_billed(entity: str, obj: Obj) -> bool:
    if entity == "TimeActivity":
        return obj.get("BillableStatus") == "HasBeenBilled"
    return any(
        (line.get("AccountBasedExpenseLineDetail") or {}).get("BillableStatus") == "HasBeenBilled"
        for line in obj.get("Line") or []
    )


def _project_of(entity: str, obj: Obj) -> str | None:
    if entity == "TimeActivity":
        return str((obj.get("CustomerRef") or {}).get("value") or "") or None
    for line in obj.get("Line") or []:
        ref = (line.get("AccountBasedExpenseLineDetail") or {}).get("CustomerRef")
        if isinstance(ref, dict) and ref.get("value"):
            return str(ref["value"])
    return None


class Company:
    """Versions, references and look-ups of one company, over its client.

    Args:
        client: the company's API client.
        config: the connection settings (names of the accounts and the service item).
    """

    def __init__(
        self, client: _client.QuickBooksClient, config: _settings.QuickBooksSettings
    ) -> None:
        self.client = client
        self.config = config
        self._refs: dict[str, str] = {}
        self._ref_locks: dict[str, asyncio.Lock] = {}
        self._seen: collections.OrderedDict[tuple[str, str], Obj] = collections.OrderedDict()

    def remember(self, entity: str, obj: Obj) -> Obj:
        """Keep ``obj`` as the latest known version of its object; return it."""
        key = (entity, str(obj.get("Id")))
        self._seen[key] = obj
        self._seen.move_to_end(key)
        while len(self._seen) > _SEEN_LIMIT:
            self._seen.popitem(last=False)
        return obj

    def forget(self, entity: str, erp_id: str) -> None:
        """Drop the remembered version of an object (after a delete or a stale write)."""
        self._seen.pop((entity, erp_id), None)

    async def current(self, entity: str, erp_id: str, *, fresh: bool) -> Obj | None:
        """Return the latest known version, read anew when ``fresh``; None if it does not exist."""
        if not fresh and (entity, erp_id) in self._seen:
            return self._seen[(entity, erp_id)]
        try:
            return self.remember(entity, await self.client.read(entity, erp_id))
        except _client.QboFaultError as exc:
            if exc.code == "610":
                return None
            raise

    async def write_current(
        self, entity: str, erp_id: str, write: Write, *, guard: Guard | None = None
    ) -> Obj | None:
        """Run ``write`` with the latest SyncToken; on a stale token re-read and retry once.

        Returns None when the object does not exist.
        """
        for attempt in (0, 1):
            current = await self.current(entity, erp_id, fresh=attempt == 1)
            if current is None:
                return None
            if guard is not None:
                await guard(current)
            try:
                return await write(current, attempt)
            except _client.StaleObjectError:
                self.forget(entity, erp_id)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def update(
        self, entity: str, erp_id: str, fields: Obj, *, key: str, guard: Guard | None = None
    ) -> None:
        """Apply a sparse update of ``fields`` under the idempotency ``key``.

        Raises:
            PermanentError: the object does not exist.
        """

        async def write(current: Obj, attempt: int) -> Obj:
            body = {**fields, "Id": erp_id, "SyncToken": current["SyncToken"], "sparse": True}
            purpose = "update-retry" if attempt else "update"
            stored = await self.client.update(
                entity, body, request_id=_client.request_id(key, purpose)
            )
            return self.remember(entity, stored)

        if await self.write_current(entity, erp_id, write, guard=guard) is None:
            raise errors.PermanentError(
                f"QuickBooks has no {entity} with id {erp_id}", connector=_CONNECTOR
            )

    async def create(self, entity: str, body: Obj, *, key: str) -> str:
        """Create an object under the idempotency ``key``; return its id."""
        stored = await self.client.create(entity, body, request_id=_client.request_id(key))
        return str(self.remember(entity, stored)["Id"])

    async def find(self, entity: str, field: str, value: str) -> Obj | None:
        """Return the first object whose ``field`` equals ``value``, if any."""
        page = await self.client.query(
            f"SELECT * FROM {entity} WHERE {field} = {_mapping.quote(value)} MAXRESULTS 1"
        )
        rows = page.get(entity) or []
        return rows[0] if rows else None

    async def cached(self, name: str, load: Callable[[], Awaitable[str]]) -> str:
        """Return the reference ``name``, running ``load`` once (even under concurrency)."""
        if name in self._refs:
            return self._refs[name]
        lock = self._ref_locks.setdefault(name, asyncio.Lock())
        async with lock:
            if name not in self._refs:
                self._refs[name] = await load()
        return self._refs[name]

    async def account(self, setting: str) -> str:
        """Return the id of the account named by ``setting``.

        Raises:
            ConfigError: the company has no such account.
        """
        name = str(getattr(self.config, setting))

        async def load() -> str:
            found = await self.find("Account", "Name", name)
            if found is None:
                raise errors.ConfigError(
                    f"QuickBooks has no account named {name!r} (setting {setting})",
                    connector=_CONNECTOR,
                    field=setting,
                )
            return str(found["Id"])

        return await self.cached(f"account:{name}", load)

    async def service_item(self) -> str:
        """Return the id of the service item, making it once when the company lacks it."""
        name = self.config.service_item_name

        async def load() -> str:
            found = await self.find("Item", "Name", name)
            if found is not None:
                return str(found["Id"])
            income = await self.account("income_account_name")
            body = {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": income}}
            return await self.create("Item", body, key=f"lb-item:{name}")

        return await self.cached(f"item:{name}", load)

    async def employee(self, resource_id: str) -> str:
        """Return the id of the Employee named after ``resource_id``, making it when missing."""

        async def load() -> str:
            found = await self.find("Employee", "DisplayName", resource_id)
            if found is not None:
                return str(found["Id"])
            body = {"DisplayName": resource_id, "GivenName": resource_id[:100]}
            try:
                return await self.create("Employee", body, key=f"lb-employee:{resource_id}")
            except _client.QboFaultError as exc:
                raise self.name_taken(resource_id, "resource", resource_id, exc) from None

        return await self.cached(f"employee:{resource_id}", load)

    @staticmethod
    def name_taken(
        name: str, what: str, source_id: str, exc: _client.QboFaultError
    ) -> errors.PermanentError:
        """Return the error for a name clash (6240) that ledgerbridge cannot resolve."""
        if exc.code != "6240":
            return exc
        return errors.PermanentError(
            f"QuickBooks already has a customer, vendor or employee named {name!r} that was "
            f"not created for {what} {source_id}; rename one of them",
            connector=_CONNECTOR,
            field="name",
            hint="QuickBooks display names are unique across customers, vendors and employees",
            internal_detail=exc.message,
        )

    async def refuse_billed(self, entity: str, obj: Obj) -> None:
        """Raise if the charge is invoiced, naming the invoice.

        Raises:
            PermanentError: the charge is ``HasBeenBilled``.
        """
        if not _is_billed(entity, obj):
            return
        number = "unknown"
        project = _project_of(entity, obj)
        where = f"CustomerRef = {_mapping.quote(project)}" if project else ""
        for invoice in await self.client.query_all("Invoice", where):
            links = [x for line in invoice.get("Line") or [] for x in line.get("LinkedTxn") or []]
            if any(x.get("TxnType") == entity and str(x.get("TxnId")) == obj["Id"] for x in links):
                number = str(invoice.get("DocNumber") or invoice.get("Id"))
                break
        kind = "time activity" if entity == "TimeActivity" else "expense"
        raise errors.PermanentError(
            f"the {kind} {obj['Id']} is already invoiced in QuickBooks (invoice {number}); "
            "issue a credit memo instead",
            connector=_CONNECTOR,
            hint="correct an invoiced charge with a credit memo in QuickBooks",
        )
