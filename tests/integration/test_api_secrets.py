"""Credentials are sealed at rest, never returned, and survive a key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledgerbridge import errors, store, tenancy
from ledgerbridge.api import create_app
from ledgerbridge.api.cli import secrets_app
from tests.integration.test_api_support import SECRET, http, settings_for

CLEAR = "pw-CLEARTEXT-should-never-hit-disk-0042"
NEW_SECRET = "n3w-Key-00112233445566778899aabbccddeeff"


def _database_bytes(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))


def _setup(db_path: Path, db: store.Database) -> tuple[str, list[str]]:
    partner = tenancy.create_partner(db, name="P")
    _, key = tenancy.bootstrap_api_key(db, name="k", role="partner_admin", partner_id=partner)
    with http(create_app(settings_for(db_path), db=db), key) as client:
        tenant = client.post("/api/v1/tenants", json={"name": "Firm"}).json()["id"]
        ids = []
        for n in range(3):
            answer = client.post(
                f"/api/v1/tenants/{tenant}/connections",
                json={
                    "kind": "memory",
                    "settings": {"target": f"t{n}"},
                    "credentials": {"password": f"{CLEAR}-{n}", "client_secret": CLEAR},
                },
            )
            assert answer.status_code == 201, answer.text
            assert CLEAR not in answer.text
            assert answer.json()["has_credentials"] is True
            ids.append(answer.json()["id"])
        listed = client.get(f"/api/v1/tenants/{tenant}/connections").text
        audit = client.get("/api/v1/audit", params={"limit": 500}).text
    assert CLEAR not in listed and CLEAR not in audit
    return tenant, ids


def test_secrets_not_in_database_file_in_clear(db_path: Path, db: store.Database) -> None:
    """The SQLite file (and its WAL) holds no credential in clear text, and the API shows none."""
    tenant, ids = _setup(db_path, db)
    assert CLEAR.encode() not in _database_bytes(db_path)
    settings = tenancy.connection_settings(db, tenant, ids[1], secret_key=SECRET)
    assert settings == {"target": "t1", "password": f"{CLEAR}-1", "client_secret": CLEAR}


def test_secrets_rotate_keeps_every_connection_readable(
    db_path: Path, db: store.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`secrets rotate` re-seals everything under the new key; the old key alone then fails."""
    tenant, ids = _setup(db_path, db)
    monkeypatch.setenv("LEDGERBRIDGE_SECRET_KEY", NEW_SECRET)
    monkeypatch.setenv("LEDGERBRIDGE_OLD_SECRET_KEYS", SECRET)
    result = CliRunner().invoke(secrets_app, ["rotate", "--database-url", f"sqlite:///{db_path}"])
    assert result.exit_code == 0, result.output
    assert "3 connection(s)" in result.output
    for n, cid in enumerate(ids):
        settings = tenancy.connection_settings(db, tenant, cid, secret_key=NEW_SECRET)
        assert settings["password"] == f"{CLEAR}-{n}"
    with pytest.raises(errors.ConfigError, match="cannot be decrypted"):
        tenancy.connection_settings(db, tenant, ids[0], secret_key=SECRET)
    assert CLEAR.encode() not in _database_bytes(db_path)


def test_secrets_rotate_refuses_placeholder_key(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI refuses to run with a placeholder secret key, in one red line."""
    monkeypatch.setenv("LEDGERBRIDGE_SECRET_KEY", "changeme")
    result = CliRunner().invoke(secrets_app, ["rotate", "--database-url", f"sqlite:///{db_path}"])
    assert result.exit_code == 1
    assert "placeholder" in result.output
