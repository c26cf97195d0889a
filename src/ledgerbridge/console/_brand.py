"""The partner's brand as the console shows it: name, logo, colours, support contact.

A request's brand comes from the signed-in user's partner or, before sign-in, from the
partner whose domains include the request's host. A host that no partner claims gets a
plain, nameless look, so nothing but a partner's own brand ever appears on a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ledgerbridge import store
from ledgerbridge.store import _console as queries

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
SAFE_URL = re.compile(r"^https?://[^\s\"'<>()]+$")
DEFAULT_PRIMARY = "#2f4858"
DEFAULT_ACCENT = "#33658a"
NEUTRAL_NAME = "Operations console"


@dataclass(frozen=True, kw_only=True, slots=True)
class Brand:
    """How the console looks for one partner."""

    partner_id: str | None
    name: str
    primary: str = DEFAULT_PRIMARY
    accent: str = DEFAULT_ACCENT
    logo_url: str | None = None
    support_email: str | None = None
    domains: tuple[str, ...] = ()

    @property
    def initials(self) -> str:
        """Up to two letters for the monogram logo and favicon."""
        words = [w for w in re.split(r"[\s\-_]+", self.name) if w[:1].isalnum()]
        return "".join(w[0] for w in words[:2]).upper() or "·"

    @property
    def on_primary(self) -> str:
        """Black or white, whichever reads better on the primary colour (WCAG contrast)."""
        return "#000000" if _luminance(self.primary) > 0.179 else "#ffffff"

    def css_variables(self) -> str:
        """The brand as CSS custom properties (values are validated colours only)."""
        return (
            f"--brand-primary:{self.primary};--brand-accent:{self.accent};"
            f"--brand-on-primary:{self.on_primary};"
        )


NEUTRAL = Brand(partner_id=None, name=NEUTRAL_NAME)


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _colour(value: Any, default: str) -> str:
    return value if isinstance(value, str) and HEX_COLOUR.match(value) else default


def from_row(row: Any) -> Brand:
    """Build a partner's brand from its stored row, ignoring values that are not safe."""
    doc: dict[str, Any] = store.loads(row.brand) or {}
    logo = doc.get("logo_url")
    domains = doc.get("domains") or []
    return Brand(
        partner_id=row.id,
        name=str(doc.get("display_name") or row.name),
        primary=_colour(doc.get("primary_colour", doc.get("primary")), DEFAULT_PRIMARY),
        accent=_colour(doc.get("accent_colour", doc.get("accent")), DEFAULT_ACCENT),
        logo_url=logo if isinstance(logo, str) and SAFE_URL.match(logo) else None,
        support_email=doc.get("support_email") or None,
        domains=tuple(str(d).lower() for d in domains if isinstance(d, str)),
    )


def host_name(host: str) -> str:
    """The host without its port, lower-cased."""
    name = host.strip().lower()
    if name.startswith("["):
        return name.split("]", 1)[0] + "]"
    return name.rsplit(":", 1)[0] if name.count(":") == 1 else name


def for_host(conn: sa.Connection, host: str) -> Brand:
    """Return the brand of the partner whose domains include ``host``, or the neutral one."""
    name = host_name(host)
    for row in queries.partners(conn):
        brand = from_row(row)
        if name in brand.domains:
            return brand
    return NEUTRAL


def for_partner(conn: sa.Connection, partner_id: str) -> Brand:
    """Return one partner's brand (the neutral one if the partner is gone)."""
    row = queries.partner(conn, partner_id)
    return from_row(row) if row is not None else NEUTRAL


def monogram_svg(brand: Brand, *, size: int = 64) -> str:
    """An SVG monogram of the brand's initials on its primary colour (logo and favicon)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="{size}" '
        f'height="{size}" role="img" aria-label="{_escape(brand.name)}">'
        f'<rect width="64" height="64" rx="14" fill="{brand.primary}"/>'
        f'<text x="32" y="41" text-anchor="middle" font-family="system-ui,sans-serif" '
        f'font-size="26" font-weight="700" fill="{brand.on_primary}">'
        f"{_escape(brand.initials)}</text></svg>"
    )


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
