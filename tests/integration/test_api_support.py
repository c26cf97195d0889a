"""Shared set-up of the API tests: an app on a fresh database and a two-partner world.

Also tests the settings validation the set-up relies on.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from ledgerbridge import store, tenancy
from ledgerbridge.api import Settings, create_app
from ledgerbridge.engine import Client
from ledgerbridge.model import BusinessEvent
from ledgerbridge.store._tables import events as events_table
from ledgerbridge.store._tables import exceptions as exceptions_table
from ledgerbridge.testing import MemoryTarget, assert_eventually
from tests.conftest import ENGINE_BLUEPRINT

SECRET = "t3st-Key-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
_names = itertools.count()


def settings_for(db_path: Path, **extra: Any) -> Settings:
    """Settings for a test database."""
    return Settings(database_url=f"sqlite:///{db_path}", secret_key=SECRET, **extra)


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yield its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert_eventually(lambda: server.started, message="uvicorn did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def http(app: FastAPI, key: str | None = None) -> Iterator[httpx.Client]:
    """An HTTP client of ``app`` served on loopback, sending ``key`` when given."""
    headers = bearer(key) if key else {}
    with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        yield client


def webhook_tenant(
    db: store.Database, keyring: tenancy.Keyring, *, generic: str, verifier: str, xero_key: str
) -> str:
    """A tenant with three webhook connections, "gen", "qbo" and "xero", under these secrets."""
    partner = tenancy.create_partner(db, name="P")
    tenant = tenancy.create_tenant(db, partner_id=partner, name="T")
    for cid, kind, creds in (
        ("gen", "memory", {"webhook_secret": generic}),
        ("qbo", "quickbooks", {"verifier_token": verifier}),
        ("xero", "xero", {"webhook_key": xero_key}),
    ):
        tenancy.add_connection(
            db,
            tenant_id=tenant,
            kind=kind,
            settings={},
            connection_id=cid,
            credentials=creds,
            keyring=keyring,
        )
    return tenant


def stored_events(db: store.Database) -> int:
    """How many inbound events the inbox holds."""
    with db.read() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(events_table)) or 0)


def bearer(key: str) -> dict[str, str]:
    """The Authorization header of an API key."""
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Side:
    """One partner with two tenants, and everything a caller could reach in them."""

    partner_id: str
    tenant_id: str
    other_tenant_id: str
    partner_key: str
    tenant_key: str
    ids: dict[str, str] = field(default_factory=dict)


def _tenant_objects(db: store.Database, keyring: tenancy.Keyring, tenant_id: str) -> dict[str, str]:
    target = f"iso-{next(_names)}"
    MemoryTarget.reset(target)
    for cid in ("erp", "psa"):
        tenancy.add_connection(
            db,
            tenant_id=tenant_id,
            kind="memory",
            settings={"target": target},
            connection_id=f"{cid}-{tenant_id}",
            credentials={"token": f"tok-{tenant_id}"},
            keyring=keyring,
        )
    deployment = tenancy.deploy_blueprint(
        db,
        tenant_id=tenant_id,
        document=ENGINE_BLUEPRINT,
        bindings={"target": f"erp-{tenant_id}", "source": f"psa-{tenant_id}"},
    )
    event = BusinessEvent(
        tenant_id=tenant_id,
        connection_id=f"psa-{tenant_id}",
        event_type="time_entry.approved",
        object_type="time_entry",
        external_id=f"te-{tenant_id}",
        source_version=1,
        payload={"record": {"hours": 2}},
    )
    result = Client(db).ingest([event])
    with db.read() as conn:
        run = store.runs.list_runs(conn, tenant_id=tenant_id)[0]
    exception_id = f"exc-{tenant_id}"
    with db.write() as conn:
        conn.execute(
            exceptions_table.insert(),
            {
                "tenant_id": tenant_id,
                "id": exception_id,
                "run_id": run.id,
                "flow": run.flow,
                "status": "open",
                "error_kind": "permanent",
                "reason": "refused",
                "detail": "{}",
                "created_at": 1.0,
            },
        )
        store.xrefs.save(
            conn,
            [
                {
                    "tenant_id": tenant_id,
                    "object_type": "customer",
                    "canonical_id": f"cust-{tenant_id}",
                    "system": "memory",
                    "external_id": f"x-{tenant_id}",
                    "data": "{}",
                    "updated_at": 1.0,
                }
            ],
        )
    return {
        "tenant_id": tenant_id,
        "connection_id": f"erp-{tenant_id}",
        "deployment_id": deployment,
        "event_id": result.event_ids[0],
        "run_id": run.id,
        "exception_id": exception_id,
    }


def make_side(db: store.Database, keyring: tenancy.Keyring, name: str) -> Side:
    """Create a partner with two tenants full of objects, and a partner and a tenant key."""
    partner_id = tenancy.create_partner(db, name=name, brand={"display_name": name})
    tenants = [tenancy.create_tenant(db, partner_id=partner_id, name=f"{name} {i}") for i in (1, 2)]
    _, partner_key = tenancy.bootstrap_api_key(
        db, name="admin", role="partner_admin", partner_id=partner_id
    )
    system = tenancy.Principal(actor="test", role=tenancy.PLATFORM_ADMIN, scope=store_scope())
    key_row, tenant_key = tenancy.access.create_api_key(
        db, system, name="t", role="partner_admin", partner_id=partner_id, tenant_id=tenants[0]
    )
    user = tenancy.access.create_user(
        db,
        system,
        email=f"{name.lower()}-{next(_names)}@example.com",
        password="correct horse battery",
        role="partner_operator",
        partner_id=partner_id,
    )
    side = Side(
        partner_id=partner_id,
        tenant_id=tenants[0],
        other_tenant_id=tenants[1],
        partner_key=partner_key,
        tenant_key=tenant_key,
    )
    side.ids = {
        "partner_id": partner_id,
        "key_id": key_row["id"],
        "user_id": user["id"],
        "environment": "production",
    }
    side.ids.update(
        {f"{tenants[1]}:{k}": v for k, v in _tenant_objects(db, keyring, tenants[1]).items()}
    )
    side.ids.update(_tenant_objects(db, keyring, tenants[0]))
    return side


def store_scope() -> Any:
    """The platform scope."""
    from ledgerbridge.store._scoped import Scope

    return Scope()


def test_settings_refuse_placeholder_secret(tmp_path: Path) -> None:
    """A placeholder or short secret key is refused when the settings are built."""
    for bad in ("changeme-changeme-changeme-changeme", "short"):
        with pytest.raises(ValidationError, match="secret key"):
            Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", secret_key=bad)


def test_settings_read_secret_from_file(tmp_path: Path) -> None:
    """The secret key can come from a file."""
    path = tmp_path / "key"
    path.write_text(SECRET + "\n")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", secret_key_file=path)
    assert settings.keyring().open(settings.keyring().seal({"a": 1})) == {"a": 1}


def test_healthz_and_readyz(db_path: Path, db: store.Database) -> None:
    """/healthz answers while up; /readyz only when the database is migrated."""
    with http(create_app(settings_for(db_path), db=db)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        assert client.get("/readyz").status_code == 200
    empty = store.Database(f"sqlite:///{db_path.parent / 'empty.db'}")
    with http(create_app(settings_for(db_path), db=empty)) as client:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert "needs 0002" in answer.json()["detail"]
    empty.dispose()
