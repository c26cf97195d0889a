"""The white-label web console: server-rendered pages under each partner's brand.

:func:`install` prepares an app for the console's routes (session signing, templates,
static files, branded error pages); :func:`create_demo_login` creates a user to sign in
with. The routes themselves live in ``ledgerbridge.api.routers.console*``.
"""

from __future__ import annotations

from ledgerbridge.console import _brand as brand
from ledgerbridge.console._install import DemoLogin, create_demo_login, install

__all__ = ["DemoLogin", "brand", "create_demo_login", "install"]
