"""Claiming runs fairly: per-tenant quotas by SLA tier, and per-connection limits.

A claim leases at most ``limit`` runs in one transaction:

1. Every tenant with due work is found with two index probes (``ix_runs_tenant_queue``).
2. Tenants are served in order of their oldest due run, with a head start by tier (gold
   30 s, silver 10 s, bronze 0 s: aging, so a bronze run waits at most that much longer
   than it would in pure arrival order and is never starved).
3. Each tenant first gets a share of the batch proportional to its tier weight (gold 4,
   silver 2, bronze 1; at least one run); capacity left over goes to tenants that have
   more, in the same order. One tenant's backlog of any size therefore never keeps another
   tenant's run out of the next batch.
4. Runs that write through a connection with limits are admitted only while the
   connection's token bucket (``connection_limits``) has a token and fewer than its
   concurrency limit of leases are live (``connection_leases``). Both tables are updated
   in the claim transaction, with the bucket row locked on PostgreSQL, so the limits hold
   across every worker process.

Within a tenant, runs go in order of availability; a run is runnable only when no earlier
version of the same entity is pending, so events about one object apply in version order.
PostgreSQL skips rows that other workers hold (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ledgerbridge.store import _upsert
from ledgerbridge.store._keys import key_in
from ledgerbridge.store._tables import metadata, runs, tenants

#: share of a batch per SLA tier (relative)
TIER_WEIGHT = {"gold": 4, "silver": 2, "bronze": 1}
#: seconds of head start per SLA tier when ordering tenants by their oldest due run
TIER_CREDIT = {"gold": 30.0, "silver": 10.0, "bronze": 0.0}

sa.Index("ix_runs_tenant_queue", runs.c.tenant_id, runs.c.status, runs.c.available_at, runs.c.id)

# Token bucket per connection (revision 0003).
connection_limits = sa.Table(
    "connection_limits",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("connection_id", sa.String(64), primary_key=True),
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Live leases of runs on a limited connection; counted for the concurrency limit.
connection_leases = sa.Table(
    "connection_leases",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("connection_id", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_connection_leases_live", "tenant_id", "connection_id", "expires_at"),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectionLimit:
    """Limits of one connection that hold across all workers."""

    tenant_id: str
    connection_id: str
    rate_per_second: float | None = None  #: runs started per second (token refill rate)
    burst: float | None = None  #: bucket size; defaults to one second of rate (at least 1)
    concurrency: int | None = None  #: runs in flight at once

    def __post_init__(self) -> None:
        if self.rate_per_second is not None and self.rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")

    @property
    def capacity(self) -> float:
        """Size of the token bucket."""
        if self.burst is not None:
            return max(1.0, self.burst)
        return max(1.0, self.rate_per_second or 1.0)


LimitsOf = Callable[[sa.Connection, Any], Sequence[ConnectionLimit]]

_DUE_TENANTS = """
SELECT t.id AS tenant_id, t.sla_tier AS tier,
  (SELECT MIN(r.available_at) FROM runs r
    WHERE r.tenant_id = t.id AND r.status = 'queued' AND r.available_at <= :now) AS queued,
  (SELECT MIN(r.available_at) FROM runs r
    WHERE r.tenant_id = t.id AND r.status = 'running' AND r.available_at <= :now) AS expired
FROM tenants t
"""

_CANDIDATES = """
SELECT r.tenant_id, r.id, r.deployment_id, r.flow FROM runs r
WHERE r.tenant_id = :tenant AND r.status = :status AND r.available_at <= :now
  AND NOT EXISTS (
    SELECT 1 FROM runs p
    WHERE p.tenant_id = r.tenant_id AND p.entity_key = r.entity_key
      AND p.entity_version <= r.entity_version
      AND p.status IN ('queued', 'running')
      AND (p.entity_version < r.entity_version OR p.id < r.id))
