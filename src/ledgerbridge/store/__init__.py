"""Storage: SQLAlchemy Core tables, named queries and Alembic migrations.

All SQL of ledgerbridge lives in this package, so SQLite and PostgreSQL differences sit
in one place.
"""

from __future__ import annotations

from ledgerbridge.store import _tables as tables
from ledgerbridge.store._db import Database, default_url
from ledgerbridge.store._json import dumps, dumps_sorted, loads
from ledgerbridge.store._migrate import current_revision, migrate

__all__ = [
    "Database",
    "current_revision",
    "default_url",
    "dumps",
    "dumps_sorted",
    "loads",
    "migrate",
    "tables",
]
