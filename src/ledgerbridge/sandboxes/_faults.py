"""Fault injection for the sandboxes: a plan, the middleware that applies it, and its admin routes.

A :class:`FaultPlan` says how often each kind of fault happens. :class:`FaultInjector` holds the
live plan, a seeded random generator and the counters; its aiohttp middleware decides per request:

* ``drop_connection`` closes the transport without sending a response;
* ``error_5xx`` answers 503 with the sandbox's own error body, without running the handler;
* ``throttle_429`` answers 429 with ``Retry-After``; once triggered, it repeats for
  ``throttle_burst`` consecutive requests in total;
* ``latency_rate`` adds ``latency_ms`` plus up to ``latency_jitter_ms`` before the handler runs;
* ``ambiguous`` (writes only) runs the handler, so the write is applied, and then either drops the
  connection (``ambiguous_mode="drop"``) or holds the answer for ``ambiguous_hold_s`` seconds and
  drops it (``ambiguous_mode="timeout"``), so the client never sees the result.

Paths under ``/_admin`` are never faulted. ``GET/PUT /_admin/faults`` read and replace the plan
(a PUT with a partial document keeps the other fields at their defaults and re-seeds the
generator); ``GET /_admin/stats`` returns request and fault counts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import msgspec
from aiohttp import web

#: the fault kinds, as counted in ``/_admin/stats``
FAULT_KINDS = ("ambiguous", "drop_connection", "error_5xx", "latency", "throttle_429")
_RATE_FIELDS = ("error_5xx", "throttle_429", "latency_rate", "drop_connection", "ambiguous")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorRenderer = Callable[[int, str], web.Response]
WritePredicate = Callable[[web.Request], bool]


@dataclass(frozen=True, kw_only=True, slots=True)
class FaultPlan:
    """How often each kind of fault is injected; rates are probabilities between 0 and 1.

    Attributes:
        error_5xx: rate of 503 answers (the handler does not run).
        throttle_429: rate at which a burst of 429 answers starts.
        throttle_burst: number of consecutive 429 answers in one burst.
        retry_after_s: value of the ``Retry-After`` header on injected 429 answers.
        latency_rate: rate of requests that get extra latency.
        latency_ms: the extra latency in milliseconds.
        latency_jitter_ms: up to this many more milliseconds, drawn uniformly.
        drop_connection: rate of connections closed without a response.
        ambiguous: rate of writes that are applied but whose answer is lost.
        ambiguous_mode: ``"drop"`` closes the connection; ``"timeout"`` holds it first.
        ambiguous_hold_s: how long ``"timeout"`` holds the answer before closing.
        seed: seed of the random generator; None draws a fresh one.
    """

    error_5xx: float = 0.0
    throttle_429: float = 0.0
    throttle_burst: int = 1
    retry_after_s: int = 1
    latency_rate: float = 1.0
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    drop_connection: float = 0.0
    ambiguous: float = 0.0
    ambiguous_mode: str = "drop"
    ambiguous_hold_s: float = 30.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in _RATE_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"fault plan: {name} must be a number, not {value!r}")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault plan: {name} must be between 0 and 1, not {value}")
        for name in ("throttle_burst", "retry_after_s", "latency_ms", "latency_jitter_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"fault plan: {name} must be a whole number >= 0, not {value!r}")
        if self.throttle_burst < 1:
            raise ValueError("fault plan: throttle_burst must be at least 1")
        if self.ambiguous_mode not in ("drop", "timeout"):
            raise ValueError("fault plan: ambiguous_mode must be 'drop' or 'timeout'")
        if self.ambiguous_hold_s < 0:
            raise ValueError("fault plan: ambiguous_hold_s must be >= 0")

    @property
    def is_quiet(self) -> bool:
        """Whether the plan injects nothing at all."""
        no_rates = not any(getattr(self, n) for n in _RATE_FIELDS if n != "latency_rate")
        return no_rates and not (self.latency_rate and self.latency_ms + self.latency_jitter_ms)

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> FaultPlan:
        """Build a plan from a JSON document; unknown keys are refused.

        Raises:
            ValueError: when the document is not an object, has unknown keys or bad values.
        """
        if not isinstance(data, dict):
            raise ValueError("fault plan: expected a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"fault plan: unknown field(s) {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"fault plan: {exc}") from None


class FaultInjector:
    """The live fault plan of one sandbox, its random generator and its counters."""

    def __init__(
        self,
        plan: FaultPlan | None = None,
        *,
        render_error: ErrorRenderer,
        is_write: WritePredicate | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._render_error = render_error
        self._is_write = is_write or (lambda request: request.method in _WRITE_METHODS)
        self.requests = 0
        self.faults: Counter[str] = Counter()
        self.set_plan(plan or FaultPlan())

    @property
    def plan(self) -> FaultPlan:
        """The plan in force."""
        return self._plan

    def set_plan(self, plan: FaultPlan) -> None:
        """Replace the plan and re-seed the generator."""
        with self._lock:
            self._plan = plan
            self._rng = random.Random(plan.seed)
            self._burst_left = 0

    def stats(self) -> dict[str, Any]:
        """Return request and fault counts."""
        with self._lock:
            faults = {kind: self.faults.get(kind, 0) for kind in FAULT_KINDS}
            return {"requests": self.requests, "faults": faults}

    def reset_stats(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self.requests = 0
            self.faults.clear()

    def _decide(self, is_write: bool) -> tuple[str | None, float]:
        """Pick the fault for one request: (kind or None, latency in seconds)."""
        plan, rng = self._plan, self._rng
        with self._lock:
            self.requests += 1
            if plan.is_quiet:
                return None, 0.0
            delay = 0.0
            if plan.latency_ms + plan.latency_jitter_ms and rng.random() < plan.latency_rate:
                delay = (plan.latency_ms + rng.random() * plan.latency_jitter_ms) / 1000.0
                self.faults["latency"] += 1
            kind: str | None = None
            if self._burst_left > 0:
                self._burst_left -= 1
                kind = "throttle_429"
            elif rng.random() < plan.drop_connection:
                kind = "drop_connection"
            elif rng.random() < plan.error_5xx:
                kind = "error_5xx"
            elif rng.random() < plan.throttle_429:
                self._burst_left = plan.throttle_burst - 1
                kind = "throttle_429"
            elif is_write and rng.random() < plan.ambiguous:
                kind = "ambiguous"
            if kind is not None:
                self.faults[kind] += 1
            return kind, delay

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Apply the plan to every request outside ``/_admin``."""
        if request.path.startswith("/_admin"):
            return await handler(request)
        kind, delay = self._decide(self._is_write(request))
        if delay:
            await asyncio.sleep(delay)
        if kind is None:
            return await handler(request)
        if kind == "drop_connection":
            _drop(request)
        if kind == "error_5xx":
            return self._render_error(503, "error_5xx")
        if kind == "throttle_429":
            response = self._render_error(429, "throttle_429")
            response.headers["Retry-After"] = str(self._plan.retry_after_s)
            return response
        await handler(request)
        if self._plan.ambiguous_mode == "timeout":
            await asyncio.sleep(self._plan.ambiguous_hold_s)
        _drop(request)

    def add_admin_routes(self, app: web.Application) -> None:
        """Register ``GET/PUT /_admin/faults`` and ``GET /_admin/stats`` on ``app``."""
        app.router.add_get("/_admin/faults", self._get_faults)
        app.router.add_put("/_admin/faults", self._put_faults)
        app.router.add_get("/_admin/stats", self._get_stats)

    async def _get_faults(self, request: web.Request) -> web.Response:
        return json_response(self._plan.to_dict())

    async def _put_faults(self, request: web.Request) -> web.Response:
        try:
            plan = FaultPlan.from_dict(msgspec.json.decode(await request.read()))
        except (ValueError, msgspec.DecodeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        self.set_plan(plan)
        return json_response(plan.to_dict())

    async def _get_stats(self, request: web.Request) -> web.Response:
        return json_response(self.stats())


def _drop(request: web.Request) -> NoReturn:
    """Close the connection without a response; the handler task ends here."""
    if request.transport is not None:
        request.transport.abort()
    # Cancelling is how aiohttp ends a handler quietly once its peer is gone.
    raise asyncio.CancelledError


_ENCODER = msgspec.json.Encoder(decimal_format="number")


def json_response(data: Any, *, status: int = 200) -> web.Response:
    """Encode ``data`` (Decimals as JSON numbers) into an ``application/json`` response."""
    return web.Response(body=_ENCODER.encode(data), status=status, content_type="application/json")
