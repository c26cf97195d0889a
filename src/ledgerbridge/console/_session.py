"""Signed session cookies and CSRF tokens of the console.

A session is a cookie holding the user id, a per-session CSRF token and an expiry, signed
with HMAC-SHA256 under a key derived from the server's secret key. The user is looked up
again on every request, so disabling a user ends their sessions at once. Before sign-in,
the login form is protected by a double-submit token in a cookie of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
LIFETIME_S = 8 * 60 * 60
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, kw_only=True, slots=True)
class Session:
    """A signed-in user's session."""

    user_id: str
    csrf: str
    expires_at: float


class Signer:
    """Signs and opens session cookies with a key derived from the server's secret."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"console-session-v1", hashlib.sha256).digest()

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()

    def issue(self, user_id: str, *, now: float | None = None) -> tuple[Session, str]:
        """Start a session for ``user_id``; return it and its cookie value."""
        expires = (now if now is not None else time.time()) + LIFETIME_S
        session = Session(user_id=user_id, csrf=secrets.token_urlsafe(32), expires_at=expires)
        payload = {"u": user_id, "c": session.csrf, "e": expires}
        body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
        return session, f"{body}.{self._mac(body)}"

    def open(self, cookie: str | None, *, now: float | None = None) -> Session | None:
        """Return the session of a cookie, or None if it is missing, forged or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        body, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = Session(
                user_id=str(payload["u"]), csrf=str(payload["c"]), expires_at=float(payload["e"])
            )
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires_at < (now if now is not None else time.time()):
            return None
        return session


def tokens_match(expected: str | None, sent: str | None) -> bool:
    """Whether a sent CSRF token equals the expected one (constant time)."""
    if not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def new_token() -> str:
    """A fresh random token (the login form's double-submit token)."""
    return secrets.token_urlsafe(32)
