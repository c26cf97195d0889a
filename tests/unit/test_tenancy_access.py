"""Keyrings, API key hashing and password hashing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbridge import errors, tenancy
from ledgerbridge.tenancy import access


def test_tenancy_keyring_round_trip_and_rotation() -> None:
    """A keyring opens what older keys sealed and re-seals it under its current key."""
    old = tenancy.Keyring(["o" * 10 + "ld-key-material-0123456789abc"])
    both = tenancy.Keyring(
        ["n" * 10 + "ew-key-material-0123456789abc", "o" * 10 + "ld-key-material-0123456789abc"]
    )
    new_only = tenancy.Keyring(["n" * 10 + "ew-key-material-0123456789abc"])
    token = old.seal({"password": "hunter2"})
    assert b"hunter2" not in token
    rotated = both.rotate(token)
    assert new_only.open(rotated) == {"password": "hunter2"}
    with pytest.raises(errors.ConfigError):
        new_only.open(token)


@settings(max_examples=5, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_tenancy_password_hash_verifies_only_the_password(password: str) -> None:
    """A scrypt hash verifies its password and nothing else."""
    stored = access.hash_password(password)
    assert stored.startswith("scrypt$")
    assert access.verify_password(password, stored)
    assert not access.verify_password(password + "x", stored)


def test_tenancy_verify_password_refuses_garbage() -> None:
    """A stored value that is not a scrypt hash never verifies."""
    assert not access.verify_password("pw", "plain")
    assert not access.verify_password("pw", "bcrypt$1$2$3$4$5")


def test_tenancy_principal_roles() -> None:
    """Roles grant read < operate < manage; only the platform may create partners."""
    scope = access.Scope(partner_id="p")
    viewer = tenancy.Principal(actor="a", role="tenant_viewer", scope=scope)
    operator = tenancy.Principal(actor="a", role="partner_operator", scope=scope)
    assert viewer.can(tenancy.Permission.READ) and not viewer.can(tenancy.Permission.OPERATE)
    assert operator.can(tenancy.Permission.OPERATE) and not operator.can(tenancy.Permission.MANAGE)
    with pytest.raises(errors.ConfigError) as info:
        operator.require(tenancy.Permission.MANAGE)
    assert info.value.status_code == 403
