"""Named queries for the inbox, the run queue (runs are their own jobs) and steps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from ledgerbridge.store import _claims, _upsert
from ledgerbridge.store._keys import key_in
from ledgerbridge.store._tables import entity_versions, events, runs, steps

#: run states that still hold their entity's place in line
PENDING = ("queued", "running")

_CLAIMED = (
    runs.c.tenant_id,
    runs.c.id,
    runs.c.event_id,
    runs.c.deployment_id,
    runs.c.flow,
    runs.c.entity_key,
    runs.c.entity_version,
    runs.c.attempts,
)


def insert_events(conn: sa.Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Store inbound events once; return the ids of the rows that were new."""
    if not rows:
        return set()
    _upsert.insert_ignore(conn, events, rows)
    by_tenant: dict[str, list[str]] = {}
    for row in rows:
        by_tenant.setdefault(row["tenant_id"], []).append(row["id"])
    stored: set[str] = set()
    for tenant_id, ids in by_tenant.items():
        query = sa.select(events.c.id).where(events.c.tenant_id == tenant_id, events.c.id.in_(ids))
        stored.update(conn.scalars(query))
    return stored


def insert_runs(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Queue new runs."""
    if rows:
        conn.execute(sa.insert(runs), rows)


def claim_runs(
    conn: sa.Connection,
    *,
    owner: str,
    now: float,
    lease_seconds: float,
    limit: int,
    limits_of: _claims.LimitsOf | None = None,
) -> list[sa.Row[Any]]:
    """Lease up to ``limit`` runnable runs (queued and due, or with an expired lease).

    Runs are chosen fairly across tenants and within connection limits (see
    :mod:`ledgerbridge.store._claims`); a run is runnable only when no earlier version of
    the same entity is still pending. PostgreSQL skips rows other workers hold.
    """
    expires = now + lease_seconds
    chosen = _claims.pick(conn, now=now, limit=limit)
    if chosen and limits_of is not None:
        chosen = _claims.admit(conn, chosen, now=now, expires=expires, limits_of=limits_of)
    if not chosen:
        return []
    keys = [(c.tenant_id, c.id) for c in chosen]
    stmt = (
        sa.update(runs)
        .where(key_in((runs.c.tenant_id, runs.c.id), keys))
        .values(
            status="running",
            lease_owner=owner,
            lease_expires_at=expires,
            available_at=expires,
            attempts=runs.c.attempts + 1,
            started_at=sa.func.coalesce(runs.c.started_at, now),
        )
        .returning(*_CLAIMED)
    )
    by_key = {(r.tenant_id, r.id): r for r in conn.execute(stmt)}
    return [by_key[k] for k in keys if k in by_key]


def extend_leases(
    conn: sa.Connection, *, owner: str, keys: Sequence[tuple[str, str]], expires: float
) -> int:
    """Push the lease of runs this worker still holds to ``expires``; return how many."""
    if not keys:
        return 0
    stmt = (
        sa.update(runs)
        .where(runs.c.lease_owner == owner, runs.c.status == "running")
        .where(key_in((runs.c.tenant_id, runs.c.id), list(keys)))
        .values(lease_expires_at=expires, available_at=expires)
    )
    count = conn.execute(stmt).rowcount
    _claims.extend(conn, keys, expires)
    return count


def owned_runs(
    conn: sa.Connection, *, owner: str, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Return which of ``keys`` this worker still leases (locks them on PostgreSQL)."""
    if not keys:
        return set()
    query = (
        sa.select(runs.c.tenant_id, runs.c.id)
        .where(runs.c.lease_owner == owner, runs.c.status == "running")
        .where(key_in((runs.c.tenant_id, runs.c.id), list(keys)))
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {(r.tenant_id, r.id) for r in conn.execute(query)}


def load_events(conn: sa.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """Fetch events by (tenant id, event id)."""
    keys = list(keys)
    if not keys:
        return {}
    query = sa.select(events).where(key_in((events.c.tenant_id, events.c.id), keys))
    return {(r.tenant_id, r.id): r for r in conn.execute(query)}


def load_steps(conn: sa.Connection, run_keys: Iterable[tuple[str, str]]) -> list[sa.Row[Any]]:
    """Fetch every recorded step of the given runs."""
    run_keys = list(run_keys)
    if not run_keys:
        return []
    query = sa.select(steps).where(key_in((steps.c.tenant_id, steps.c.run_id), run_keys))
    return list(conn.execute(query))


def load_finished_steps_by_key(
    conn: sa.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    """Fetch succeeded steps by (tenant id, idempotency key), from any run."""
    keys = list(keys)
    if not keys:
        return {}
    query = (
        sa.select(steps)
        .where(steps.c.status == "succeeded")
        .where(key_in((steps.c.tenant_id, steps.c.idempotency_key), keys))
    )
    return {(r.tenant_id, r.idempotency_key): r for r in conn.execute(query)}


def applied_versions(
    conn: sa.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Return the newest applied source version per (tenant id, entity key)."""
    keys = list(keys)
    if not keys:
        return {}
    ev = entity_versions
    query = sa.select(ev.c.tenant_id, ev.c.entity_key, ev.c.applied_version).where(
        key_in((ev.c.tenant_id, ev.c.entity_key), keys)
    )
    return {(r.tenant_id, r.entity_key): r.applied_version for r in conn.execute(query)}


def save_steps(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or overwrite step records."""
    _upsert.upsert(
        conn,
        steps,
        rows,
        keys=["tenant_id", "run_id", "name"],
        update=[
            "status",
            "result",
            "idempotency_key",
            "attempts",
            "started_at",
            "finished_at",
            "error",
        ],
    )


def finish_runs(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Write the outcome of runs: status, next availability, error, and release the lease."""
    if not rows:
        return
    stmt = (
        sa.update(runs)
        .where(runs.c.tenant_id == sa.bindparam("k_tenant"), runs.c.id == sa.bindparam("k_id"))
        .values(
            status=sa.bindparam("status"),
            available_at=sa.bindparam("available_at"),
            finished_at=sa.bindparam("finished_at"),
            error=sa.bindparam("error"),
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    conn.execute(stmt, rows)
    _claims.release(conn, [(r["k_tenant"], r["k_id"]) for r in rows])


def advance_versions(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Record applied source versions, never moving one backwards."""
    if not rows:
        return
    stmt = _upsert.insert(conn, entity_versions)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "entity_key"],
        set_={
            "applied_version": _upsert.greatest(
                conn, entity_versions.c.applied_version, stmt.excluded.applied_version
            ),
            "updated_at": stmt.excluded.updated_at,
        },
    )
    conn.execute(stmt, rows)


def get_run(conn: sa.Connection, tenant_id: str, run_id: str) -> sa.Row[Any] | None:
    """Fetch one run."""
    query = sa.select(runs).where(runs.c.tenant_id == tenant_id, runs.c.id == run_id)
    return conn.execute(query).first()


def list_runs(
    conn: sa.Connection,
    *,
    tenant_id: str | None = None,
    status: str | None = None,
    flow: str | None = None,
    limit: int = 50,
    before_id: str | None = None,
) -> list[sa.Row[Any]]:
    """List runs, newest first, optionally filtered; ``before_id`` pages."""
    query = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
    if tenant_id:
        query = query.where(runs.c.tenant_id == tenant_id)
    if status:
        query = query.where(runs.c.status == status)
    if flow:
        query = query.where(runs.c.flow == flow)
    if before_id:
        query = query.where(runs.c.id < before_id)
    return list(conn.execute(query))


def count_runs_by_status(conn: sa.Connection, tenant_id: str | None = None) -> dict[str, int]:
    """Count runs per status."""
    query = sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)
    if tenant_id:
        query = query.where(runs.c.tenant_id == tenant_id)
    return {status: n for status, n in conn.execute(query)}


def count_pending(conn: sa.Connection) -> int:
    """Count runs queued or running, in every tenant."""
    query = sa.select(sa.func.count()).select_from(runs).where(runs.c.status.in_(PENDING))
    return int(conn.execute(query).scalar_one())


def requeue_run(conn: sa.Connection, tenant_id: str, run_id: str, *, now: float) -> None:
    """Put a run back in the queue, due now, with its attempt count reset."""
    conn.execute(
        sa.update(runs)
        .where(runs.c.tenant_id == tenant_id, runs.c.id == run_id)
        .values(
            status="queued",
            available_at=now,
            attempts=0,
            error=None,
            finished_at=None,
            lease_owner=None,
            lease_expires_at=None,
        )
    )


def set_run_status(
    conn: sa.Connection, tenant_id: str, run_id: str, *, status: str, now: float
) -> None:
    """Set a run's final status (for example ``skipped``)."""
    conn.execute(
        sa.update(runs)
        .where(runs.c.tenant_id == tenant_id, runs.c.id == run_id)
        .values(status=status, finished_at=now, lease_owner=None, lease_expires_at=None)
    )


def run_steps(conn: sa.Connection, tenant_id: str, run_id: str) -> list[sa.Row[Any]]:
    """Fetch the steps of one run in order."""
    query = (
        sa.select(steps)
        .where(steps.c.tenant_id == tenant_id, steps.c.run_id == run_id)
        .order_by(steps.c.seq)
    )
    return list(conn.execute(query))


def get_event(conn: sa.Connection, tenant_id: str, event_id: str) -> sa.Row[Any] | None:
    """Fetch one stored event."""
    query = sa.select(events).where(events.c.tenant_id == tenant_id, events.c.id == event_id)
    return conn.execute(query).first()


def find_run(conn: sa.Connection, run_id: str) -> sa.Row[Any] | None:
    """Fetch one run by id alone (operator tools that span tenants)."""
    return conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()


def started_versions(
    conn: sa.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Return the newest source version per entity whose run has been attempted at least once.

    Such a version may already have written to the target, so an older version that
    arrives later is stale even though the newer run has not finished.
    """
    keys = list(keys)
    if not keys:
        return {}
    query = (
        sa.select(runs.c.tenant_id, runs.c.entity_key, sa.func.max(runs.c.entity_version))
        .where(runs.c.attempts > 0)
        .where(key_in((runs.c.tenant_id, runs.c.entity_key), keys))
        .group_by(runs.c.tenant_id, runs.c.entity_key)
    )
    return {(t, k): v for t, k, v in conn.execute(query)}


def posting_latencies(
    conn: sa.Connection, tenant_id: str, *, flows: tuple[str, ...]
) -> list[float]:
    """Seconds from an event's arrival to its run's success, for the given flows."""
    query = (
        sa.select(runs.c.finished_at - events.c.received_at)
        .join(
            events, sa.and_(events.c.tenant_id == runs.c.tenant_id, events.c.id == runs.c.event_id)
        )
        .where(runs.c.tenant_id == tenant_id, runs.c.status == "succeeded", runs.c.flow.in_(flows))
    )
    return [float(v) for v in conn.scalars(query) if v is not None]


def count_events(conn: sa.Connection, tenant_id: str | None = None) -> int:
    """Count stored inbound events."""
    query = sa.select(sa.func.count()).select_from(events)
    if tenant_id:
        query = query.where(events.c.tenant_id == tenant_id)
    return int(conn.execute(query).scalar_one())
