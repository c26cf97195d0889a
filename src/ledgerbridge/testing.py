"""Fakes that tests, the benchmark and partners' own test suites use.

- ``memory`` connector: an in-memory recording target that deduplicates writes by
  idempotency key, the way QuickBooks' ``requestid`` does, and can be told to fail.
- ``http-recorder`` connector and :class:`RecordingServer`: the same over real HTTP on
  loopback, for tests that kill worker processes.
- step kinds ``memory.apply`` and ``http.post`` that write the event's record to them.
- :func:`assert_eventually`: wait for a condition without bare sleeps.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from ledgerbridge import errors
from ledgerbridge.connectors import BaseConnector, register
from ledgerbridge.engine.step import StepContext, step_kind

__all__ = [
    "MemoryConnector",
    "MemoryTarget",
    "RecordingServer",
    "assert_eventually",
]


@dataclass
class MemoryTarget:
    """A recording target: final state per entity, and every effect applied."""

    name: str
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    effects: list[tuple[str, str]] = field(default_factory=list)  # (idempotency key, entity)
    applied: list[tuple[str, int]] = field(default_factory=list)  # (entity, version) in order
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_plan: list[Exception] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def named(cls, name: str) -> MemoryTarget:
        """Return the process-wide target called ``name``, creating it when new."""
        targets = _TARGETS
        if name not in targets:
            targets[name] = cls(name=name)
        return targets[name]

    @classmethod
    def reset(cls, name: str) -> MemoryTarget:
        """Forget the target called ``name`` and return a fresh one."""
        _TARGETS.pop(name, None)
        return cls.named(name)

    def apply(self, entity: str, version: int, record: dict[str, Any], key: str) -> dict[str, Any]:
        """Apply a write once per idempotency key; a repeat returns the first response."""
        with self.lock:
            if self.fail_plan:
                raise self.fail_plan.pop(0)
            if key in self.responses:
                return self.responses[key]
            self.effects.append((key, entity))
            self.applied.append((entity, version))
            if version >= self.versions.get(entity, -1):
                self.state[entity] = dict(record)
                self.versions[entity] = version
            response = {"id": f"{self.name}-{len(self.effects)}", "entity": entity}
            self.responses[key] = response
            return response


_TARGETS: dict[str, MemoryTarget] = {}


@register("memory")
class MemoryConnector(BaseConnector):
    """Connector over a :class:`MemoryTarget` (settings: ``{"target": name}``)."""

    def __init__(self, settings: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(settings)
        self.target = MemoryTarget.named(str(settings.get("target", "default")))

    async def ping(self) -> None:
        """Always reachable."""

    async def apply(
        self, entity: str, version: int, record: dict[str, Any], key: str
    ) -> dict[str, Any]:
        """Write ``record`` for ``entity``."""
        return self.target.apply(entity, version, record, key)


@step_kind("memory.apply")
async def _memory_apply(ctx: StepContext) -> dict[str, Any]:
    connector = ctx.connector()
    ctx.about_to_write = ctx.record
    result: dict[str, Any] = await connector.apply(
        ctx.event.entity_key, ctx.event.source_version, ctx.record, ctx.idempotency_key
    )
    ctx.set_xref(ctx.event.object_type, ctx.event.external_id, connector.kind, result["id"])
    return result


class RecordingServer:
    """An HTTP target on loopback that records writes and deduplicates by Idempotency-Key."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.effects: list[dict[str, Any]] = []
        self.replays = 0
        self._responses: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        key = request.headers.get("Idempotency-Key", "")
        try:
            body = await request.json()
        except ConnectionResetError:  # the client died mid-request: nothing was applied
            return web.Response(status=499)
        with self._lock:
            if key and key in self._responses:
                self.replays += 1
                return web.json_response(self._responses[key])
            self.effects.append({"key": key, "body": body})
            response = {"id": f"rec-{len(self.effects)}"}
            if key:
                self._responses[key] = response
        return web.json_response(response, status=201)

    async def _list(self, _request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response({"effects": self.effects, "replays": self.replays})

    def start(self) -> RecordingServer:
        """Start serving in a background thread; return self."""
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/effects", self._handle)
            app.router.add_get("/effects", self._list)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True, name="recording-server")
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        """Stop the server."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@register("http-recorder")
class HttpRecorderConnector(BaseConnector):
    """Posts records to a :class:`RecordingServer` (settings: ``{"url": ...}``)."""

    def __init__(
        self,
        settings: dict[str, Any],
        *,
        session: aiohttp.ClientSession | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(settings)
        self.session = session

    async def ping(self) -> None:
        """GET the effects list."""
        assert self.session is not None
        async with self.session.get(f"{self.settings['url']}/effects") as response:
            response.raise_for_status()

    async def post(self, record: dict[str, Any], key: str) -> dict[str, Any]:
        """POST one record with its idempotency key."""
        assert self.session is not None
        timeout = aiohttp.ClientTimeout(total=10)
        try:
            async with self.session.post(
                f"{self.settings['url']}/effects",
                json=record,
                headers={"Idempotency-Key": key},
                timeout=timeout,
            ) as response:
                if response.status >= 500:
                    raise errors.TransientError(
                        f"recorder answered {response.status}", status_code=response.status
                    )
                result: dict[str, Any] = await response.json()
                return result
        except aiohttp.ClientConnectorError as exc:
            raise errors.TransientError("recorder unreachable", internal_detail=str(exc)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.AmbiguousError(
                "recorder connection lost after sending", internal_detail=str(exc)
            ) from exc


@step_kind("http.post")
async def _http_post(ctx: StepContext) -> dict[str, Any]:
    connector = ctx.connector()
    ctx.about_to_write = ctx.record
    return dict(
        await connector.post(
            {"entity": ctx.event.entity_key, "record": ctx.record}, ctx.idempotency_key
        )
    )


def assert_eventually(
    condition: Callable[[], Any],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "condition not met",
) -> Any:
    """Poll ``condition`` until it returns a truthy value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} within {timeout}s")
        time.sleep(interval)
