"""Console pages: sign-in, the fleet overview, tenant pages and connection tests."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ledgerbridge import errors, tenancy
from ledgerbridge.api.deps import DbDep, KeyringDep
from ledgerbridge.api.routers import connections as connection_routes
from ledgerbridge.console import _brand as brand_mod
from ledgerbridge.console import _fleet as fleet_mod
from ledgerbridge.console import _session as session_mod
from ledgerbridge.console import _tenant as tenant_mod
from ledgerbridge.console import _web as web

router = APIRouter(include_in_schema=False)
Id = Annotated[str, Path(max_length=64)]
Text = Annotated[str, Query(max_length=128)]
LOGIN_FAILED = "the e-mail address or password is wrong"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/")
def home(visitor: web.VisitorDep) -> Response:
    """Send a signed-in user to their first page, anyone else to sign in."""
    return web.redirect(visitor.viewer.home if visitor.viewer else "/login")


@router.get("/favicon.svg")
def favicon(visitor: web.VisitorDep) -> Response:
    """The brand's monogram as the page icon."""
    svg = brand_mod.monogram_svg(visitor.brand)
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "no-cache"})


def _login_page(
    request: Request, visitor: web.Visitor, *, error: str = "", email: str = "", status: int = 200
) -> Response:
    token = session_mod.new_token()
    context = {"title": "Sign in", "error": error, "email": email, "login_token": token}
    context["next"] = web.safe_next(request.query_params.get("next", ""), "")
    response = web.renderer(request).render(
        request, "login.html", context, brand=visitor.brand, viewer=None, status_code=status
    )
    response.set_cookie(
        session_mod.LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.get("/login")
def login_form(request: Request, visitor: web.VisitorDep) -> Response:
    """The sign-in form, in the brand of the host."""
    if visitor.viewer is not None:
        return web.redirect(visitor.viewer.home)
    return _login_page(request, visitor)


@router.post("/login")
def login(
    request: Request,
    visitor: web.VisitorDep,
    db: DbDep,
    form: Annotated[dict[str, list[str]], Depends(web.read_form)],
) -> Response:
    """Check the e-mail and password and start a session."""
    email = web.first(form, "email").strip()
    token = web.first(form, "login_token")
    if not session_mod.tokens_match(request.cookies.get(session_mod.LOGIN_COOKIE), token):
        message = "the sign-in form expired; please try again"
        return _login_page(request, visitor, error=message, email=email, status=403)
    sessions, address = web.sessions(request), request.client.host if request.client else "-"
    wait = sessions.refused_for(email, address)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        message = f"too many failed sign-ins; try again in {minutes} minute(s)"
        page = _login_page(request, visitor, error=message, email=email, status=429)
        page.headers["Retry-After"] = str(math.ceil(wait))
        return page
    try:
        principal = tenancy.access.authenticate_user(db, email, web.first(form, "password"))
        host_partner = visitor.brand.partner_id
        if host_partner is not None and principal.scope.partner_id != host_partner:
            # A user signs in only under their own partner's domains (or a neutral host).
            raise errors.ConfigError(LOGIN_FAILED)
    except errors.ConfigError:
        sessions.failed(email, address)
        return _login_page(request, visitor, error=LOGIN_FAILED, email=email, status=401)
    sessions.succeeded(email, address)
    _, cookie = sessions.issue(principal.actor.removeprefix("user:"))
    home = f"/tenants/{principal.scope.tenant_id}" if principal.scope.tenant_id else "/fleet"
    response = web.redirect(web.safe_next(web.first(form, "next"), home))
    response.set_cookie(
        session_mod.COOKIE,
        cookie,
        max_age=session_mod.LIFETIME_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(session_mod.LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, viewer: web.ViewerDep, form: web.FormDep) -> Response:
    """End the session: the cookie stops working everywhere, copies included."""
    web.sessions(request).end(request.cookies.get(session_mod.COOKIE))
    response = web.redirect("/login")
    response.delete_cookie(
        session_mod.COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )
    return response


def _fleet_context(
    viewer: web.Viewer, db: Any, *, sort: str, order: str, q: str, health: str, tier: str
) -> dict[str, Any]:
    rows = fleet_mod.fleet(db, viewer.principal)
    shown = fleet_mod.arrange(
        rows, sort=sort, descending=order == "desc", query=q, health=health, tier=tier
    )
    filters = {"sort": sort, "order": order, "q": q, "health": health, "tier": tier}
    return {
        "title": "Fleet",
        "rows": shown,
        "total": len(rows),
        "summary": fleet_mod.summary(rows),
        "filters": filters,
        "sorts": fleet_mod.SORTS,
        "tiers": tenancy.SLA_TIERS,
    }


@router.get("/fleet")
def fleet(
    request: Request,
    viewer: web.ViewerDep,
    db: DbDep,
    sort: Text = "health",
    order: Text = "asc",
    q: Text = "",
    health: Text = "",
    tier: Text = "",
) -> Response:
    """Every tenant with its health; the rows refresh themselves."""
    if viewer.tenant_id is not None:
        return web.redirect(viewer.home)
    context = _fleet_context(viewer, db, sort=sort, order=order, q=q, health=health, tier=tier)
    template = "_fleet_rows.html" if web.is_partial(request) else "fleet.html"
    return web.renderer(request).render(
        request, template, context, brand=viewer.brand, viewer=viewer
    )


@router.get("/tenants/{tenant_id}")
def tenant(request: Request, tenant_id: Id, viewer: web.ViewerDep, db: DbDep) -> Response:
    """One tenant: environments, connections, deployments, throughput and cycle times."""
    context = tenant_mod.page(db, viewer.principal, tenant_id)
    context["title"] = context["tenant"]["name"]
    return web.renderer(request).render(
        request, "tenant.html", context, brand=viewer.brand, viewer=viewer
    )


@router.post("/tenants/{tenant_id}/connections/{connection_id}/test")
async def test_connection(
    request: Request,
    tenant_id: Id,
    connection_id: Id,
    viewer: web.ViewerDep,
    form: web.FormDep,
    db: DbDep,
    keyring: KeyringDep,
) -> Response:
    """Ping the connection's system and show whether it answered."""
    answer = await connection_routes.test_connection(
        tenant_id, connection_id, viewer.principal, db, keyring
    )
    if not web.is_partial(request):
        return web.redirect(f"/tenants/{tenant_id}")
    message = "Connection works" if answer.ok else f"Connection failed: {answer.error}"
    return web.renderer(request).render(
        request,
        "_flash.html",
        {"ok": answer.ok, "message": message},
        brand=viewer.brand,
        viewer=viewer,
    )
