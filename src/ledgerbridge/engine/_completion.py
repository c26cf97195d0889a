"""A batch's completion: one transaction records every outcome the worker still owns.

It writes the steps, the run states (releasing leases and connection leases), the applied
source versions, the xrefs, the exceptions and the audit rows. Runs whose lease another
worker took over meanwhile are left alone: that worker records them. PostgreSQL may
abort the transaction for a deadlock; it is then tried again, whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import structlog

from ledgerbridge import store
from ledgerbridge.engine._execute import Outcome
from ledgerbridge.store._audit import AuditEntry

log = structlog.get_logger("ledgerbridge.worker")

#: how often a batch's completion is tried when PostgreSQL reports a deadlock
COMPLETE_ATTEMPTS = 3


def complete(
    db: store.Database, *, owner: str, outcomes: list[Outcome], clock: Callable[[], float]
) -> list[dict[str, Any]]:
    """Record ``outcomes`` of runs ``owner`` still leases; return the xref rows saved."""
    attempt = 1
    while True:
        try:
            return _complete_once(db, owner, outcomes, clock())
        except sa.exc.DBAPIError as exc:
            if attempt >= COMPLETE_ATTEMPTS or not _is_lock_conflict(exc):
                raise
            log.warning("completion hit a lock conflict; retrying", attempt=attempt)
            attempt += 1


def _complete_once(
    db: store.Database, owner: str, outcomes: list[Outcome], now: float
) -> list[dict[str, Any]]:
    with db.write() as conn:
        owned = store.runs.owned_runs(
            conn, owner=owner, keys=[(o.tenant_id, o.run_id) for o in outcomes]
        )
        kept = [o for o in outcomes if (o.tenant_id, o.run_id) in owned]
        if len(kept) < len(outcomes):
            log.warning("lease lost", runs=len(outcomes) - len(kept), owner=owner)
        store.runs.save_steps(conn, [s for o in kept for s in o.steps])
        store.runs.finish_runs(conn, [_run_state(o, now) for o in kept])
        store.runs.advance_versions(
            conn,
            [
                {
                    "tenant_id": o.tenant_id,
                    "entity_key": o.entity_key,
                    "applied_version": o.entity_version,
                    "updated_at": now,
                }
                for o in sorted(kept, key=lambda o: (o.tenant_id, o.entity_key))
                if o.status == "succeeded"
            ],
        )
        xref_rows = _dedupe_xrefs([x for o in kept for x in o.xrefs])
        store.xrefs.save(conn, xref_rows)
        store.exceptions.insert(conn, [o.exception for o in kept if o.exception])
        audits: list[AuditEntry] = [a for o in kept for a in o.audits]
        store.audit.append(conn, audits)
    return xref_rows


def _run_state(outcome: Outcome, now: float) -> dict[str, Any]:
    return {
        "k_tenant": outcome.tenant_id,
        "k_id": outcome.run_id,
        "status": outcome.status,
        "available_at": outcome.available_at,
        "finished_at": now if outcome.status != "queued" else None,
        "error": store.dumps(outcome.error) if outcome.error else None,
    }


def _dedupe_xrefs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in rows:
        latest[(row["tenant_id"], row["object_type"], row["canonical_id"], row["system"])] = row
    return [latest[k] for k in sorted(latest)]  # one lock order for every writer


def _is_lock_conflict(exc: sa.exc.DBAPIError) -> bool:
    """Whether PostgreSQL aborted the transaction for a deadlock or serialisation failure."""
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")
