"""Counting what a benchmark process spends: DB commits, CPU seconds, peak RSS."""

from __future__ import annotations

import resource

import sqlalchemy as sa

from ledgerbridge import store


def count_commits(db: store.Database) -> list[int]:
    """Count the commits ``db`` makes; return the one-element counter."""
    counter = [0]

    @sa.event.listens_for(db.engine, "commit")
    def _on_commit(_conn: object) -> None:
        counter[0] += 1

    return counter


def own_usage() -> dict[str, float]:
    """CPU seconds and peak RSS (MB) of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}
