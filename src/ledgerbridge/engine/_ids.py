"""Identifiers: time-ordered, so sorting by id is sorting by creation."""

from __future__ import annotations

import hashlib
import os
import time


def new_id(prefix: str) -> str:
    """Return ``<prefix>_<13 hex of ms time><10 hex random>``; ids sort by creation time."""
    return f"{prefix}_{time.time_ns() // 1_000_000:013x}{os.urandom(5).hex()}"


def idempotency_key(
    *,
    tenant_id: str,
    blueprint: str,
    version: int,
    flow: str,
    step: str,
    entity_key: str,
    source_version: int,
) -> str:
    """Derive the key every external write of one step carries.

    It depends only on (tenant, blueprint version, step, source object, source version), so
    a retry, a re-run by another worker or a replay of the same event sends the same key.
    The result is 36 characters, within QuickBooks' 50-character ``requestid`` limit.
    """
    material = "|".join(
        [tenant_id, blueprint, str(version), flow, step, entity_key, str(source_version)]
    )
    return "lb-" + hashlib.sha256(material.encode()).hexdigest()[:33]
