"""Batch windows: when a run of a batch-mode flow becomes due."""

from __future__ import annotations

import datetime as dt
from typing import Any


def due_at(mode: Any, now: float) -> float:
    """Return when a run created at ``now`` is due under ``mode``.

    ``realtime`` runs are due at once; ``batch`` runs wait for the next window, which opens
    every day (``every: day``) or hour (``every: hour``) at ``at`` (``HH:MM`` UTC, or
    ``:MM`` past the hour).
    """
    if getattr(mode, "kind", "realtime") != "batch":
        return now
    every = getattr(mode, "every", None) or "day"
    at = getattr(mode, "at", None) or ("00:00" if every == "day" else ":00")
    current = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    if every == "hour":
        minute = int(at.split(":")[-1])
        candidate = current.replace(minute=minute, second=0, microsecond=0)
        if candidate <= current:
            candidate += dt.timedelta(hours=1)
    else:
        hour, minute = (int(part) for part in at.split(":"))
        candidate = current.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if candidate <= current:
            candidate += dt.timedelta(days=1)
    return candidate.timestamp()
