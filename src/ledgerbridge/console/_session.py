"""Console sessions, sign-in throttling and CSRF tokens.

A session cookie holds a random token; the server keeps only the token's SHA-256 with
the user id, a per-session CSRF token and an expiry (``console_sessions``). Signing out
deletes the row, so a copied cookie stops working too; disabling a user ends their
sessions at once because the user is looked up again on every request. Before sign-in,
the login form is protected by a double-submit token in a cookie of its own.

Failed sign-ins are counted per account and address, and per address, in the database
(so every server process shares the counts): after ``ACCOUNT_LIMIT`` failures for one
account from one address, or ``ADDRESS_LIMIT`` from one address, within
``WINDOW_S``, further attempts are refused until the window has passed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from ledgerbridge import store

COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
LIFETIME_S = 8 * 60 * 60
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: failed sign-ins allowed per account and address, and per address, in one window
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 50
WINDOW_S = 15 * 60


@dataclass(frozen=True, kw_only=True, slots=True)
class Session:
    """A signed-in user's session."""

    user_id: str
    csrf: str
    expires_at: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """Sessions and sign-in failure counts kept in the database."""

    def __init__(self, db: store.Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def issue(self, user_id: str) -> tuple[Session, str]:
        """Start a session for ``user_id``; return it and its cookie value."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        session = Session(
            user_id=user_id, csrf=secrets.token_urlsafe(32), expires_at=now + LIFETIME_S
        )
        row = {
            "token_hash": _digest(token), "user_id": user_id, "csrf": session.csrf,
            "created_at": now, "expires_at": session.expires_at,
        }  # fmt: skip
        with self.db.write() as conn:
            store.sessions.create(conn, row)
        return session, token

    def open(self, cookie: str | None) -> Session | None:
        """Return the live session of a cookie, or None if it is missing, unknown or expired."""
        if not cookie or len(cookie) > 200:
            return None
        with self.db.read() as conn:
            row = store.sessions.get(conn, _digest(cookie), now=self.clock())
        if row is None:
            return None
        return Session(user_id=row.user_id, csrf=row.csrf, expires_at=row.expires_at)

    def end(self, cookie: str | None) -> None:
        """End the session of a cookie (sign-out)."""
        if cookie:
            with self.db.write() as conn:
                store.sessions.delete(conn, _digest(cookie))

    @staticmethod
    def _keys(email: str, address: str) -> list[str]:
        return [f"account:{email.strip().lower()}|{address}", f"address:{address}"]

    def refused_for(self, email: str, address: str) -> float | None:
        """Seconds until sign-in may be tried again from ``address``, or None if it may now."""
        now = self.clock()
        account_key, address_key = self._keys(email, address)
        with self.db.read() as conn:
            found = store.sessions.failures(conn, [account_key, address_key], since=now - WINDOW_S)
        limits = {account_key: ACCOUNT_LIMIT, address_key: ADDRESS_LIMIT}
        waits = [
            row.first_at + WINDOW_S - now
            for key, row in found.items()
            if row.failures >= limits[key]
        ]
        return max(waits) if waits else None

    def failed(self, email: str, address: str) -> None:
        """Count a failed sign-in."""
        now = self.clock()
        with self.db.write() as conn:
            store.sessions.add_failure(
                conn, self._keys(email, address), now=now, since=now - WINDOW_S
            )

    def succeeded(self, email: str, address: str) -> None:
        """Forget the account's failures from this address."""
        with self.db.write() as conn:
            store.sessions.clear_failures(conn, self._keys(email, address)[:1])


def tokens_match(expected: str | None, sent: str | None) -> bool:
    """Whether a sent CSRF token equals the expected one (constant time)."""
    if not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def new_token() -> str:
    """A fresh random token (the login form's double-submit token)."""
    return secrets.token_urlsafe(32)
