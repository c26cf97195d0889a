"""Storage: SQLAlchemy Core tables, named queries and Alembic migrations.

All SQL of ledgerbridge lives in this package, so SQLite and PostgreSQL differences sit
in one place. Query modules: ``runs`` (inbox, queue, steps), ``audit``, ``exceptions``,
``xrefs``, ``tenancy``, ``sessions`` (console sign-in) and ``_console`` (the console's
aggregates).
"""

from __future__ import annotations

from ledgerbridge.store import _audit as audit
from ledgerbridge.store import _cursors as cursors
from ledgerbridge.store import _exceptions as exceptions
from ledgerbridge.store import _runs as runs
from ledgerbridge.store import _sessions as sessions
from ledgerbridge.store import _tables as tables
from ledgerbridge.store import _tenancy as tenancy
from ledgerbridge.store import _xrefs as xrefs
from ledgerbridge.store._db import Database, default_url
from ledgerbridge.store._json import dumps, dumps_sorted, loads
from ledgerbridge.store._migrate import current_revision, migrate

__all__ = [
    "Database",
    "audit",
    "current_revision",
    "cursors",
    "default_url",
    "dumps",
    "dumps_sorted",
    "exceptions",
    "loads",
    "migrate",
    "runs",
    "sessions",
    "tables",
    "tenancy",
    "xrefs",
]
