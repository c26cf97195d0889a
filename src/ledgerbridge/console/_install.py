"""Wiring the console into the app, branded error pages, and demo logins."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledgerbridge import errors, store, tenancy
from ledgerbridge.api import _problems
from ledgerbridge.console import _brand as brand_mod
from ledgerbridge.console import _session as session_mod
from ledgerbridge.console import _web as web
from ledgerbridge.store._scoped import Scope

STATIC = Path(__file__).parent / "static"
#: paths that belong to the machine interfaces and keep problem+json errors
API_PREFIXES = ("/api/", "/hooks/", "/health")


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoLogin:
    """Where and how to sign in to the console."""

    path: str
    email: str
    password: str
    user_id: str


def install(app: FastAPI, *, db: store.Database) -> None:
    """Prepare ``app`` for the console routes.

    Args:
        app: the application.
        db: the database that keeps console sessions.
    """
    app.state.console_sessions = session_mod.Sessions(db)
    app.state.console_renderer = web.Renderer()
    app.mount("/assets", StaticFiles(directory=STATIC), name="console-assets")
    app.add_exception_handler(errors.LedgerbridgeError, _error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def _is_console(request: Request) -> bool:
    if getattr(request.state, "console", False):
        return True
    path = request.url.path
    wants_html = "text/html" in request.headers.get("accept", "")
    return wants_html and not path.startswith(API_PREFIXES)


def _page(request: Request, status: int, message: str) -> Response:
    visitor = getattr(request.state, "console_visitor", None)
    brand = getattr(request.state, "console_brand", None) or brand_mod.NEUTRAL
    viewer = visitor.viewer if isinstance(visitor, web.Visitor) else None
    context = {"status": status, "message": message, "title": "Something went wrong"}
    if web.is_partial(request):
        return web.renderer(request).render(
            request, "_flash.html", {"ok": False, "message": message},
            brand=brand, viewer=viewer, status_code=status,
        )  # fmt: skip
    return web.renderer(request).render(
        request, "error.html", context, brand=brand, viewer=viewer, status_code=status
    )


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.LedgerbridgeError)
    if not _is_console(request):
        return await _problems._ledgerbridge_error(request, exc)
    status = _problems.status_of(exc)
    if status == 401 and request.method == "GET" and not web.is_partial(request):
        return web.redirect("/login")
    return _page(request, status, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not _is_console(request):
        return await _problems._http_error(request, exc)
    message = "there is no such page" if exc.status_code == 404 else str(exc.detail)
    return _page(request, exc.status_code, message)


def create_demo_login(
    db: store.Database,
    partner_id: str,
    *,
    email: str,
    password: str,
    role: str = "partner_operator",
    tenant_id: str | None = None,
    display_name: str = "",
) -> DemoLogin:
    """Create a console user of a partner (or of one of its tenants) to sign in with.

    Args:
        db: the database.
        partner_id: the partner the user works for.
        email: the sign-in e-mail address.
        password: at least 12 characters.
        role: ``partner_admin``, ``partner_operator`` or ``tenant_viewer``.
        tenant_id: the tenant a ``tenant_viewer`` sees.
        display_name: the name the console shows.

    Returns:
        The sign-in path (``/login``), the credentials and the new user's id.

    Raises:
        ConfigError: the password is too short or the role does not fit.
        PermanentError: the e-mail address is taken.
    """
    system = tenancy.Principal(actor="system", role=tenancy.PLATFORM_ADMIN, scope=Scope())
    user = tenancy.access.create_user(
        db,
        system,
        email=email,
        password=password,
        role=role,
        display_name=display_name,
        partner_id=partner_id,
        tenant_id=tenant_id,
    )
    return DemoLogin(path="/login", email=email, password=password, user_id=user["id"])
