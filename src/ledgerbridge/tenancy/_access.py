"""Who calls: roles, principals, API keys and users.

A role says what a caller may do, its scope says where. API keys look like
``lbk_<key id hex>_<secret>``; only their SHA-256 is stored (keys are long random strings,
so a fast hash is enough and keeps every request cheap). User passwords, which people
choose, are hashed with scrypt.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ledgerbridge import errors, store
from ledgerbridge.engine import new_id
from ledgerbridge.store import _auth as auth_queries
from ledgerbridge.store import _scoped as scoped
from ledgerbridge.store._audit import AuditEntry
from ledgerbridge.store._scoped import Scope

KEY_PREFIX = "lbk_"
PLATFORM_ADMIN = "platform_admin"
#: roles a partner hands out, most powerful first
ROLES = ("partner_admin", "partner_operator", "tenant_viewer")
#: a key's last-used time is written at most this often
TOUCH_INTERVAL_S = 60.0
PLATFORM_CHAIN = "platform"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD_LENGTH = 12


class Permission(enum.StrEnum):
    """What an action needs."""

    READ = "read"  #: see objects
    OPERATE = "operate"  #: retry, skip, approve, replay, verify the audit trail
    MANAGE = "manage"  #: create and change tenants, connections, deployments, keys, users
    PLATFORM = "platform"  #: create and change partners


_GRANTS = {
    PLATFORM_ADMIN: frozenset(Permission),
    "partner_admin": frozenset({Permission.READ, Permission.OPERATE, Permission.MANAGE}),
    "partner_operator": frozenset({Permission.READ, Permission.OPERATE}),
    "tenant_viewer": frozenset({Permission.READ}),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Principal:
    """An authenticated caller."""

    actor: str  #: as written to the audit trail, e.g. ``key:key_0190...``
    role: str
    scope: Scope

    def can(self, permission: Permission) -> bool:
        """Whether the role grants ``permission``."""
        return permission in _GRANTS.get(self.role, frozenset())

    def require(self, permission: Permission) -> None:
        """Raise unless the role grants ``permission``.

        Raises:
            ConfigError: with status 403.
        """
        if not self.can(permission):
            raise errors.ConfigError(
                f"role {self.role} may not {permission.value} here", status_code=403
            )

    @property
    def chain(self) -> str:
        """The audit chain of actions that concern no single tenant."""
        return self.scope.tenant_id or self.scope.partner_id or PLATFORM_CHAIN


def unauthorized(message: str) -> errors.ConfigError:
    """Return the error for a missing or bad credential (status 401)."""
    return errors.ConfigError(message, status_code=401)


def audit(
    conn: sa.Connection, chain: str, actor: str, action: str, subject: str, **detail: Any
) -> None:
    """Append one entry to an audit chain, in the caller's transaction."""
    entry = AuditEntry(
        tenant_id=chain, actor=actor, action=action, subject=subject, detail=detail, at=time.time()
    )
    store.audit.append(conn, [entry])


def _check_grant(principal: Principal, *, role: str, scope: Scope) -> None:
    allowed = ROLES if principal.scope.is_platform else ROLES[ROLES.index(principal.role) :]
    if role == PLATFORM_ADMIN and principal.role == PLATFORM_ADMIN and scope.is_platform:
        return
    if role not in allowed:
        raise errors.ConfigError(
            f"role {principal.role} may not grant role {role}", status_code=403
        )
    if scope.is_platform:
        raise errors.ConfigError("a key or user needs a partner", field="partner_id")


