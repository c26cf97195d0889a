"""Console pages: the exception queue and its actions, run timelines and the audit log.

Actions go through the same service as ``/api/v1/exceptions``, so they check the role and
the tenant scope and are audited with the signed-in user as the actor.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from ledgerbridge import errors
from ledgerbridge.api.deps import DbDep, EngineDep
from ledgerbridge.api.routers import exceptions as exception_routes
from ledgerbridge.console import _queue as queue
from ledgerbridge.console import _web as web

router = APIRouter(include_in_schema=False)
Id = Annotated[str, Path(max_length=64)]
Text = Annotated[str, Query(max_length=128)]
Action = Literal["retry", "skip", "approve", "replay"]
DONE = {"retry": "retried", "skip": "skipped", "approve": "approved", "replay": "replayed"}


def _queue_context(viewer: web.Viewer, db: Any, filters: dict[str, str]) -> dict[str, Any]:
    data = queue.exception_rows(db, viewer.principal, filters=filters)
    return {"title": "Exceptions", **data, "filters": filters}


@router.get("/exceptions")
def exceptions(
    request: Request,
    viewer: web.ViewerDep,
    db: DbDep,
    tenant_id: Text = "",
    kind: Text = "",
    flow: Text = "",
    age: Text = "",
    status: Text = "open",
) -> Response:
    """The exception queue, filtered by tenant, kind, flow, age and status."""
    filters = {"tenant_id": tenant_id, "kind": kind, "flow": flow, "age": age, "status": status}
    context = _queue_context(viewer, db, filters)
    template = "_exception_rows.html" if web.is_partial(request) else "exceptions.html"
    return web.renderer(request).render(
        request, template, context, brand=viewer.brand, viewer=viewer
    )


@router.get("/exceptions/{exception_id}")
def exception(request: Request, exception_id: Id, viewer: web.ViewerDep, db: DbDep) -> Response:
    """One exception: the reason in words, the source payload and the intended write."""
    context = queue.exception_detail(db, viewer.principal, exception_id)
    timeline = queue.run_timeline(db, viewer.principal, context["exception"]["run_id"])
    context.update({k: timeline[k] for k in ("run", "runs", "exceptions")})
    context["title"] = f"Exception {exception_id}"
    return web.renderer(request).render(
        request, "exception.html", context, brand=viewer.brand, viewer=viewer
    )


def _flash(request: Request, viewer: web.Viewer, ok: bool, message: str) -> Response:
    return web.renderer(request).render(
        request,
        "_flash.html",
        {"ok": ok, "message": message},
        brand=viewer.brand,
        viewer=viewer,
        status_code=200 if ok else 409,
    )


@router.post("/exceptions/bulk")
def bulk(
    request: Request, viewer: web.ViewerDep, form: web.FormDep, db: DbDep, client: EngineDep
) -> Response:
    """Apply one action to every selected exception; report what was done and what failed."""
    chosen = web.first(form, "action")
    if chosen not in DONE:
        raise errors.ConfigError(f"unknown action {chosen!r}", field="action")
    action = cast(Action, chosen)
    ids = form.get("ids", [])[: exception_routes.MAX_BULK]
    if not ids:
        raise errors.ConfigError("select at least one exception", field="ids")
    reason = web.first(form, "reason").strip() or None
    if action == "skip" and not reason:
        raise errors.ConfigError("a reason is required to skip exceptions", field="reason")
    done, failed = 0, []
    for exception_id in ids:
        try:
            exception_routes._act(db, client, viewer.principal, exception_id, action, reason)
            done += 1
        except errors.LedgerbridgeError as exc:
            failed.append(f"{exception_id}: {exc.message}")
    if not web.is_partial(request):
        return web.redirect(web.safe_next(web.first(form, "next"), "/exceptions"))
    message = f"{done} exception{'s' if done != 1 else ''} {DONE[action]}"
    if failed:
        message += "; not done: " + "; ".join(failed)
    return _flash(request, viewer, not failed, message)


@router.post("/exceptions/{exception_id}/{action}")
def act(
    request: Request,
    exception_id: Id,
    action: Action,
    viewer: web.ViewerDep,
    form: web.FormDep,
    db: DbDep,
    client: EngineDep,
) -> Response:
    """Retry, skip (with a reason), approve or replay one exception."""
    reason = web.first(form, "reason").strip() or None
    outcome = exception_routes._act(db, client, viewer.principal, exception_id, action, reason)
    if not web.is_partial(request):
        default = f"/runs/{outcome.get('new_run_id') or outcome['run_id']}"
        return web.redirect(web.safe_next(web.first(form, "next"), default))
    message = f"Exception {exception_id} {DONE[action]}"
    if outcome.get("new_run_id"):
        message += f"; new run {outcome['new_run_id']}"
    return _flash(request, viewer, True, message)


@router.get("/runs/{run_id}")
def run(request: Request, run_id: Id, viewer: web.ViewerDep, db: DbDep) -> Response:
    """A run's timeline: every step with timings, attempts, errors and external ids."""
    context = queue.run_timeline(db, viewer.principal, run_id)
    context["title"] = f"Run {run_id}"
    template = "_run_status.html" if web.is_partial(request) else "run.html"
    return web.renderer(request).render(
        request, template, context, brand=viewer.brand, viewer=viewer
    )


@router.get("/audit")
def audit(
    request: Request,
    viewer: web.ViewerDep,
    db: DbDep,
    chain: Text = "",
    action: Text = "",
    actor: Text = "",
) -> Response:
    """The audit log, newest first, filtered by tenant, action and actor."""
    filters = {"chain": chain, "action": action, "actor": actor}
    context = {"title": "Audit log", **queue.audit_log(db, viewer.principal, filters=filters)}
    context["filters"] = filters
    return web.renderer(request).render(
        request, "audit.html", context, brand=viewer.brand, viewer=viewer
    )


@router.post("/audit/verify")
def verify(request: Request, viewer: web.ViewerDep, form: web.FormDep, db: DbDep) -> Response:
    """Verify the hash chains of the audit log and show the result."""
    reports = queue.verify_chains(db, viewer.principal, web.first(form, "chain") or None)
    context: dict[str, Any] = {"title": "Audit verification", "reports": reports}
    context["all_ok"] = all(r["ok"] for r in reports)
    template = "_verify.html" if web.is_partial(request) else "verify.html"
    return web.renderer(request).render(
        request, template, context, brand=viewer.brand, viewer=viewer
    )
