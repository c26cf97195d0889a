"""A Kantata OX (Mavenlink) API v1 sandbox (aiohttp).

Resources under ``/api/v1``: organizations, users, workspaces, stories, time_entries, expenses,
invoices and external_payments (paths also work with ``.json``), plus ``subscribed_events``.
Answers use Kantata's keyed-map shape ``{"count", "meta", "results": [{"key", "id"}], "<key>":
{id: object}}``, where ``results`` gives the order. Rules and defaults are described in
:mod:`ledgerbridge.sandboxes._psa_rules` and :mod:`ledgerbridge.sandboxes._psa_state`.

Choices where the fact sheet marks behaviour unconfirmed:

* Rate limit: ``rate_limit`` requests per ``rate_window_s`` seconds per token (default 100 per
  10 s), answered with 429, ``Retry-After`` (whole seconds) and an ``{"errors": [...]}`` body.
* Error bodies are ``{"errors": [{"type", "message", "field"?}]}``; 400 for bad paging
  parameters, 401 bad token, 404 missing object, 422 refused write.
* Related ids (``workspace_id``, ``invoice_id``...) are always present, without ``include``.
* A bulk create (a list under the plural key, at most 100) stops at the first invalid item;
  the items before it stay created.
* ``DELETE /<resource>/{id}`` answers 204.
* ``subscribed_events`` lists oldest first. With ``shuffle_window`` > 1 each page is shuffled
  within consecutive windows of that many events (seeded), imitating events that arrive slightly
  out of order; it is off by default.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from ledgerbridge.sandboxes import _faults, _limits, _psa_state
from ledgerbridge.sandboxes import _psa_rules as rules
from ledgerbridge.sandboxes._psa_state import RESOURCES

#: the largest page; more is refused with 400
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 20
MAX_BULK = 100
STATE_KEY = web.AppKey("psa_state", _psa_state.PsaState)
FAULTS_KEY = web.AppKey("psa_faults", _faults.FaultInjector)
_OPTIONAL = ("previous_payload", "current_payload", "payload_changes")
_SINGULAR = {singular: plural for plural, (singular, _) in RESOURCES.items()}
_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True, kw_only=True, slots=True)
class PsaConfig:
    """Settings of one PSA sandbox.

    Attributes:
        tokens: bearer tokens that are accepted.
        rate_limit: requests per window per token before 429; None switches the limit off.
        rate_window_s: the length of the rate-limit window.
        shuffle_window: shuffle subscribed events within windows of this size (0 or 1: off).
        seed: seed of the shuffle.
    """

    tokens: tuple[str, ...] = ("sandbox-token",)
    rate_limit: int | None = 100
    rate_window_s: float = 10.0
    shuffle_window: int = 0
    seed: int = 0


def _error(error: rules.PsaError) -> web.Response:
    return web.Response(
        body=_ENCODER.encode(error.body()), status=error.status, content_type="application/json"
    )


def _render_injected(status: int, kind: str) -> web.Response:
    message = "rate limit exceeded" if status == 429 else "service unavailable"
    return _error(rules.PsaError(status, message, kind="rate_limit" if status == 429 else "server"))


def keyed(
    key: str, objects: list[dict[str, Any]], *, total: int, page: int, per_page: int
) -> dict[str, Any]:
    """Return Kantata's keyed-map answer for one page of ``objects``."""
    meta = {
        "count": total,
        "page_count": math.ceil(total / per_page),
        "page_number": page,
        "page_size": per_page,
    }
    return {
        "count": total,
        "meta": meta,
        "results": [{"key": key, "id": o["id"]} for o in objects],
        key: {o["id"]: o for o in objects},
    }


