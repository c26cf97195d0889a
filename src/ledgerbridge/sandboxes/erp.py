"""A QuickBooks Online Accounting API v3 sandbox (aiohttp).

Routes, under ``/v3/company/{realmId}``: ``POST /{entity}`` creates, or updates when the body
has ``Id`` and ``SyncToken`` (``"sparse": true`` for a partial update); ``POST
/{entity}?operation=delete``; ``GET /{entity}/{id}``; ``GET /query?query=`` or ``POST /query``
with the statement as a text body; ``GET /cdc?entities=&changedSince=``. Entities: Account,
Customer, Employee, Vendor, Item, TimeActivity, Invoice, Payment and Purchase (the billable
expense charge, see :mod:`ledgerbridge.sandboxes._erp_entities`).

Behaviour, following the fact sheet; choices where it is unconfirmed are marked *chosen*:

* Bearer tokens are fixed at startup; any other token gets 401 with a gateway Fault (code 3200).
  *Chosen:* the gateway body uses the capitalised ``Fault``/``Error`` keys like every other Fault.
* A company gets 429 (Fault 3001, ``type: SERVICE``) beyond ``per_second`` (10) or
  ``per_minute`` (500) requests in a sliding window; no ``Retry-After`` is sent, as documented
  (clients wait 60 s). Limits are configurable and can be switched off for benchmarks.
* ``requestid`` (at most 50 characters, unique per company) makes a write idempotent: a repeat
  gets the first answer byte for byte, with no new write. *Chosen:* answers are kept for the life
  of the sandbox, refusals included.
* ``minorversion`` is accepted; every value behaves as 75 (nothing here differs by version).
* Amounts are JSON numbers, parsed as Decimal and written with the currency's minor units.
* *Chosen:* a query with no match answers ``{"QueryResponse": {}}`` (as the service does);
  ``MAXRESULTS`` above 1000 is capped at 1000.
* MetaData times have seconds precision in UTC.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import web

from ledgerbridge.sandboxes import _erp_state, _erp_webhooks, _faults, _limits
from ledgerbridge.sandboxes import _qbo_common as qc

#: the longest ``requestid`` the service accepts
MAX_REQUEST_ID = 50
STATE_KEY = web.AppKey("erp_state", _erp_state.ErpState)
FAULTS_KEY = web.AppKey("erp_faults", _faults.FaultInjector)
_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_PREFIX = "/v3/company/{realm}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ErpConfig:
    """Settings of one ERP sandbox.

    Attributes:
        tokens: bearer tokens that are accepted.
        realms: company ids that exist; None accepts any company id.
        currency: home currency of every company.
        throttle: whether the per-company request limits apply.
        per_second: requests per second per company before 429.
        per_minute: requests per minute per company before 429.
        webhook_urls: receivers of change notifications.
        webhook_verifier: the verifier token that signs notifications.
        webhook_format: ``"legacy"`` or ``"cloudevents"``.
        webhook_batch_ms: how long notifications gather before one delivery.
    """

    tokens: tuple[str, ...] = ("sandbox-token",)
    realms: tuple[str, ...] | None = None
    currency: str = "USD"
    throttle: bool = True
    per_second: int = 10
    per_minute: int = 500
    webhook_urls: tuple[str, ...] = ()
    webhook_verifier: str = "sandbox-verifier"
    webhook_format: str = "legacy"
    webhook_batch_ms: int = 200


class _Gate:
    """Bearer check and per-company throttling."""

    def __init__(self, config: ErpConfig) -> None:
        self.bearers = frozenset(f"Bearer {t}" for t in config.tokens)
        self.config = config
        self.windows: dict[str, tuple[_limits.SlidingWindow, ...]] = {}

    def check(self, request: web.Request) -> None:
        if request.headers.get("Authorization") not in self.bearers:
            raise qc.gateway_fault(401)
        if not self.config.throttle:
            return
        realm = request.match_info.get("realm", "")
        windows = self.windows.get(realm)
        if windows is None:
            limits = self.config
            windows = (
                _limits.SlidingWindow(limits.per_second, 1.0),
                _limits.SlidingWindow(limits.per_minute, 60.0),
            )
            self.windows[realm] = windows
        now = time.monotonic()
        if not all(w.allow(now) for w in windows):
            raise qc.gateway_fault(429)


def _fault_response(fault: qc.QboFault) -> web.Response:
    body = _ENCODER.encode(fault.body(qc.response_time(dt.datetime.now(dt.UTC))))
    return web.Response(body=body, status=fault.status, content_type="application/json")


def _render_injected(status: int, kind: str) -> web.Response:
    return _fault_response(qc.gateway_fault(status))


def _is_write(request: web.Request) -> bool:
    return request.method == "POST" and not request.path.endswith(("/query", "/cdc"))


class _Api:
    """The request handlers of one ERP sandbox."""

    def __init__(self, state: _erp_state.ErpState, gate: _Gate) -> None:
        self.state = state
        self.gate = gate

    @web.middleware
    async def guard(self, request: web.Request, handler: _faults.Handler) -> web.StreamResponse:
        """Check auth and limits for the API routes, and render Faults."""
        if not request.path.startswith("/v3/"):
            return await handler(request)
        try:
            self.gate.check(request)
            return await handler(request)
        except qc.QboFault as fault:
            return _fault_response(fault)

    def envelope(self, key: str, value: Any) -> bytes:
        return _ENCODER.encode({key: value, "time": qc.response_time(self.state.clock())})

    def respond(self, body: bytes) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def write(self, request: web.Request) -> web.Response:
        realm = request.match_info["realm"]
        entity = _entity(request)
        request_id = request.query.get("requestid")
        if request_id is not None and len(request_id) > MAX_REQUEST_ID:
            raise qc.invalid("requestid", f"at most {MAX_REQUEST_ID} characters")
        raw = await request.read()
        if request_id is not None:
            answer = self.state.replay(realm, request_id)
            if answer is not None:
                return web.Response(
                    body=answer[1], status=answer[0], content_type="application/json"
                )
        try:
            status, body = 200, self.apply(request, realm, entity, raw)
        except qc.QboFault as fault:
            status = fault.status
            body = _ENCODER.encode(fault.body(qc.response_time(self.state.clock())))
        if request_id is not None:
            self.state.remember(realm, request_id, (status, body))
        return web.Response(body=body, status=status, content_type="application/json")

    def apply(self, request: web.Request, realm: str, entity: str, raw: bytes) -> bytes:
        try:
            doc = _DECODER.decode(raw)
        except msgspec.DecodeError:
            raise qc.invalid("body", "the request body is not valid JSON") from None
        if not isinstance(doc, dict):
            raise qc.invalid("body", "expected a JSON object")
        operation = request.query.get("operation")
        if operation == "delete":
            return self.envelope(entity, self.state.delete(realm, entity, doc))
        if "Id" in doc or operation == "update":
            return self.envelope(entity, self.state.update(realm, entity, doc))
        return self.envelope(entity, self.state.create(realm, entity, doc))

    async def read(self, request: web.Request) -> web.Response:
        entity = _entity(request)
        found = self.state.read(request.match_info["realm"], entity, request.match_info["id"])
        return self.respond(self.envelope(entity, found))

    async def query(self, request: web.Request) -> web.Response:
        statement = request.query.get("query")
        if request.method == "POST":
            statement = (await request.read()).decode("utf-8", "replace")
        if not statement:
            raise qc.QboFault("4000", "Error parsing query", "QueryParserError: no query given")
        result = self.state.query(request.match_info["realm"], statement)
        return self.respond(self.envelope("QueryResponse", result))

    async def cdc(self, request: web.Request) -> web.Response:
        entities = [e for e in request.query.get("entities", "").split(",") if e]
        since_text = request.query.get("changedSince", "")
        try:
            since = dt.datetime.fromisoformat(since_text)
        except ValueError:
            raise qc.invalid("changedSince", "expected an ISO 8601 date-time") from None
        since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
        found = self.state.cdc(request.match_info["realm"], entities, since)
        return self.respond(self.envelope("CDCResponse", [{"QueryResponse": found}]))


def _entity(request: web.Request) -> str:
    name = qc.ENTITY_BY_PATH.get(request.match_info["entity"].lower())
    if name is None:
        raise qc.QboFault(
            "500",
            "Unsupported Operation",
            f"Unsupported entity {request.match_info['entity'][:40]}",
        )
    return name


def create_app(
    config: ErpConfig | None = None,
    *,
    faults: _faults.FaultPlan | None = None,
    state: _erp_state.ErpState | None = None,
) -> web.Application:
    """Build the ERP sandbox application.

    Args:
        config: the sandbox settings (defaults: one token ``sandbox-token``, any company).
        faults: the fault plan in force at startup.
        state: the state to serve; a new one is made when omitted.

    Returns:
        The aiohttp application; ``app[STATE_KEY]`` and ``app[FAULTS_KEY]`` reach its parts.
    """
    config = config or ErpConfig()
    dispatcher = _erp_webhooks.WebhookDispatcher(
        config.webhook_urls,
        config.webhook_verifier,
        fmt=config.webhook_format,
        batch_ms=config.webhook_batch_ms,
    )
    state = state or _erp_state.ErpState(realms=config.realms, currency=config.currency)
    if config.webhook_urls:
        state.on_change = dispatcher.record
    injector = _faults.FaultInjector(faults, render_error=_render_injected, is_write=_is_write)
    api = _Api(state, _Gate(config))
    app = web.Application(middlewares=[injector.middleware, api.guard])
    app[STATE_KEY] = state
    app[FAULTS_KEY] = injector
    _routes(app, api)
    injector.add_admin_routes(app)
    _admin_routes(app, state, injector, dispatcher)
    app.on_startup.append(dispatcher.start)
    app.on_cleanup.append(dispatcher.stop)
    return app


def _routes(app: web.Application, api: _Api) -> None:
    app.router.add_get(f"{_PREFIX}/query", api.query)
    app.router.add_post(f"{_PREFIX}/query", api.query)
    app.router.add_get(f"{_PREFIX}/cdc", api.cdc)
    app.router.add_get(f"{_PREFIX}/{{entity}}/{{id}}", api.read)
    app.router.add_post(f"{_PREFIX}/{{entity}}", api.write)


def _admin_routes(
    app: web.Application,
    state: _erp_state.ErpState,
    injector: _faults.FaultInjector,
    dispatcher: _erp_webhooks.WebhookDispatcher,
) -> None:
    async def get_state(request: web.Request) -> web.Response:
        webhooks = {"delivered": dispatcher.delivered, "failed": dispatcher.failed}
        return _faults.json_response({"realms": state.counts(), "webhooks": webhooks})

    async def reset(request: web.Request) -> web.Response:
        state.reset()
        injector.reset_stats()
        return _faults.json_response({"reset": True})

    app.router.add_get("/_admin/state", get_state)
    app.router.add_post("/_admin/reset", reset)


def tokens_from(values: Sequence[str]) -> tuple[str, ...]:
    """Return the tokens to accept, refusing an empty list.

    Raises:
        ValueError: when no token is given.
    """
    tokens = tuple(v for v in values if v)
    if not tokens:
        raise ValueError("give at least one bearer token")
    return tokens
