"""The in-process worker of ``serve --with-worker``: the job loop plus feed polling.

For the embedded default (one machine, SQLite) the API and a worker share one process;
at scale, run ``ledgerbridge worker`` processes instead.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable

import structlog

from ledgerbridge import store, tenancy
from ledgerbridge.engine import Worker, WorkerSettings
from ledgerbridge.engine.poller import Poller

log = structlog.get_logger("ledgerbridge.background")


async def work_until(
    db: store.Database,
    keyring: tenancy.Keyring,
    should_stop: Callable[[], bool],
    *,
    poll_interval: float = 5.0,
    settings: WorkerSettings | None = None,
) -> int:
    """Run batches and poll connected systems' feeds until ``should_stop()``; return runs done."""
    loader = functools.partial(tenancy.connection_settings, db, secret_key=keyring)
    worker = Worker(db, settings=settings, settings_loader=loader)
    poller = Poller(db, worker)
    done, next_poll = 0, 0.0
    try:
        while not should_stop():
            if time.monotonic() >= next_poll:
                await poller.poll()
                next_poll = time.monotonic() + poll_interval
            n = await worker.run_batch()
            done += n
            if n == 0:
                await asyncio.sleep(0.2)
    finally:
        await worker.aclose()
    return done