ORDER BY r.available_at, r.id
LIMIT :limit
"""


def due_tenants(conn: sa.Connection, now: float) -> list[tuple[str, str, float]]:
    """Return (tenant id, tier, oldest due time) of tenants with due runs, in serving order."""
    found = []
    for row in conn.execute(sa.text(_DUE_TENANTS), {"now": now}):
        times = [t for t in (row.queued, row.expired) if t is not None]
        if times:
            found.append((row.tenant_id, row.tier or "silver", float(min(times))))
    found.sort(key=lambda t: (t[2] - TIER_CREDIT.get(t[1], 0.0), t[0]))
    return found


def _candidates(conn: sa.Connection, tenant_id: str, now: float, limit: int) -> list[sa.Row[Any]]:
    sql = _CANDIDATES
    if conn.dialect.name == "postgresql":
        sql += " FOR UPDATE OF r SKIP LOCKED"
    rows: list[sa.Row[Any]] = []
    for status in ("running", "queued"):  # expired leases first: they are the oldest work
        params = {"tenant": tenant_id, "status": status, "now": now, "limit": limit - len(rows)}
        rows.extend(conn.execute(sa.text(sql), params))
        if len(rows) >= limit:
            break
    return rows


def pick(conn: sa.Connection, *, now: float, limit: int) -> list[sa.Row[Any]]:
    """Choose up to ``limit`` runnable runs across tenants (fair order, not yet leased)."""
    due = due_tenants(conn, now)
    if not due:
        return []
    total = sum(TIER_WEIGHT.get(tier, 1) for _t, tier, _o in due)
    picked: list[sa.Row[Any]] = []
    hungry: list[tuple[str, int]] = []
    for tenant_id, tier, _oldest in due:
        room = limit - len(picked)
        if room <= 0:
            break
        share = min(room, max(1, math.ceil(limit * TIER_WEIGHT.get(tier, 1) / total)))
        rows = _candidates(conn, tenant_id, now, share)
        picked.extend(rows)
        if len(rows) == share:
            hungry.append((tenant_id, share))
    seen = {(r.tenant_id, r.id) for r in picked}
    for tenant_id, taken in hungry:
        room = limit - len(picked)
        if room <= 0:
            break
        for row in _candidates(conn, tenant_id, now, taken + room):
            if (row.tenant_id, row.id) not in seen and len(picked) < limit:
                seen.add((row.tenant_id, row.id))
                picked.append(row)
    return picked


def admit(
    conn: sa.Connection,
    candidates: list[sa.Row[Any]],
    *,
    now: float,
    expires: float,
    limits_of: LimitsOf,
) -> list[sa.Row[Any]]:
    """Keep the candidates their connections' limits allow; record their leases."""
    needs = {(c.tenant_id, c.id): list(limits_of(conn, c)) for c in candidates}
    wanted = {(lim.tenant_id, lim.connection_id): lim for ls in needs.values() for lim in ls}
    if not wanted:
        return candidates
    state = {key: _bucket(conn, lim, now) for key, lim in sorted(wanted.items())}
    admitted, leases = [], []
    for cand in candidates:
        mine = needs[(cand.tenant_id, cand.id)]
        if all(state[(lim.tenant_id, lim.connection_id)].allows() for lim in mine):
            for lim in mine:
                state[(lim.tenant_id, lim.connection_id)].take()
                leases.append(
                    {
                        "tenant_id": lim.tenant_id,
                        "connection_id": lim.connection_id,
                        "run_id": cand.id,
                        "expires_at": expires,
                    }
                )
            admitted.append(cand)
    _save_buckets(conn, state, now)
    if leases:
        _upsert.upsert(
            conn,
            connection_leases,
            leases,
            keys=["tenant_id", "connection_id", "run_id"],
            update=["expires_at"],
        )
    return admitted


@dataclass(kw_only=True)
class _Bucket:
    limit: ConnectionLimit
    tokens: float
    in_flight: int

    def allows(self) -> bool:
        rate_ok = self.limit.rate_per_second is None or self.tokens >= 1.0
        room_ok = self.limit.concurrency is None or self.in_flight < self.limit.concurrency
        return rate_ok and room_ok

    def take(self) -> None:
        self.tokens -= 1.0
        self.in_flight += 1


def _bucket(conn: sa.Connection, limit: ConnectionLimit, now: float) -> _Bucket:
    key = {"tenant_id": limit.tenant_id, "connection_id": limit.connection_id}
    _upsert.insert_ignore(
        conn, connection_limits, [key | {"tokens": limit.capacity, "updated_at": now}]
    )
    cl = connection_limits
    query = sa.select(cl.c.tokens, cl.c.updated_at).where(
        cl.c.tenant_id == limit.tenant_id, cl.c.connection_id == limit.connection_id
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()  # serialises claims on this connection's limits
    row = conn.execute(query).one()
    tokens = float(row.tokens)
    if limit.rate_per_second is not None:
        elapsed = max(0.0, now - float(row.updated_at))
        tokens = min(limit.capacity, tokens + elapsed * limit.rate_per_second)
    in_flight = 0
    if limit.concurrency is not None:
        lv = connection_leases
        in_flight = conn.execute(
            sa.select(sa.func.count()).where(
                lv.c.tenant_id == limit.tenant_id,
                lv.c.connection_id == limit.connection_id,
                lv.c.expires_at > now,
            )
        ).scalar_one()
    return _Bucket(limit=limit, tokens=tokens, in_flight=int(in_flight))


def _save_buckets(conn: sa.Connection, state: dict[Any, _Bucket], now: float) -> None:
    cl = connection_limits
    stmt = (
        sa.update(cl)
        .where(cl.c.tenant_id == sa.bindparam("k_t"), cl.c.connection_id == sa.bindparam("k_c"))
        .values(tokens=sa.bindparam("tokens"), updated_at=sa.bindparam("updated_at"))
    )
    rows = [
        {"k_t": t, "k_c": c, "tokens": b.tokens, "updated_at": now} for (t, c), b in state.items()
    ]
    conn.execute(stmt, rows)


def release(conn: sa.Connection, keys: Sequence[tuple[str, str]]) -> None:
    """Drop the connection leases of finished runs (``(tenant id, run id)`` pairs)."""
    if not keys:
        return
    lv = connection_leases
    conn.execute(sa.delete(lv).where(key_in((lv.c.tenant_id, lv.c.run_id), list(keys))))


def extend(conn: sa.Connection, keys: Sequence[tuple[str, str]], expires: float) -> None:
    """Push the connection leases of runs still executing to ``expires``."""
    if not keys:
        return
    lv = connection_leases
    conn.execute(
        sa.update(lv)
        .where(key_in((lv.c.tenant_id, lv.c.run_id), list(keys)))
        .values(expires_at=expires)
    )


def tenant_tiers(conn: sa.Connection) -> dict[str, str]:
    """Return every tenant's SLA tier."""
    return {r.id: r.sla_tier for r in conn.execute(sa.select(tenants.c.id, tenants.c.sla_tier))}
