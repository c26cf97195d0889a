"""A stand-alone HTTP fault proxy: forwards every request to a target through a FaultPlan.

The proxy applies the sandboxes' :class:`~ledgerbridge.sandboxes.FaultInjector` to any HTTP
service (a Tryton server, a vendor sandbox, our own API): 5xx answers, 429 bursts with
``Retry-After``, connection resets, latency, and the ambiguous case, where the request reaches
the target and is applied there but the answer never reaches the caller. ``/_admin/faults``
and ``/_admin/stats`` read and change the plan and count what was injected, as on a sandbox.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from ledgerbridge import sandboxes

__all__ = ["TARGET_TIMEOUT_S", "FaultProxy", "create_app"]

#: how long the proxy waits for the target before answering 504
TARGET_TIMEOUT_S = 60.0
# Headers that describe one hop, not the message; never forwarded (RFC 9110 section 7.6.1).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
    }
)
_SESSION_KEY = web.AppKey("proxy_session", aiohttp.ClientSession)
_INJECTOR_KEY = web.AppKey("proxy_injector", sandboxes.FaultInjector)
_ENCODER = msgspec.json.Encoder()


def _render_error(status: int, kind: str) -> web.Response:
    message = "rate limit exceeded" if status == 429 else "service unavailable"
    body = {"error": {"status": status, "message": message, "injected": kind}}
    return web.Response(body=_ENCODER.encode(body), status=status, content_type="application/json")


def _forward_headers(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}


def create_app(target: str, plan: sandboxes.FaultPlan | None = None) -> web.Application:
    """Build the proxy application that forwards to ``target`` (``http://host:port``).

    Raises:
        ValueError: the target is not an http(s) URL.
    """
    target = target.rstrip("/")
    if not target.startswith(("http://", "https://")):
        raise ValueError(f"proxy target must be an http:// or https:// URL, not {target!r}")
    injector = sandboxes.FaultInjector(plan, render_error=_render_error)
    app = web.Application(middlewares=[injector.middleware], client_max_size=64 * 1024 * 1024)
    app[_INJECTOR_KEY] = injector
    injector.add_admin_routes(app)

    async def open_session(app: web.Application) -> Any:
        timeout = aiohttp.ClientTimeout(total=TARGET_TIMEOUT_S)
        app[_SESSION_KEY] = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        yield
        await app[_SESSION_KEY].close()

    async def forward(request: web.Request) -> web.Response:
        url = f"{target}{request.rel_url}"
        body = await request.read()
        session = request.app[_SESSION_KEY]
        try:
            async with session.request(
                request.method,
                url,
                headers=_forward_headers(request.headers),
                data=body or None,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                return web.Response(
                    body=payload,
                    status=upstream.status,
                    headers=_forward_headers(upstream.headers),
                )
        except TimeoutError:
            return _gateway_error(504, f"the target {target} did not answer in time")
        except aiohttp.ClientError as exc:
            return _gateway_error(502, f"the target {target} failed: {type(exc).__name__}")

    app.cleanup_ctx.append(open_session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def _gateway_error(status: int, message: str) -> web.Response:
    body = {"error": {"status": status, "message": message}}
    return web.Response(body=_ENCODER.encode(body), status=status, content_type="application/json")


class FaultProxy:
    """A fault proxy running on loopback in a background thread: ``.url``, ``.injector``.

    Args:
        target: the base URL requests are forwarded to.
        plan: the faults to inject; None injects nothing until a plan is PUT.
        port: the port to listen on; 0 picks a free one.
    """

    def __init__(
        self, target: str, plan: sandboxes.FaultPlan | None = None, *, port: int = 0
    ) -> None:
        self.app = create_app(target, plan)
        self.injector = self.app[_INJECTOR_KEY]
        self._server = sandboxes.SandboxServer(self.app, state=self.injector, port=port)

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return self._server.url

    def start(self) -> FaultProxy:
        """Start listening; return once the port is bound."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop listening; calling it twice is harmless."""
        self._server.stop()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
