"""Run a sandbox application on loopback in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

_START_TIMEOUT_S = 10.0
_SHUTDOWN_TIMEOUT_S = 0.5


class SandboxServer:
    """A running sandbox: ``.url``, ``.state``, ``.stop()``; also a context manager.

    Args:
        app: the aiohttp application to serve.
        state: the state object behind ``app`` (exposed as ``.state``).
        host: the address to bind.
        port: the port to bind; 0 picks a free one.
    """

    def __init__(
        self, app: web.Application, *, state: Any, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.app = app
        self.state = state
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        self._thread = threading.Thread(target=self._loop.run_forever, name="sandbox", daemon=True)
        self._started = False

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        """Start serving and return once the port is bound.

        Raises:
            OSError: when the address cannot be bound.
        """
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        try:
            future.result(_START_TIMEOUT_S)
        except BaseException:
            self._stop_loop()
            raise
        self._started = True
        return self

    async def _start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        """Stop serving and end the background thread; calling it twice is harmless."""
        if not self._started:
            return
        self._started = False
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        try:
            future.result(_START_TIMEOUT_S)
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_START_TIMEOUT_S)
        self._loop.close()

    def __enter__(self) -> SandboxServer:
        return self.start() if not self._started else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
