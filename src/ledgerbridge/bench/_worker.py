"""A benchmark worker process: runs the job loop until SIGTERM, then prints its own figures.

Usage: ``python -m ledgerbridge.bench._worker URL BATCH_SIZE CONCURRENCY``. On exit it
prints one JSON line: runs, DB commits, CPU seconds and peak RSS of this process.
"""

from __future__ import annotations

import asyncio
import json
import sys

from ledgerbridge import store
from ledgerbridge.bench._usage import count_commits, own_usage
from ledgerbridge.engine import Worker, WorkerSettings


def main(argv: list[str]) -> None:
    """Run one worker over ``argv = [url, batch_size, concurrency]``."""
    url, batch_size, concurrency = argv[0], int(argv[1]), int(argv[2])
    db = store.Database(url)
    commits = count_commits(db)
    settings = WorkerSettings(
        batch_size=batch_size, concurrency=concurrency, lease_seconds=60, idle_sleep=0.02
    )
    worker = Worker(db, settings=settings)
    print(json.dumps({"ready": True}), flush=True)
    runs = asyncio.run(worker.run(handle_signals=True))
    print(json.dumps({"runs": runs, "commits": commits[0], **own_usage()}), flush=True)
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
