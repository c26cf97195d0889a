"""Webhook signature schemes, each compared in constant time.

- QuickBooks Online: ``intuit-signature`` = base64(HMAC-SHA256(raw body, verifier token)).
- Xero: ``x-xero-signature`` = base64(HMAC-SHA256(raw body, webhook key)).
- Generic (any other sender): ``X-Ledgerbridge-Signature: t=<unix seconds>,v1=<hex>``
  where hex = HMAC-SHA256 of ``"<t>.<raw body>"`` with the connection's webhook secret,
  accepted within a replay window around the receiver's clock.

Each ``verify_*`` returns None when the signature is good, else why it is not (for the
401 answer; the reason never contains a secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

INTUIT_HEADER = "intuit-signature"
XERO_HEADER = "x-xero-signature"
GENERIC_HEADER = "x-ledgerbridge-signature"


def _b64_hmac(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def sign_intuit(body: bytes, verifier_token: str) -> str:
    """Return the ``intuit-signature`` of ``body``."""
    return _b64_hmac(body, verifier_token)


def sign_xero(body: bytes, webhook_key: str) -> str:
    """Return the ``x-xero-signature`` of ``body``."""
    return _b64_hmac(body, webhook_key)


def sign_generic(body: bytes, secret: str, *, timestamp: int) -> str:
    """Return the ``X-Ledgerbridge-Signature`` header value of ``body`` at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_base64(body: bytes, header: str | None, key: str, *, name: str) -> str | None:
    """Check a base64 HMAC-SHA256 signature header (QuickBooks and Xero)."""
    if not header:
        return f"the {name} header is missing"
    if not hmac.compare_digest(_b64_hmac(body, key).encode(), header.strip().encode()):
        return f"the {name} header does not match the body"
    return None


def verify_generic(
    body: bytes, header: str | None, secret: str, *, now: float, tolerance: float
) -> str | None:
    """Check an ``X-Ledgerbridge-Signature`` header, including its replay window."""
    if not header:
        return "the X-Ledgerbridge-Signature header is missing"
    parts = dict(item.strip().partition("=")[::2] for item in header.split(","))
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or not given:
        return "the X-Ledgerbridge-Signature header must look like t=<unix seconds>,v1=<hex>"
    if abs(now - int(stamp)) > tolerance:
        return f"the signature timestamp is outside the {tolerance:g} s replay window"
    expected = sign_generic(body, secret, timestamp=int(stamp)).partition(",v1=")[2]
    if not hmac.compare_digest(expected.encode(), given.encode()):
        return "the X-Ledgerbridge-Signature header does not match the body"
    return None
