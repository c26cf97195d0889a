"""Request plumbing of the console: who is signed in, the brand, CSRF checks, rendering.

Handlers depend on :func:`get_viewer` (a signed-in user) or :func:`get_visitor` (anyone),
and on :func:`checked_form` for every state-changing request: it parses the form and
refuses it unless it carries the session's CSRF token and, when the browser sends an
``Origin``, comes from the same host.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ledgerbridge import errors, store, tenancy
from ledgerbridge.console import _brand as brand_mod
from ledgerbridge.console import _session as session_mod
from ledgerbridge.store import _console as queries
from ledgerbridge.store._scoped import Scope

TEMPLATES = Path(__file__).parent / "templates"
PARTIAL_HEADER = "x-console-partial"
MAX_FORM_BYTES = 256 * 1024
ROLE_NAMES = {
    "partner_admin": "Administrator",
    "partner_operator": "Operator",
    "tenant_viewer": "Viewer",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Visitor:
    """Anyone who asks for a page: the brand of the host, and the session if signed in."""

    brand: brand_mod.Brand
    viewer: Viewer | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Viewer:
    """A signed-in console user."""

    principal: tenancy.Principal
    user_id: str
    email: str
    name: str
    role: str
    csrf: str
    brand: brand_mod.Brand = field(default=brand_mod.NEUTRAL)

    @property
    def can_operate(self) -> bool:
        """Whether the user may retry, skip, replay, test connections and verify the audit."""
        return self.principal.can(tenancy.Permission.OPERATE)

    @property
    def tenant_id(self) -> str | None:
        """The one tenant a tenant viewer sees."""
        return self.principal.scope.tenant_id

    @property
    def home(self) -> str:
        """The first page after sign-in."""
        return f"/tenants/{self.tenant_id}" if self.tenant_id else "/fleet"


def _db(request: Request) -> store.Database:
    db: store.Database = request.app.state.db
    return db


def sessions(request: Request) -> session_mod.Sessions:
    """The app's console sessions."""
    found: session_mod.Sessions = request.app.state.console_sessions
    return found


def _load_viewer(request: Request) -> Viewer | None:
    session = sessions(request).open(request.cookies.get(session_mod.COOKIE))
    if session is None:
        return None
    with _db(request).read() as conn:
        row = queries.user(conn, session.user_id)
        if row is None or row.disabled_at is not None:
            return None
        brand = brand_mod.for_partner(conn, row.partner_id)
    scope = Scope(partner_id=row.partner_id, tenant_id=row.tenant_id)
    principal = tenancy.Principal(actor=f"user:{row.id}", role=row.role, scope=scope)
    return Viewer(
        principal=principal,
        user_id=row.id,
        email=row.email,
        name=row.display_name or row.email,
        role=row.role,
        csrf=session.csrf,
        brand=brand,
    )


def get_visitor(request: Request) -> Visitor:
    """The brand of the request (the user's partner, else the host's) and its viewer."""
    request.state.console = True
    viewer = _load_viewer(request)
    if viewer is not None:
        visitor = Visitor(brand=viewer.brand, viewer=viewer)
    else:
        with _db(request).read() as conn:
            visitor = Visitor(brand=brand_mod.for_host(conn, request.headers.get("host", "")))
    request.state.console_visitor = visitor
    request.state.console_brand = visitor.brand
    return visitor


def get_viewer(visitor: Annotated[Visitor, Depends(get_visitor)]) -> Viewer:
    """The signed-in user.

    Raises:
        ConfigError: with status 401 when nobody is signed in.
    """
    if visitor.viewer is None:
        raise tenancy.access.unauthorized("sign in to see this page")
    return visitor.viewer


async def read_form(request: Request) -> dict[str, list[str]]:
    """Parse a URL-encoded form body (the console posts no files)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise errors.ConfigError("the form is too large", status_code=413)
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


async def checked_form(
    request: Request, viewer: Annotated[Viewer, Depends(get_viewer)]
) -> dict[str, list[str]]:
    """The form of a state-changing request, once its CSRF token has been checked.

    Raises:
        ConfigError: with status 403 when the token is missing or wrong, or the request
            comes from another site.
    """
    form = await read_form(request)
    sent = request.headers.get(session_mod.CSRF_HEADER) or first(form, session_mod.CSRF_FIELD)
    if not _same_origin(request) or not session_mod.tokens_match(viewer.csrf, sent):
        raise errors.ConfigError(
            "the form has expired or did not come from this console; reload the page and try again",
            status_code=403,
        )
    return form


def first(form: dict[str, list[str]], name: str, default: str = "") -> str:
    """The first value of a form field."""
    values = form.get(name)
    return values[0] if values else default


def is_partial(request: Request) -> bool:
    """Whether the console's script asked for a fragment rather than a whole page."""
    return request.headers.get(PARTIAL_HEADER) == "1"


def safe_next(target: str, default: str) -> str:
    """A local path to go back to (never another site)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
VisitorDep = Annotated[Visitor, Depends(get_visitor)]
FormDep = Annotated[dict[str, list[str]], Depends(checked_form)]


class Renderer:
    """Renders the console's templates with the brand, the user and security headers."""

    def __init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["utc"] = _utc

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        brand: brand_mod.Brand,
        viewer: Viewer | None,
        status_code: int = 200,
    ) -> HTMLResponse:
        """Render ``template`` with ``context`` and the common page data."""
        nonce = secrets.token_urlsafe(16)
        html = self.env.get_template(template).render(
            **context,
            brand=brand,
            viewer=viewer,
            nonce=nonce,
            path=request.url.path,
            role_name=ROLE_NAMES.get(viewer.role, viewer.role) if viewer else "",
        )
        response = HTMLResponse(html, status_code=status_code)
        secure_headers(response, nonce=nonce)
        return response


def _utc(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def secure_headers(response: Response, *, nonce: str = "") -> None:
    """Add the console's security headers (CSP with a per-response style nonce)."""
    style = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    response.headers["content-security-policy"] = (
        f"default-src 'self'; script-src 'self'; style-src {style}; img-src 'self' data: https:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["referrer-policy"] = "same-origin"
    response.headers["x-frame-options"] = "DENY"
    response.headers["cache-control"] = "no-store"


def redirect(target: str) -> RedirectResponse:
    """A 303 redirect (after a form post, the browser fetches ``target`` with GET)."""
    response = RedirectResponse(target, status_code=303)
    secure_headers(response)
    return response


def renderer(request: Request) -> Renderer:
    """The app's console renderer."""
    found: Renderer = request.app.state.console_renderer
    return found


RendererDep = Annotated[Renderer, Depends(renderer)]
