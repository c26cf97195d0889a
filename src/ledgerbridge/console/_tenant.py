"""The tenant page: environments, connections, deployments, throughput and cycle times."""

from __future__ import annotations

import statistics
import time
from typing import Any

import sqlalchemy as sa

from ledgerbridge import store, tenancy
from ledgerbridge.console import _charts as charts
from ledgerbridge.store import _console as queries
from ledgerbridge.store import _scoped as scoped

WEEK_HOURS = 7 * 24
CYCLE_SAMPLE = 1000
ERP = "erp"


def page(
    db: store.Database, principal: tenancy.Principal, tenant_id: str, *, now: float | None = None
) -> dict[str, Any]:
    """Return everything the tenant page shows.

    Raises:
        NotFoundError: the tenant is outside the caller's scope.
    """
    principal.require(tenancy.Permission.READ)
    now = now if now is not None else time.time()
    scope = principal.scope
    with db.read() as conn:
        tenant = tenancy.manage.get_tenant(conn, principal, tenant_id)
        environments = [
            tenancy.manage.environment_view(r)
            for r in scoped.list_environments(conn, scope, tenant_id)
        ]
        connections = [
            tenancy.manage.connection_view(r)
            for r in scoped.list_connections(conn, scope, tenant_id, after=None, limit=100)
        ]
        deployments = [
            tenancy.deployments.deployment_view(r)
            for r in scoped.list_deployments(conn, scope, tenant_id, after=None, limit=100)
        ]
        chart = _throughput(conn, tenant_id, now=now)
        cycle = cycle_times(conn, tenant_id)
    return {
        "tenant": tenant,
        "environments": environments,
        "connections": connections,
        "deployments": sorted(deployments, key=lambda d: (not d["is_active"], d["environment"])),
        "throughput": chart,
        "cycle": cycle,
        "cycle_chart": charts.stages(
            [(s["label"], s["median_s"]) for s in cycle],
            title="Median time per delivery-to-cash stage",
        ),
    }


def _throughput(conn: sa.Connection, tenant_id: str, *, now: float) -> dict[str, Any]:
    last_hour = int(now // queries.HOUR)
    first_hour = last_hour - WEEK_HOURS + 1
    counts = queries.hourly(conn, tenant_id, since=first_hour * queries.HOUR)
    hours = range(first_hour, last_hour + 1)
    series = [
        charts.Series(
            name="Events received",
            values=tuple(counts["events"].get(h, 0) for h in hours),
            css_class="events",
        ),
        charts.Series(
            name="Postings",
            values=tuple(counts["postings"].get(h, 0) for h in hours),
            css_class="postings",
        ),
    ]
    return {
        "svg": charts.throughput(
            series, first_hour=first_hour, title="Events and postings per hour, last 7 days"
        ),
        "totals": {s.name: sum(s.values) for s in series},
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def cycle_times(conn: sa.Connection, tenant_id: str) -> list[dict[str, Any]]:
    """Median seconds of each stage: approval -> posted -> invoiced -> paid.

    Approval is when the approved entry reached the inbox, posted when its run succeeded,
    invoiced when its ERP cross-reference was linked to an invoice (an invoiced charge is
    never changed again), paid when the payment of that invoice was written back.
    """
    entries = queries.posted_entries(conn, tenant_id, limit=CYCLE_SAMPLE)
    invoiced_at: dict[tuple[str, str], tuple[str, float]] = {}
    for object_type in ("time_entry", "expense"):
        ids = [e.external_id for e in entries if e.object_type == object_type]
        for x in queries.xrefs_of(conn, tenant_id, object_type, ids):
            invoice = (store.loads(x.data) or {}).get("invoiced")
            if x.system == ERP and invoice:
                invoiced_at[(object_type, x.canonical_id)] = (str(invoice), x.updated_at)
    paid_at: dict[str, float] = {}
    for row in queries.payments(conn, tenant_id, limit=CYCLE_SAMPLE):
        record = (store.loads(row.payload) or {}).get("record") or {}
        invoice = str(record.get("invoice_erp_id"))
        paid_at[invoice] = min(paid_at.get(invoice, row.finished_at), row.finished_at)
    posted, invoiced, paid, whole = [], [], [], []
    for e in entries:
        posted.append(max(e.posted_at - e.approved_at, 0.0))
        link = invoiced_at.get((e.object_type, e.external_id))
        if link is None:
            continue
        invoice, at = link
        invoiced.append(max(at - e.posted_at, 0.0))
        if invoice in paid_at:
            paid.append(max(paid_at[invoice] - at, 0.0))
            whole.append(max(paid_at[invoice] - e.approved_at, 0.0))
    return [
        _stage("Approved → posted", posted),
        _stage("Posted → invoiced", invoiced),
        _stage("Invoiced → paid", paid),
        _stage("Approved → paid", whole),
    ]


def _stage(label: str, values: list[float]) -> dict[str, Any]:
    median = _median(values)
    return {
        "label": label,
        "count": len(values),
        "median_s": median,
        "median": charts.duration(median),
    }