def _int(query: Any, name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise rules.PsaError(400, f"{name} must be a whole number from {low} to {high}", field=name)
    return int(raw)


def _paging(query: Any) -> tuple[int, int]:
    return _int(query, "page", 1, 1, 10**9), _int(
        query, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE
    )


def _bool(raw: str, name: str) -> bool:
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise rules.PsaError(400, f"{name} must be true or false", field=name)


def _csv(raw: str | None) -> list[str]:
    return [x.strip() for x in raw.split(",") if x.strip()] if raw else []


class _Api:
    """The request handlers of one PSA sandbox."""

    def __init__(self, state: _psa_state.PsaState, config: PsaConfig) -> None:
        self.state = state
        self.config = config
        self.bearers = frozenset(f"Bearer {t}" for t in config.tokens)
        self.windows: dict[str, _limits.SlidingWindow] = {}
        self.rng = random.Random(config.seed)

    @web.middleware
    async def guard(self, request: web.Request, handler: _faults.Handler) -> web.StreamResponse:
        """Check auth and the rate limit for API routes, and render errors."""
        if not request.path.startswith("/api/"):
            return await handler(request)
        try:
            refused = self.check(request)
            return refused if refused is not None else await handler(request)
        except rules.PsaError as error:
            return _error(error)

    def check(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("Authorization", "")
        if token not in self.bearers:
            raise rules.PsaError(401, "invalid or missing bearer token", kind="authentication")
        if self.config.rate_limit is None:
            return None
        window = self.windows.get(token)
        if window is None:
            window = self.windows[token] = _limits.SlidingWindow(
                self.config.rate_limit, self.config.rate_window_s
            )
        now = time.monotonic()
        if window.allow(now):
            return None
        response = _error(rules.PsaError(429, "rate limit exceeded", kind="rate_limit"))
        response.headers["Retry-After"] = str(max(1, math.ceil(window.wait_s(now))))
        return response

    def ok(self, data: dict[str, Any]) -> web.Response:
        return web.Response(body=_ENCODER.encode(data), content_type="application/json")

    async def index(self, request: web.Request) -> web.Response:
        resource = _resource(request)
        page, per_page = _paging(request.query)
        with self.state.lock:
            total, objects = self.select(resource, request.query, page, per_page)
            return self.ok(keyed(resource, objects, total=total, page=page, per_page=per_page))

    def select(
        self, resource: str, query: Any, page: int, per_page: int
    ) -> tuple[int, list[dict[str, Any]]]:
        table = self.state.tables[resource]
        start = (page - 1) * per_page
        filters = {
            k: v
            for k, v in query.items()
            if k not in ("page", "per_page", "include", "optional_fields")
        }
        if not filters:
            return len(table), list(itertools.islice(table.values(), start, start + per_page))
        rows = [o for o in self.candidates(resource, filters) if _matches(o, filters)]
        order = filters.get("order")
        if order:
            field, _, direction = order.partition(":")
            rows.sort(
                key=lambda o: (o.get(field) is not None, str(o.get(field, ""))),
                reverse=direction == "desc",
            )
        return len(rows), rows[start : start + per_page]

    def candidates(self, resource: str, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        table = self.state.tables[resource]
        ids: Iterable[str] | None = None
        if "only" in filters:
            ids = _csv(filters["only"])
        elif refs := _csv(filters.get("external_reference_service_model_refs")) or _csv(
            filters.get("external_reference_service_model_ref")
        ):
            ids = dict.fromkeys(i for r in refs for i in self.state.by_ref.get((resource, r), {}))
        elif "workspace_id" in filters and resource in ("stories", "time_entries", "expenses"):
            ids = self.state.by_workspace.get((resource, filters["workspace_id"]), {})
        if ids is None:
            return table.values()
        return [table[i] for i in ids if i in table]

    async def read(self, request: web.Request) -> web.Response:
        resource = _resource(request)
        found = self.state.get(resource, request.match_info["id"])
        return self.ok(keyed(resource, [found], total=1, page=1, per_page=1))

    async def create(self, request: web.Request) -> web.Response:
        resource = _resource(request)
        body = await _body(request)
        singular = RESOURCES[resource][0]
        items = body.get(resource) if resource in body else [body.get(singular)]
        if not isinstance(items, list) or not items or len(items) > MAX_BULK:
            raise rules.PsaError(
                400, f"send one object under {singular!r} or 1 to {MAX_BULK} under {resource!r}"
            )
        created = []
        for item in items:
            if not isinstance(item, dict):
                raise rules.PsaError(400, f"{singular} must be an object", field=singular)
            created.append(self.state.create(resource, item))
        return self.ok(
            keyed(resource, created, total=len(created), page=1, per_page=max(len(created), 1))
        )

    async def update(self, request: web.Request) -> web.Response:
        resource = _resource(request)
        singular = RESOURCES[resource][0]
        fields = (await _body(request)).get(singular)
        if not isinstance(fields, dict):
            raise rules.PsaError(400, f"send the changes under {singular!r}", field=singular)
        updated = self.state.update(resource, request.match_info["id"], fields)
        return self.ok(keyed(resource, [updated], total=1, page=1, per_page=1))

    async def delete(self, request: web.Request) -> web.Response:
        self.state.delete(_resource(request), request.match_info["id"])
        return web.Response(status=204)

    async def events(self, request: web.Request) -> web.Response:
        query = request.query
        page, per_page = _paging(query)
        after = _time(query.get("created_after"), "created_after")
        before = _time(query.get("created_before"), "created_before")
        types = set(_csv(query.get("event_types")))
        optional = [f for f in _csv(query.get("optional_fields")) if f in _OPTIONAL]
        subject = (query.get("subject_type"), query.get("subject_id"))
        with self.state.lock:
            rows = [
                e
                for e in self.state.events_after(after)
                if (not types or e["event_type"] in types)
                and (before is None or e["created_at"] < before)
                and (subject[0] is None or e["subject_type"] == subject[0])
                and (subject[1] is None or e["subject_id"] == subject[1])
            ]
            chosen = self.shuffle(rows[(page - 1) * per_page : page * per_page])
            shown = [_event_view(e, optional) for e in chosen]
        return self.ok(
            keyed("subscribed_events", shown, total=len(rows), page=page, per_page=per_page)
        )

    def shuffle(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        size = self.config.shuffle_window
        if size < 2:
            return rows
        out: list[dict[str, Any]] = []
        for i in range(0, len(rows), size):
            chunk = rows[i : i + size]
            self.rng.shuffle(chunk)
            out.extend(chunk)
        return out


def _matches(obj: dict[str, Any], filters: dict[str, str]) -> bool:
    return not any(_fails(obj, name, raw) for name, raw in filters.items())


def _fails(obj: dict[str, Any], name: str, raw: str) -> bool:
    if name == "updated_after":
        return bool(obj["updated_at"] <= (_time(raw, name) or ""))
    if name in ("approved", "billable"):
        return obj.get(name) != _bool(raw, name)
    if name == "workspace_id":
        return obj.get("workspace_id") != raw
    if name == "workspace_ids":
        return obj.get("workspace_id") not in _csv(raw)
    if name in ("invoiced", "uninvoiced"):
        return bool(obj.get("is_invoiced")) != (name == "invoiced")
    return False


def _event_view(event: dict[str, Any], optional: list[str]) -> dict[str, Any]:
    view = {
        k: event[k]
        for k in ("id", "event_type", "subject_type", "subject_id", "workspace_id", "created_at")
    }
    for field in optional:
        view[field] = event[field]
    return view


def _time(raw: str | None, name: str) -> str | None:
    if raw is None:
        return None
    try:
        return _psa_state.stamp(raw)
    except ValueError:
        raise rules.PsaError(400, f"{name} must be an ISO 8601 time", field=name) from None


def _resource(request: web.Request) -> str:
    name = request.match_info["resource"].removesuffix(".json")
    if name not in RESOURCES:
        raise rules.PsaError(404, f"unknown resource {name[:40]}", kind="not_found")
    return name


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = msgspec.json.decode(await request.read())
    except msgspec.DecodeError:
        raise rules.PsaError(400, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise rules.PsaError(400, "the request body must be a JSON object")
    return body


def create_app(
    config: PsaConfig | None = None,
    *,
    faults: _faults.FaultPlan | None = None,
    state: _psa_state.PsaState | None = None,
) -> web.Application:
    """Build the PSA sandbox application.

    Args:
        config: the sandbox settings (default: one token ``sandbox-token``).
        faults: the fault plan in force at startup.
        state: the state to serve; a new one is made when omitted.

    Returns:
        The aiohttp application; ``app[STATE_KEY]`` and ``app[FAULTS_KEY]`` reach its parts.
    """
    config = config or PsaConfig()
    state = state or _psa_state.PsaState()
    injector = _faults.FaultInjector(faults, render_error=_render_injected)
    api = _Api(state, config)
    app = web.Application(middlewares=[injector.middleware, api.guard])
    app[STATE_KEY] = state
    app[FAULTS_KEY] = injector
    app.router.add_get("/api/v1/subscribed_events", api.events)
    app.router.add_get("/api/v1/{resource}", api.index)
    app.router.add_post("/api/v1/{resource}", api.create)
    app.router.add_get("/api/v1/{resource}/{id}", api.read)
    app.router.add_put("/api/v1/{resource}/{id}", api.update)
    app.router.add_delete("/api/v1/{resource}/{id}", api.delete)
    injector.add_admin_routes(app)
    _admin_routes(app, state, injector)
    return app


def _admin_routes(
    app: web.Application, state: _psa_state.PsaState, injector: _faults.FaultInjector
) -> None:
    async def activity(request: web.Request) -> web.Response:
        try:
            ops = msgspec.json.decode(await request.read())
            if not isinstance(ops, list):
                raise ValueError("expected a JSON list of activity operations")
            applied = state.apply_many(ops)
        except (ValueError, msgspec.DecodeError) as exc:
            return _faults.json_response({"error": str(exc)}, status=400)
        return _faults.json_response({"applied": applied, "skipped": len(ops) - applied})

    async def get_state(request: web.Request) -> web.Response:
        return _faults.json_response({"counts": state.counts(), "last_seq": state.last_seq})

    async def reset(request: web.Request) -> web.Response:
        state.reset()
        injector.reset_stats()
        return _faults.json_response({"reset": True})

    app.router.add_post("/_admin/activity", activity)
    app.router.add_get("/_admin/state", get_state)
    app.router.add_post("/_admin/reset", reset)
