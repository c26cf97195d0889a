"""Connection credentials sealed at rest with Fernet, and key rotation.

The secret key (``LEDGERBRIDGE_SECRET_KEY`` or a key file) is any string of at least 32
characters; the Fernet key is derived from it. A :class:`Keyring` holds the current key
first and any older keys after it: it seals with the current key and opens with any, so a
rotation can run while servers still hold tokens sealed under an older key.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ledgerbridge import errors, store
from ledgerbridge.store import _scoped as scoped

_DERIVATION_CONTEXT = b"ledgerbridge-credentials-v1|"


def derive_key(secret: str) -> bytes:
    """Return the Fernet key derived from a secret key string."""
    digest = hashlib.sha256(_DERIVATION_CONTEXT + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


class Keyring:
    """Seals with the first key, opens with any of them.

    Args:
        secrets: the current secret key first, then older ones still accepted.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("a keyring needs at least one secret key")
        self._fernet = MultiFernet([Fernet(derive_key(s)) for s in secrets])

    def seal(self, credentials: Mapping[str, Any]) -> bytes:
        """Encrypt a credentials document."""
        return self._fernet.encrypt(store.dumps(dict(credentials)).encode())

    def open(self, token: bytes) -> dict[str, Any]:
        """Decrypt a credentials document.

        Raises:
            ConfigError: no key of the keyring opens the token.
        """
        try:
            plain = self._fernet.decrypt(token)
        except InvalidToken:
            raise errors.ConfigError(
                "the connection's credentials cannot be decrypted with the configured secret keys",
                hint="set LEDGERBRIDGE_SECRET_KEY (and LEDGERBRIDGE_OLD_SECRET_KEYS during a "
                "rotation) to the keys the credentials were sealed with",
            ) from None
        result: dict[str, Any] = store.loads(plain) or {}
        return result

    def rotate(self, token: bytes) -> bytes:
        """Re-seal a token under the current key."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise errors.ConfigError(
                "a sealed credential cannot be opened with any configured key"
            ) from None


def connection_settings(
    db: store.Database, tenant_id: str, connection_id: str, *, secret_key: str | Keyring
) -> dict[str, Any]:
    """Return a connection's settings with its decrypted credentials merged in (for workers).

    Args:
        db: the database.
        tenant_id: the tenant that owns the connection.
        connection_id: the connection.
        secret_key: the secret key string, or a keyring holding it.

    Returns:
        The settings document; credential keys override settings keys of the same name.

    Raises:
        NotFoundError: the tenant has no such connection.
        ConfigError: the credentials cannot be decrypted.
    """
    keyring = secret_key if isinstance(secret_key, Keyring) else Keyring([secret_key])
    with db.read() as conn:
        row = store.tenancy.get_connection(conn, tenant_id, connection_id)
    if row is None:
        raise errors.NotFoundError(
            f"connection {connection_id} of tenant {tenant_id} does not exist"
        )
    settings: dict[str, Any] = store.loads(row.settings) or {}
    if row.secret:
        settings.update(keyring.open(row.secret))
    return settings


def rotate_credentials(db: store.Database, *, keyring: Keyring) -> int:
    """Re-seal every connection's credentials under the keyring's current key.

    Runs in one transaction, so a failure leaves every credential as it was.

    Returns:
        How many connections were re-sealed.

    Raises:
        ConfigError: a credential cannot be opened with any key of the keyring.
    """
    with db.write() as conn:
        rows = scoped.sealed_credentials(conn)
        for row in rows:
            scoped.update_connection(
                conn, row.tenant_id, row.id, {"secret": keyring.rotate(row.secret)}
            )
    return len(rows)
