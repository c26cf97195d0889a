"""A worker outlives a database outage instead of exiting with it."""

from __future__ import annotations

import asyncio
import shutil

from ledgerbridge import store
from ledgerbridge.engine import Worker, WorkerSettings


def test_worker_keeps_running_while_the_database_is_unreachable(template_db, tmp_path):
    """With its database gone, the worker loop keeps waiting for it rather than crashing."""
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy(template_db, folder / "ledgerbridge.db")
    db = store.Database(f"sqlite:///{folder / 'ledgerbridge.db'}")

    async def go() -> bool:
        worker = Worker(db, settings=WorkerSettings(idle_sleep=0.05))
        assert await worker.run_batch() == 0  # the database works at first
        db.dispose()
        shutil.rmtree(folder)  # the outage: no new connection can be opened
        task = asyncio.create_task(worker.run())
        done, _ = await asyncio.wait({task}, timeout=1.0)
        worker.stop()
        await asyncio.wait({task}, timeout=5.0)
        if task.done() and task.exception() is not None and done:
            raise task.exception()  # type: ignore[misc]
        return not done

    try:
        assert asyncio.run(go()), "the worker loop ended during the outage"
    finally:
        db.dispose()
