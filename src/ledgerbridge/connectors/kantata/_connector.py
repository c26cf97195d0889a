"""The Kantata OX (PSA) connector: the change feed in, invoices and payments back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import aiohttp

from ledgerbridge import errors
from ledgerbridge.connectors import _base
from ledgerbridge.connectors.kantata import _client, _cursor, _fields, _mapping
from ledgerbridge.engine._retry import RetryPolicy
from ledgerbridge.model import BusinessEvent, Customer

__all__ = ["DEFAULT_RATE_LIMIT", "KantataConnector"]

#: requests per second; stays under the 100 requests per 10 s that Kantata-like APIs allow
DEFAULT_RATE_LIMIT = 9.0
DEFAULT_OVERLAP_SECONDS = 30
SERVICE_NAME = "ledgerbridge"
_OPTIONAL_FIELDS = ("previous_payload", "current_payload", "payload_changes")
_LOOKUP_RESOURCES = {"workspace": "workspaces", "organization": "organizations", "user": "users"}


def _config_error(message: str) -> errors.ConfigError:
    return errors.ConfigError(message, connector="kantata")


def _number(settings: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = settings.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _config_error(f"Kantata setting {key} must be a number")
    try:
        number = float(value)
    except ValueError:
        raise _config_error(f"Kantata setting {key} must be a number, not {value!r}") from None
    if not low <= number <= high:
        raise _config_error(f"Kantata setting {key} must be between {low:g} and {high:g}")
    return number


def _reference(model: str, key: str) -> dict[str, str]:
    return {"service_name": SERVICE_NAME, "service_model": model, "service_model_ref": key}


@_base.register("kantata")
class KantataConnector(_base.BasePsaConnector):
    """Reads Kantata's subscribed events and writes invoices, payments and clients back.

    Settings: ``base_url`` (``https://api.mavenlink.com/api/v1``), ``token`` (text or
    ``SecretStr``), ``connection_id``; optional ``rate_limit_per_second`` (0 or None: off),
    ``per_page`` (1-200), ``timeout_seconds`` and ``overlap_seconds`` (how far behind the
    newest event each feed read starts, to catch events that arrive out of order).

    Args:
        settings: the connection settings.
        session: the HTTP session to use; one is created (and closed) when omitted.
        tenant_id: the tenant the events belong to.
        **kwargs: ``connection_id`` overrides the setting of the same name.

    Raises:
        ConfigError: a setting is missing or out of range.
    """

    def __init__(
        self,
        settings: dict[str, Any],
        *,
        session: aiohttp.ClientSession | None = None,
        tenant_id: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(settings, **kwargs)
        missing = [k for k in ("base_url", "token") if not settings.get(k)]
        if missing:
            raise _config_error(f"Kantata connection settings lack {', '.join(missing)}")
        self.tenant_id = tenant_id
        self.connection_id = str(kwargs.get("connection_id") or settings.get("connection_id") or "")
        self.per_page = int(_number(settings, "per_page", 200, 1, _client.MAX_PER_PAGE))
        self.overlap = dt.timedelta(
            seconds=_number(settings, "overlap_seconds", DEFAULT_OVERLAP_SECONDS, 0, 86_400)
        )
        self._timeout = _number(settings, "timeout_seconds", 30.0, 0.1, 600.0)
        rate = settings.get("rate_limit_per_second", DEFAULT_RATE_LIMIT)
        self._limiter = _client.TokenBucket(
            _number({"r": rate}, "r", 0.0, 0.0, 10_000.0) if rate else None
        )
        self._session = session
        self._owns_session = session is None
        self._client: _client.KantataClient | None = None
        self._cache: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in _LOOKUP_RESOURCES}

    @property
    def client(self) -> _client.KantataClient:
        """The API client (created on first use)."""
        if self._client is None:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            self._client = _client.KantataClient(
                self._session,
                base_url=str(self.settings["base_url"]),
                token=self.settings["token"],
                timeout_seconds=self._timeout,
                limiter=self._limiter,
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP session if the connector created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None
        self._client = None

    async def ping(self) -> None:
        """Read one user: checks reachability and the token."""
        await self.client.users(per_page=1)

    # --- the change feed -----------------------------------------------------------------

    async def read_events(self, cursor: str | None, *, limit: int = 200) -> _base.EventPage:
        """Read business events from ``/subscribed_events`` after ``cursor``.

        Each feed event maps to at most one business event; one that cannot be mapped comes
        back with a ``mapping_error`` payload. The returned cursor passes every feed event
        read, mapped or not.

        Args:
            cursor: the cursor of the previous page (None: the oldest retained event).
            limit: the most feed events to consume.

        Raises:
            ConfigError: no tenant id, or Kantata refused the token.
            PermanentError: the cursor is not one of this connector's.
            TransientError: Kantata is unreachable, rate limiting or failing.
        """
        if not self.tenant_id:
            raise _config_error("the Kantata connector needs a tenant_id to read events")
        try:
            start = _cursor.FeedCursor.parse(cursor)
        except ValueError as exc:
            raise errors.PermanentError(str(exc), connector="kantata", field="cursor") from None
        walk = _cursor.FeedWalk(start, overlap=self.overlap, limit=max(1, limit))
        complete = await _cursor.walk_feed(walk, self._fetch_feed)
        events = await self._map(walk.taken)
        return _base.EventPage(
            events=events,
            cursor=walk.next_cursor(complete=complete).render(),
            has_more=not complete,
        )

    async def _fetch_feed(
        self, created_after: str | None, page: int
    ) -> tuple[list[dict[str, Any]], int]:
        found = await self.client.subscribed_events(
            created_after=created_after,
            page=page,
            per_page=self.per_page,
            optional_fields=_OPTIONAL_FIELDS,
        )
        return found.objects, found.page_count

    async def _map(self, events: list[dict[str, Any]]) -> list[BusinessEvent]:
        for event in events:
            self._remember(event)
        await self._load_lookups(events)
        lookups = _mapping.Lookups(
            workspaces=self._cache["workspace"],
            organizations=self._cache["organization"],
            users=self._cache["user"],
        )
        out = []
        for event in events:
            mapped = _mapping.to_business_event(
                event,
                lookups=lookups,
                tenant_id=self.tenant_id,
                connection_id=self.connection_id,
            )
            if mapped is not None:
                out.append(mapped)
        return out

    def _remember(self, event: dict[str, Any]) -> None:
        """Keep the newest payload of workspaces, organizations and users seen in the feed."""
        resource = _resource_name(event)
        current = event.get("current_payload")
        if resource not in self._cache or not isinstance(current, dict):
            return
        oid = _safe_id(current, "id")
        if oid is None:
            return
        known = self._cache[resource].get(oid)
        if known is None or str(current.get("updated_at", "")) >= str(known.get("updated_at", "")):
            self._cache[resource][oid] = current

    async def _load_lookups(self, events: list[dict[str, Any]]) -> None:
        pairs = [(_resource_name(e), _payload(e)) for e in events]
        await self._fetch("workspace", (_safe_id(o, "workspace_id") for _, o in pairs))
        workspaces = [o for resource, o in pairs if resource == "workspace"]
        cached = self._cache["workspace"]
        workspaces += [cached.get(_safe_id(o, "workspace_id") or "") for _, o in pairs]
        await self._fetch("organization", (_safe_id(w, "organization_id") for w in workspaces))
        await self._fetch("user", (_safe_id(o, "user_id") for _, o in pairs))

    async def _fetch(self, kind: str, ids: Iterable[str | None]) -> None:
        cache = self._cache[kind]
        wanted = sorted({i for i in ids if i is not None and i not in cache})
        for start in range(0, len(wanted), _client.MAX_PER_PAGE):
            chunk = wanted[start : start + _client.MAX_PER_PAGE]
            for found in await self.client.by_ids(_LOOKUP_RESOURCES[kind], chunk):
                oid = _safe_id(found, "id")
                if oid is not None:
                    cache[oid] = found

    async def list_billable_work(self) -> list[dict[str, Any]]:
        """Every approved billable time entry and expense, as canonical records.

        Each record carries ``object_type`` (``time_entry`` or ``expense``); records that
        cannot be mapped are left out (their events carry the mapping error).
        """
        policy = RetryPolicy(max_attempts=10, base_delay=0.1, max_delay=5.0)
        wanted = {"approved": "true", "billable": "true"}
        raws = {
            "time_entry": await self.client.list_all("time_entries", wanted, policy=policy),
            "expense": await self.client.list_all("expenses", wanted, policy=policy),
        }
        everything = [raw for items in raws.values() for raw in items]
        await self._fetch("workspace", (_safe_id(o, "workspace_id") for o in everything))
        workspaces = [
            self._cache["workspace"].get(_safe_id(o, "workspace_id") or "") for o in everything
        ]
        await self._fetch("organization", (_safe_id(w, "organization_id") for w in workspaces))
        await self._fetch("user", (_safe_id(o, "user_id") for o in everything))
        lookups = _mapping.Lookups(
            workspaces=self._cache["workspace"],
            organizations=self._cache["organization"],
            users=self._cache["user"],
        )
        out = []
        for object_type, items in raws.items():
            for raw in items:
                try:
                    record = _mapping.map_record(object_type, raw, lookups)
                except _fields.FieldError:
                    continue
                out.append(record | {"object_type": object_type})
        return out

    # --- write-backs ---------------------------------------------------------------------

    async def mark_invoiced(
        self,
        *,
        project_id: str,
        time_entry_ids: list[str],
        expense_ids: list[str],
        milestone_ids: list[str],
        erp_invoice_id: str,
        idempotency_key: str,
    ) -> str:
        """Create a Kantata invoice for these items (once per idempotency key); return its id.

        Raises:
            PermanentError: Kantata refused the invoice (for example an item is not approved).
            AmbiguousError: the answer was lost; calling again with the same key is safe.
        """
        existing = await self.client.by_reference("invoices", idempotency_key)
        if existing:
            return str(existing[0]["id"])
        created = await self.client.create_invoice(
            {
                "workspace_id": project_id,
                "payment_schedule": 30,
                "time_entry_ids": list(time_entry_ids),
                "expense_ids": list(expense_ids),
                "billing_milestone_ids": list(milestone_ids),
                "draft": False,
                "suppress_emails": True,
                "user_invoice_number": erp_invoice_id,
                "external_reference": _reference("invoice", idempotency_key),
            }
        )
        return str(created["id"])

    async def record_payment(
        self,
        *,
        psa_invoice_id: str,
        amount: Decimal,
        currency: str,
        paid_on: dt.date,
        idempotency_key: str,
    ) -> str:
        """Record an external payment on the Kantata invoice (once per key); return its id.

        Raises:
            PermanentError: the amount is not whole cents, or Kantata refused the payment.
            AmbiguousError: the answer was lost; calling again with the same key is safe.
        """
        try:
            amount_in_cents = _fields.to_cents(amount)
        except ValueError as exc:
            raise errors.PermanentError(
                f"payment amount {exc}", connector="kantata", field="amount"
            ) from None
        existing = await self.client.by_reference("external_payments", idempotency_key)
        if existing:
            return str(existing[0]["id"])
        created = await self.client.create_external_payment(
            {
                "invoice_id": psa_invoice_id,
                "amount_in_cents": amount_in_cents,
                "currency": currency,
                "paid_on": paid_on.isoformat(),
                "external_reference": _reference("payment", idempotency_key),
            }
        )
        return str(created["id"])

    async def write_back_customer(
        self, customer: Customer, *, psa_id: str | None, idempotency_key: str
    ) -> str:
        """Update the organization's ERP-owned fields (name, email), or create it.

        Raises:
            PermanentError: Kantata refused the change or the organization does not exist.
            AmbiguousError: the answer was lost; calling again with the same key is safe.
        """
        fields: dict[str, Any] = {"name": customer.name, "email": customer.email}
        if psa_id is None:
            existing = await self.client.by_reference("organizations", idempotency_key)
            if not existing:
                created = await self.client.create_organization(
                    {
                        **fields,
                        "currency": customer.currency,
                        "external_reference": _reference("organization", idempotency_key),
                    }
                )
                return str(created["id"])
            psa_id = str(existing[0]["id"])
        updated = await self.client.update_organization(psa_id, fields)
        self._cache["organization"][str(updated["id"])] = updated
        return str(updated["id"])


def _safe_id(raw: Any, field: str) -> str | None:
    if not isinstance(raw, dict):
        return None
    try:
        return _fields.ident(raw, field, required=False)
    except _fields.FieldError:
        return None


def _payload(event: dict[str, Any]) -> Any:
    current = event.get("current_payload")
    return current if isinstance(current, dict) else event.get("previous_payload")


def _resource_name(event: dict[str, Any]) -> str:
    kind = event.get("event_type")
    return kind.split(":")[0] if isinstance(kind, str) else ""