def resolve_scope(
    conn: sa.Connection, principal: Principal, *, partner_id: str | None, tenant_id: str | None
) -> Scope:
    """Return the scope a new key or user gets, checked against the principal's own.

    Raises:
        NotFoundError: the partner or tenant is outside the principal's scope.
    """
    own = principal.scope
    partner_id = partner_id or own.partner_id
    tenant_id = tenant_id or own.tenant_id
    if partner_id is None:
        return Scope()
    if own.partner_id not in (None, partner_id) or own.tenant_id not in (None, tenant_id):
        raise errors.NotFoundError(f"partner {partner_id} does not exist")
    if tenant_id is not None:
        tenant = store.tenancy.get_tenant(conn, tenant_id)
        if tenant is None or tenant.partner_id != partner_id:
            raise errors.NotFoundError(f"tenant {tenant_id} does not exist")
    elif not _partner_exists(conn, partner_id):
        raise errors.NotFoundError(f"partner {partner_id} does not exist")
    return Scope(partner_id=partner_id, tenant_id=tenant_id)


def _partner_exists(conn: sa.Connection, partner_id: str) -> bool:
    return scoped.get_partner(conn, Scope(), partner_id) is not None


# API keys -------------------------------------------------------------------------------
def hash_key(token: str) -> str:
    """Return the stored hash of an API key."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_key(
    db: store.Database,
    principal: Principal,
    *,
    name: str,
    role: str,
    partner_id: str | None = None,
    tenant_id: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Create an API key inside the principal's scope.

    Returns:
        The stored key (without any secret) and the key itself, which is shown only once.

    Raises:
        ConfigError: the principal may not grant ``role`` (403) or no partner was named.
        NotFoundError: the partner or tenant is outside the principal's scope.
    """
    with db.write() as conn:
        scope = resolve_scope(conn, principal, partner_id=partner_id, tenant_id=tenant_id)
        _check_grant(principal, role=role, scope=scope)
        token, row = _new_key_row(name=name, role=role, scope=scope, actor=principal.actor)
        auth_queries.insert_api_key(conn, row)
        chain = scope.tenant_id or scope.partner_id or PLATFORM_CHAIN
        audit(conn, chain, principal.actor, "api_key.created", f"api_key:{row['id']}", role=role)
    return key_view(row), token


def bootstrap_api_key(
    db: store.Database, *, name: str, role: str = PLATFORM_ADMIN, partner_id: str | None = None
) -> tuple[dict[str, Any], str]:
    """Create a key without a caller (the first platform or partner key, from the CLI)."""
    system = Principal(actor="system", role=PLATFORM_ADMIN, scope=Scope())
    return create_api_key(db, system, name=name, role=role, partner_id=partner_id)


def _new_key_row(*, name: str, role: str, scope: Scope, actor: str) -> tuple[str, dict[str, Any]]:
    key_id = new_id("key")
    token = f"{KEY_PREFIX}{key_id.removeprefix('key_')}_{secrets.token_urlsafe(32)}"
    row = {
        "id": key_id,
        "partner_id": scope.partner_id,
        "tenant_id": scope.tenant_id,
        "name": name,
        "role": role,
        "key_hash": hash_key(token),
        "created_by": actor,
        "created_at": time.time(),
        "last_used_at": None,
        "revoked_at": None,
    }
    return token, row


def key_view(row: Any) -> dict[str, Any]:
    """Return an API key as the API shows it (never its hash)."""
    data = dict(row) if isinstance(row, dict) else dict(row._mapping)
    data.pop("key_hash", None)
    return data


def authenticate(db: store.Database, token: str) -> Principal:
    """Return the principal of an API key.

    Raises:
        ConfigError: with status 401 when the key is malformed, unknown or revoked.
    """
    if not token.startswith(KEY_PREFIX) or token.count("_") < 2:
        raise unauthorized("the bearer token is not a ledgerbridge API key")
    key_id = "key_" + token[len(KEY_PREFIX) :].split("_", 1)[0]
    with db.read() as conn:
        row = auth_queries.find_api_key(conn, key_id)
    if row is None or not hmac.compare_digest(row.key_hash, hash_key(token)):
        raise unauthorized("the API key is not valid")
    if row.revoked_at is not None:
        raise unauthorized("the API key was revoked")
    now = time.time()
    if row.last_used_at is None or row.last_used_at < now - TOUCH_INTERVAL_S:
        with db.write() as conn:
            auth_queries.touch_api_key(conn, key_id, now=now, older_than=now - TOUCH_INTERVAL_S)
    scope = Scope(partner_id=row.partner_id, tenant_id=row.tenant_id)
    return Principal(actor=f"key:{key_id}", role=row.role, scope=scope)


