"""The exception queue, one exception, a run's timeline and the audit log, as page data."""

from __future__ import annotations

import json
import time
from typing import Any

from ledgerbridge import errors, store, tenancy
from ledgerbridge.api import _views as views
from ledgerbridge.console import _charts as charts
from ledgerbridge.store import _activity as activity
from ledgerbridge.store import _console as queries

#: choices of the age filter: label -> minimum age in seconds
AGES = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
#: what each error kind means, in words an operator acts on
KIND_WORDS = {
    "data_quality": "The record breaks a data-quality rule.",
    "record": "The source record could not be read.",
    "config": "The setup needs fixing (credentials, mapping or deployment).",
    "permanent": "The target system refused the write.",
    "transient": "The target system was unreachable; retries were used up.",
    "ambiguous": "It is unknown whether the write arrived.",
    "approval": "A policy holds this posting until someone approves it.",
}


def pretty(value: Any) -> str:
    """JSON indented for reading (Decimal and other values as text)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _age(seconds: float) -> str:
    return "under a minute" if seconds < 60 else charts.duration(seconds)


def exception_rows(
    db: store.Database,
    principal: tenancy.Principal,
    *,
    filters: dict[str, str],
    now: float | None = None,
) -> dict[str, Any]:
    """Return the exception queue filtered by tenant, kind, flow, status and age."""
    principal.require(tenancy.Permission.READ)
    now = now if now is not None else time.time()
    age = AGES.get(filters.get("age", ""))
    exact = {
        "tenant_id": filters.get("tenant_id"),
        "error_kind": filters.get("kind"),
        "flow": filters.get("flow"),
        "status": filters.get("status", "open"),
    }
    with db.read() as conn:
        rows = queries.exceptions(
            conn, principal.scope, filters=exact, older_than=None if age is None else now - age
        )
        tenants = {t.id: t.name for t in queries.tenants(conn, principal.scope)}
        facets = queries.exception_facets(conn, principal.scope)
    items = [
        {
            **views.exception_view(r),
            "tenant_name": tenants.get(r.tenant_id, r.tenant_id),
            "age": _age(now - r.created_at),
        }
        for r in rows
    ]
    return {"items": items, "tenants": tenants, **facets, "ages": list(AGES)}


def exception_detail(
    db: store.Database, principal: tenancy.Principal, exception_id: str
) -> dict[str, Any]:
    """Return one exception with its source payload and what was about to be written.

    Raises:
        NotFoundError: the exception is outside the caller's scope.
    """
    row = views.exception_row(db, principal, exception_id)
    doc = views.exception_view(row)
    detail = doc["detail"]
    with db.read() as conn:
        event_id = detail.get("event_id")
        event = store.runs.get_event(conn, row.tenant_id, event_id) if event_id else None
        tenant = tenancy.manage.get_tenant(conn, principal, row.tenant_id)
    payload = store.loads(event.payload) if event is not None else None
    return {
        "exception": doc,
        "tenant": tenant,
        "meaning": KIND_WORDS.get(doc["kind"], ""),
        "record": pretty(detail.get("record")),
        "about_to_write": pretty(detail.get("about_to_write")),
        "source": pretty((payload or {}).get("raw", payload)),
        "error": pretty(detail.get("error")),
        "step": detail.get("step"),
    }


def run_timeline(db: store.Database, principal: tenancy.Principal, run_id: str) -> dict[str, Any]:
    """Return a run with every step's timing, attempts, error and external ids.

    Raises:
        NotFoundError: the run is outside the caller's scope.
    """
    run = views.run_row(db, principal, run_id)
    with db.read() as conn:
        steps = store.runs.run_steps(conn, run.tenant_id, run_id)
        event = store.runs.get_event(conn, run.tenant_id, run.event_id) if run.event_id else None
        raised = queries.run_exceptions(conn, run.tenant_id, run_id)
        siblings = queries.runs_of_event(conn, run.tenant_id, run.event_id) if event else []
        xrefs = (
            queries.xrefs_of(conn, run.tenant_id, event.object_type, [event.external_id])
            if event
            else []
        )
    origin = run.started_at or run.created_at
    items, bars = [], []
    for s in steps:
        start = (s.started_at or origin) - origin
        stop = (s.finished_at or s.started_at or origin) - origin
        result = store.loads(s.result) or {}
        items.append(
            {
                "name": s.name,
                "status": s.status,
                "attempts": s.attempts,
                "took": charts.duration(stop - start),
                "error": store.loads(s.error),
                "external_ids": {k: v for k, v in result.items() if k.endswith("id")},
                "idempotency_key": s.idempotency_key,
            }
        )
        bars.append((s.name, start, stop, s.status))
    return {
        "run": views.run_view(run),
        "waited": charts.duration(max((run.started_at or run.created_at) - run.created_at, 0.0)),
        "steps": items,
        "chart": charts.timeline(bars, title="Step timings") if bars else None,
        "event": views.event_view(event) if event is not None else None,
        "exceptions": [views.exception_view(x) for x in raised],
        "runs": [views.run_view(r) for r in siblings],
        "xrefs": [views.xref_view(x) for x in xrefs],
    }


def audit_log(
    db: store.Database, principal: tenancy.Principal, *, filters: dict[str, str]
) -> dict[str, Any]:
    """Return audit rows inside the caller's scope, newest first, with actors' e-mails."""
    principal.require(tenancy.Permission.READ)
    exact = {
        "tenant_id": filters.get("chain"),
        "action": filters.get("action"),
        "actor": filters.get("actor"),
    }
    with db.read() as conn:
        rows = queries.audit_rows(conn, principal.scope, filters=exact)
        chains = activity.audit_chains(conn, principal.scope)
        tenants = {t.id: t.name for t in queries.tenants(conn, principal.scope)}
        users = [r.actor.removeprefix("user:") for r in rows if r.actor.startswith("user:")]
        emails = queries.user_emails(conn, principal.scope, sorted(set(users)))
    items = [
        {
            **views.audit_view(r),
            "chain_name": tenants.get(r.tenant_id, "partner"),
            "actor_name": emails.get(r.actor.removeprefix("user:"), r.actor),
            "detail_text": pretty(store.loads(r.detail) or {}),
        }
        for r in rows
    ]
    choices = [(c, tenants.get(c, "partner")) for c in chains]
    return {"items": items, "chains": choices}


def verify_chains(
    db: store.Database, principal: tenancy.Principal, chain: str | None
) -> list[dict[str, Any]]:
    """Verify the audit chains inside the caller's scope (or one of them).

    Raises:
        ConfigError: the role may not verify (403).
        NotFoundError: ``chain`` is outside the scope.
    """
    principal.require(tenancy.Permission.OPERATE)
    reports = []
    for name in views.audit_chains(db, principal, chain or None):
        with db.read() as conn:
            report = store.audit.verify(conn, name)
        reports.append(
            {
                "chain": name,
                "rows": report.rows,
                "ok": report.ok,
                "problem": report.problem,
                "first_bad_seq": report.first_bad_seq,
            }
        )
    if not reports:
        raise errors.NotFoundError("there is no audit trail to verify yet")
    return reports
