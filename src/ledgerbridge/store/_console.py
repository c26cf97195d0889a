"""Read queries behind the console's pages, each scoped by the caller's :class:`Scope`.

They aggregate what the API lists row by row (counts per tenant, events per hour), so the
pages stay cheap on a fleet of many tenants. Every query applies the scope in SQL through
:func:`ledgerbridge.store._scoped.tenant_clause`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ledgerbridge.store import _tables as t
from ledgerbridge.store._scoped import Scope, tenant_clause

HOUR = 3600.0
#: seconds from an event's arrival to its posting that each SLA tier promises
SLA_TARGET_S = {"gold": 15 * 60.0, "silver": 60 * 60.0, "bronze": 4 * 60 * 60.0}
MAX_ROWS = 200


def tenants(conn: sa.Connection, scope: Scope) -> list[sa.Row[Any]]:
    """List the tenants inside the scope, by name."""
    query = sa.select(t.tenants).where(tenant_clause(t.tenants.c.id, scope))
    return list(conn.execute(query.order_by(t.tenants.c.name, t.tenants.c.id)))


def partners(conn: sa.Connection) -> list[sa.Row[Any]]:
    """List every partner (to match a request's host against their domains)."""
    return list(conn.execute(sa.select(t.partners).order_by(t.partners.c.id)))


def partner(conn: sa.Connection, partner_id: str) -> sa.Row[Any] | None:
    """Fetch one partner."""
    return conn.execute(sa.select(t.partners).where(t.partners.c.id == partner_id)).first()


def user(conn: sa.Connection, user_id: str) -> sa.Row[Any] | None:
    """Fetch one user by id (a signed session names it)."""
    return conn.execute(sa.select(t.users).where(t.users.c.id == user_id)).first()


def user_emails(conn: sa.Connection, scope: Scope, user_ids: Sequence[str]) -> dict[str, str]:
    """Map user ids inside the scope's partner to their e-mail addresses."""
    if not user_ids:
        return {}
    u = t.users
    query = sa.select(u.c.id, u.c.email).where(u.c.id.in_(list(user_ids)))
    if scope.partner_id is not None:
        query = query.where(u.c.partner_id == scope.partner_id)
    return {row.id: row.email for row in conn.execute(query)}


def _count_by_tenant(conn: sa.Connection, query: Any) -> dict[str, int]:
    return {tenant: int(n) for tenant, n in conn.execute(query)}


def fleet_counts(conn: sa.Connection, scope: Scope, *, since: float) -> dict[str, dict[str, int]]:
    """Count, per tenant: events and postings since ``since``, parked runs, open exceptions."""
    e, r, x = t.events, t.runs, t.exceptions
    events = sa.select(e.c.tenant_id, sa.func.count()).where(
        tenant_clause(e.c.tenant_id, scope), e.c.received_at >= since
    )
    postings = sa.select(r.c.tenant_id, sa.func.count()).where(
        tenant_clause(r.c.tenant_id, scope), r.c.status == "succeeded", r.c.finished_at >= since
    )
    failures = sa.select(x.c.tenant_id, sa.func.count()).where(
        tenant_clause(x.c.tenant_id, scope), x.c.created_at >= since
    )
    opened = sa.select(x.c.tenant_id, sa.func.count()).where(
        tenant_clause(x.c.tenant_id, scope), x.c.status == "open"
    )
    return {
        "events": _count_by_tenant(conn, events.group_by(e.c.tenant_id)),
        "postings": _count_by_tenant(conn, postings.group_by(r.c.tenant_id)),
        "failures": _count_by_tenant(conn, failures.group_by(x.c.tenant_id)),
        "open": _count_by_tenant(conn, opened.group_by(x.c.tenant_id)),
    }


def backlog(conn: sa.Connection, scope: Scope) -> dict[str, tuple[int, float]]:
    """Return, per tenant, the number of waiting runs and when the oldest was queued."""
    r = t.runs
    query = (
        sa.select(r.c.tenant_id, sa.func.count(), sa.func.min(r.c.created_at))
        .where(tenant_clause(r.c.tenant_id, scope), r.c.status.in_(("queued", "running")))
        .group_by(r.c.tenant_id)
    )
    return {tenant: (int(n), float(oldest)) for tenant, n, oldest in conn.execute(query)}


def sla_attainment(
    conn: sa.Connection, scope: Scope, *, since: float
) -> dict[str, tuple[int, int]]:
    """Return, per tenant, (postings since ``since``, postings within the tier's target)."""
    r, e, tn = t.runs, t.events, t.tenants
    target = sa.case(
        *((tn.c.sla_tier == tier, seconds) for tier, seconds in SLA_TARGET_S.items()),
        else_=SLA_TARGET_S["silver"],
    )
    on_time = sa.case((r.c.finished_at - e.c.received_at <= target, 1), else_=0)
    query = (
        sa.select(r.c.tenant_id, sa.func.count(), sa.func.sum(on_time))
        .join(e, sa.and_(e.c.tenant_id == r.c.tenant_id, e.c.id == r.c.event_id))
        .join(tn, tn.c.id == r.c.tenant_id)
        .where(
            tenant_clause(r.c.tenant_id, scope),
            r.c.status == "succeeded",
            r.c.finished_at >= since,
        )
        .group_by(r.c.tenant_id)
    )
    return {tenant: (int(n), int(ok or 0)) for tenant, n, ok in conn.execute(query)}


def _hour(conn: sa.Connection, column: Any) -> Any:
    # SQLite truncates a positive REAL cast to INTEGER; PostgreSQL would round, so floor there.
    if conn.dialect.name == "sqlite":
        return sa.cast(column / HOUR, sa.Integer)
    return sa.cast(sa.func.floor(column / HOUR), sa.BigInteger)


def hourly(conn: sa.Connection, tenant_id: str, *, since: float) -> dict[str, dict[int, int]]:
    """Count one tenant's events received and runs posted per hour (hours since the epoch)."""
    e, r = t.events, t.runs
    hour_e, hour_r = _hour(conn, e.c.received_at), _hour(conn, r.c.finished_at)
    events = (
        sa.select(hour_e, sa.func.count())
        .where(e.c.tenant_id == tenant_id, e.c.received_at >= since)
        .group_by(hour_e)
    )
    posted = (
        sa.select(hour_r, sa.func.count())
        .where(r.c.tenant_id == tenant_id, r.c.status == "succeeded", r.c.finished_at >= since)
        .group_by(hour_r)
    )
    return {
        "events": {int(h): int(n) for h, n in conn.execute(events)},
        "postings": {int(h): int(n) for h, n in conn.execute(posted)},
    }


def posted_entries(conn: sa.Connection, tenant_id: str, *, limit: int) -> list[sa.Row[Any]]:
    """Return approved time entries and expenses with when they arrived and were posted."""
    r, e = t.runs, t.events
    query = (
        sa.select(
            e.c.object_type,
            e.c.external_id,
            sa.func.min(e.c.received_at).label("approved_at"),
            sa.func.min(r.c.finished_at).label("posted_at"),
        )
        .join(e, sa.and_(e.c.tenant_id == r.c.tenant_id, e.c.id == r.c.event_id))
        .where(
            r.c.tenant_id == tenant_id,
            r.c.status == "succeeded",
            e.c.event_type.in_(("time_entry.approved", "expense.approved")),
        )
        .group_by(e.c.object_type, e.c.external_id)
        .order_by(sa.func.min(r.c.finished_at).desc())
        .limit(limit)
    )
    return list(conn.execute(query))


def xrefs_of(
    conn: sa.Connection, tenant_id: str, object_type: str, canonical_ids: Sequence[str]
) -> list[sa.Row[Any]]:
    """Return the cross-references of some canonical objects of one tenant."""
    if not canonical_ids:
        return []
    x = t.xrefs
    query = sa.select(x).where(
        x.c.tenant_id == tenant_id,
        x.c.object_type == object_type,
        x.c.canonical_id.in_(list(canonical_ids)),
    )
    return list(conn.execute(query))


def payments(conn: sa.Connection, tenant_id: str, *, limit: int) -> list[sa.Row[Any]]:
    """Return posted payment events of one tenant (payload and when the run finished)."""
    r, e = t.runs, t.events
    query = (
        sa.select(e.c.payload, r.c.finished_at)
        .join(e, sa.and_(e.c.tenant_id == r.c.tenant_id, e.c.id == r.c.event_id))
        .where(
            r.c.tenant_id == tenant_id,
            r.c.status == "succeeded",
            e.c.event_type == "payment.received",
        )
        .order_by(r.c.finished_at.desc())
        .limit(limit)
    )
    return list(conn.execute(query))


def exceptions(
    conn: sa.Connection, scope: Scope, *, filters: dict[str, Any], older_than: float | None
) -> list[sa.Row[Any]]:
    """List exceptions inside the scope, newest first, filtered exactly and by age."""
    x = t.exceptions
    query = sa.select(x).where(tenant_clause(x.c.tenant_id, scope))
    for name, value in filters.items():
        if value:
            query = query.where(x.c[name] == value)
    if older_than is not None:
        query = query.where(x.c.created_at <= older_than)
    return list(conn.execute(query.order_by(x.c.id.desc()).limit(MAX_ROWS)))


def exception_facets(conn: sa.Connection, scope: Scope) -> dict[str, list[str]]:
    """Return the kinds and flows that occur in the scope's exceptions (filter choices)."""
    x = t.exceptions
    inside = tenant_clause(x.c.tenant_id, scope)
    kinds = sa.select(x.c.error_kind).where(inside).distinct().order_by(x.c.error_kind)
    flows = sa.select(x.c.flow).where(inside).distinct().order_by(x.c.flow)
    return {"kinds": list(conn.scalars(kinds)), "flows": list(conn.scalars(flows))}


def run_exceptions(conn: sa.Connection, tenant_id: str, run_id: str) -> list[sa.Row[Any]]:
    """Return the exceptions one run raised, oldest first."""
    x = t.exceptions
    query = sa.select(x).where(x.c.tenant_id == tenant_id, x.c.run_id == run_id)
    return list(conn.execute(query.order_by(x.c.id)))


def runs_of_event(conn: sa.Connection, tenant_id: str, event_id: str) -> list[sa.Row[Any]]:
    """Return every run of one event (the first and its replays), oldest first."""
    r = t.runs
    query = sa.select(r).where(r.c.tenant_id == tenant_id, r.c.event_id == event_id)
    return list(conn.execute(query.order_by(r.c.id)))


def audit_rows(conn: sa.Connection, scope: Scope, *, filters: dict[str, Any]) -> list[sa.Row[Any]]:
    """List audit rows inside the scope (and a partner's own chain), newest first."""
    a = t.audit_log
    inside = tenant_clause(a.c.tenant_id, scope)
    if scope.tenant_id is None and scope.partner_id is not None:
        inside = sa.or_(inside, a.c.tenant_id == scope.partner_id)
    query = sa.select(a).where(inside)
    for name, value in filters.items():
        if value:
            query = query.where(a.c[name] == value)
    return list(conn.execute(query.order_by(a.c.at.desc(), a.c.seq.desc()).limit(MAX_ROWS)))
