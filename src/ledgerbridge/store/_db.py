"""Database engines: SQLite (WAL, the embedded default) and PostgreSQL, with one API."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

DEFAULT_DIR = ".ledgerbridge"
SQLITE_BUSY_TIMEOUT_MS = 30_000
DEFAULT_POOL_SIZE = 5
POOL_SIZE_ENV = "LEDGERBRIDGE_DB_POOL_SIZE"


def default_url() -> str:
    """Return ``LEDGERBRIDGE_DATABASE_URL`` or the SQLite file under ``./.ledgerbridge/``."""
    url = os.environ.get("LEDGERBRIDGE_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(DEFAULT_DIR) / 'ledgerbridge.db'}"


class Database:
    """A SQLAlchemy engine plus the transaction discipline the engine relies on.

    On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` so that two worker
    processes never deadlock upgrading a read lock; reads start a deferred transaction.
    On PostgreSQL (driver psycopg 3; ``postgresql://`` URLs get it) the pool is bounded:
    ``pool_size`` connections, or ``LEDGERBRIDGE_DB_POOL_SIZE``, or 5, and never more.
    """

    def __init__(self, url: str, *, pool_size: int | None = None, echo: bool = False) -> None:
        self.url = _with_driver(sa.engine.make_url(url))
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.is_postgres = self.url.get_backend_name() == "postgresql"
        self.pool_size = pool_size or int(os.environ.get(POOL_SIZE_ENV) or DEFAULT_POOL_SIZE)
        if self.pool_size < 1:
            raise ValueError(f"{POOL_SIZE_ENV} must be at least 1")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            }
        else:
            kwargs.update(
                pool_size=self.pool_size, max_overflow=0, pool_pre_ping=True, pool_timeout=60
            )
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """Open a write transaction; commit on success, roll back on error."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """Open a read-only (deferred) transaction."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(ledgerbridge_read=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _with_driver(url: sa.URL) -> sa.URL:
    """Use psycopg 3 for ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def _install_sqlite_hooks(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin hook below, not pysqlite, start transactions.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("ledgerbridge_read"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
