"""Named queries for console sessions and failed sign-ins."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ledgerbridge.store import _upsert
from ledgerbridge.store._tables import console_sessions, sign_in_failures


def create(conn: sa.Connection, row: dict[str, Any]) -> None:
    """Store a new session and drop every session that has expired by its creation."""
    s = console_sessions
    conn.execute(sa.delete(s).where(s.c.expires_at < row["created_at"]))
    conn.execute(sa.insert(s).values(**row))


def get(conn: sa.Connection, token_hash: str, *, now: float) -> sa.Row[Any] | None:
    """Fetch a live session by the hash of its token."""
    s = console_sessions
    query = sa.select(s).where(s.c.token_hash == token_hash, s.c.expires_at >= now)
    return conn.execute(query).first()


def delete(conn: sa.Connection, token_hash: str) -> None:
    """End one session."""
    s = console_sessions
    conn.execute(sa.delete(s).where(s.c.token_hash == token_hash))


def delete_for_user(conn: sa.Connection, user_id: str) -> int:
    """End every session of a user; return how many there were."""
    s = console_sessions
    return conn.execute(sa.delete(s).where(s.c.user_id == user_id)).rowcount


def failures(conn: sa.Connection, keys: list[str], *, since: float) -> dict[str, sa.Row[Any]]:
    """The failure counts of ``keys`` whose window started at or after ``since``."""
    f = sign_in_failures
    query = sa.select(f).where(f.c.key.in_(keys), f.c.first_at >= since)
    return {r.key: r for r in conn.execute(query)}


def add_failure(conn: sa.Connection, keys: list[str], *, now: float, since: float) -> None:
    """Count one failed sign-in against each key; a window older than ``since`` restarts.

    Counts of windows that ended are dropped, so guessing many addresses or e-mails does
    not grow the table beyond one window's worth.
    """
    f = sign_in_failures
    conn.execute(sa.delete(f).where(f.c.first_at < since, f.c.key.not_in(keys)))
    stmt = _upsert.insert(conn, f)
    stale = f.c.first_at < since
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "failures": sa.case((stale, 1), else_=f.c.failures + 1),
            "first_at": sa.case((stale, stmt.excluded.first_at), else_=f.c.first_at),
        },
    )
    conn.execute(stmt, [{"key": k, "failures": 1, "first_at": now} for k in keys])


def clear_failures(conn: sa.Connection, keys: list[str]) -> None:
    """Forget the failures of ``keys`` (after a successful sign-in)."""
    f = sign_in_failures
    conn.execute(sa.delete(f).where(f.c.key.in_(keys)))
