"""The HTTP API: REST ``/api/v1``, webhook receivers and health checks (FastAPI)."""

from __future__ import annotations

from ledgerbridge.api.app import create_app
from ledgerbridge.api.settings import Settings

__all__ = ["Settings", "create_app"]