def revoke_api_key(db: store.Database, principal: Principal, key_id: str) -> dict[str, Any]:
    """Revoke a key inside the principal's scope; return it.

    Raises:
        NotFoundError: no such key inside the scope.
    """
    with db.write() as conn:
        if auth_queries.get_api_key(conn, principal.scope, key_id) is None:
            raise errors.NotFoundError(f"API key {key_id} does not exist")
        auth_queries.revoke_api_key(conn, key_id, now=time.time())
        audit(conn, principal.chain, principal.actor, "api_key.revoked", f"api_key:{key_id}")
        row = auth_queries.get_api_key(conn, principal.scope, key_id)
    return key_view(row)


# users ----------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    """Return a salted scrypt hash of ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    encode = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password`."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def create_user(
    db: store.Database,
    principal: Principal,
    *,
    email: str,
    password: str,
    role: str,
    display_name: str = "",
    partner_id: str | None = None,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    """Create a console user inside the principal's scope; return it (without the hash).

    Raises:
        ConfigError: the password is too short, the role may not be granted (403) or no
            partner was named.
        PermanentError: the e-mail address is taken.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise errors.ConfigError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    password_hash = hash_password(password)
    with db.write() as conn:
        scope = resolve_scope(conn, principal, partner_id=partner_id, tenant_id=tenant_id)
        _check_grant(principal, role=role, scope=scope)
        if auth_queries.find_user_by_email(conn, email) is not None:
            raise errors.PermanentError(f"a user with e-mail {email} already exists", field="email")
        row = {
            "id": new_id("usr"),
            "partner_id": scope.partner_id,
            "tenant_id": scope.tenant_id,
            "email": email,
            "display_name": display_name,
            "role": role,
            "password_hash": password_hash,
            "created_at": time.time(),
            "disabled_at": None,
        }
        auth_queries.insert_user(conn, row)
        chain = scope.tenant_id or scope.partner_id or PLATFORM_CHAIN
        audit(conn, chain, principal.actor, "user.created", f"user:{row['id']}", role=role)
    return user_view(row)


def user_view(row: Any) -> dict[str, Any]:
    """Return a user as the API shows it (never the password hash)."""
    data = dict(row) if isinstance(row, dict) else dict(row._mapping)
    data.pop("password_hash", None)
    return data


def authenticate_user(db: store.Database, email: str, password: str) -> Principal:
    """Return the principal of a console user.

    Raises:
        ConfigError: with status 401 when the e-mail or password is wrong or the user is disabled.
    """
    with db.read() as conn:
        row = auth_queries.find_user_by_email(conn, email)
    if (
        row is None
        or row.disabled_at is not None
        or not verify_password(password, row.password_hash)
    ):
        raise unauthorized("the e-mail address or password is wrong")
    scope = Scope(partner_id=row.partner_id, tenant_id=row.tenant_id)
    return Principal(actor=f"user:{row.id}", role=row.role, scope=scope)


def disable_user(db: store.Database, principal: Principal, user_id: str) -> dict[str, Any]:
    """Disable a user inside the principal's scope; return it.

    Raises:
        NotFoundError: no such user inside the scope.
    """
    with db.write() as conn:
        if auth_queries.get_user(conn, principal.scope, user_id) is None:
            raise errors.NotFoundError(f"user {user_id} does not exist")
        auth_queries.disable_user(conn, user_id, now=time.time())
        audit(conn, principal.chain, principal.actor, "user.disabled", f"user:{user_id}")
        row = auth_queries.get_user(conn, principal.scope, user_id)
    return user_view(row)
