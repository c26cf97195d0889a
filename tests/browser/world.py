"""A two-partner world for the console tests, with real runs and exceptions, served on loopback.

Partner A (Harbor) answers on ``a.localhost``, partner B (Beacon) on ``b.localhost``;
Chromium resolves every ``*.localhost`` name to loopback, and plain HTTP clients send the
name in the ``Host`` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from ledgerbridge import console, errors, store, tenancy
from ledgerbridge.api import Settings, create_app
from ledgerbridge.engine import Client, Worker
from ledgerbridge.model import BusinessEvent
from ledgerbridge.testing import MemoryTarget, assert_eventually
from tests.conftest import ENGINE_BLUEPRINT

SECRET = "c0nsole-Key-5e4d3c2b1a09f8e7d6c5b4a392817060"
PASSWORD = "correct-horse-battery"
HOST_A, HOST_B = "a.localhost", "b.localhost"
BRAND_A = {
    "display_name": "Harbor Cloud Ops",
    "primary_colour": "#0A3D62",
    "accent_colour": "#1B6CA8",
    "support_email": "help@harbor.example",
    "domains": [HOST_A],
}
BRAND_B = {
    "display_name": "Beacon Finance Hub",
    "primary_colour": "#7A1F5C",
    "accent_colour": "#A23B72",
    "support_email": "care@beacon.example",
    "domains": [HOST_B],
}
ERP_REFUSAL = "customer CUST-17 does not exist in the ERP"
_names = itertools.count()


@dataclass
class World:
    """Ids and handles the console tests use."""

    db: store.Database
    db_path: Path
    partner_a: str = ""
    partner_b: str = ""
    tenants: dict[str, str] = field(default_factory=dict)  #: name -> id
    targets: dict[str, MemoryTarget] = field(default_factory=dict)  #: tenant id -> ERP target
    exceptions: dict[str, str] = field(default_factory=dict)  #: label -> exception id
    users: dict[str, str] = field(default_factory=dict)  #: label -> e-mail

    def drain(self) -> None:
        """Run the worker until nothing is due (in a thread: the caller may run a loop)."""
        thread = threading.Thread(target=lambda: asyncio.run(Worker(self.db).run(once=True)))
        thread.start()
        thread.join(60)


def _tenant(world: World, partner_id: str, name: str, tier: str) -> str:
    tenant_id = tenancy.create_tenant(world.db, partner_id=partner_id, name=name, sla_tier=tier)
    target = MemoryTarget.reset(f"console-erp-{next(_names)}")
    for cid, target_name in (("erp", target.name), ("psa", f"{target.name}-psa")):
        tenancy.add_connection(
            world.db,
            tenant_id=tenant_id,
            kind="memory",
            settings={"target": target_name},
            connection_id=cid,
        )
    tenancy.deploy_blueprint(
        world.db,
        tenant_id=tenant_id,
        document=ENGINE_BLUEPRINT,
        bindings={"target": "erp", "source": "psa"},
    )
    world.tenants[name] = tenant_id
    world.targets[tenant_id] = target
    return tenant_id


def _event(tenant_id: str, external_id: str, hours: float) -> BusinessEvent:
    return BusinessEvent(
        tenant_id=tenant_id,
        connection_id="psa",
        event_type="time_entry.approved",
        object_type="time_entry",
        external_id=external_id,
        source_version=1,
        payload={
            "record": {"id": external_id, "hours": hours, "customer_id": "CUST-17"},
            "raw": {"id": external_id, "hours": hours, "approved": True},
        },
    )


def _open_exception(db: store.Database, tenant_id: str, reason_part: str) -> str:
    rows = Client(db).list_exceptions(tenant_id=tenant_id)
    return next(r["id"] for r in rows if reason_part in r["reason"])


def build(db: store.Database, db_path: Path) -> World:
    """Create partners A and B, three tenants, users, and runs that park two exceptions."""
    world = World(db=db, db_path=db_path)
    world.partner_a = tenancy.create_partner(db, name="Harbor Ledger Services", brand=BRAND_A)
    world.partner_b = tenancy.create_partner(db, name="Beacon Partners", brand=BRAND_B)
    contoso = _tenant(world, world.partner_a, "Contoso Consulting", "gold")
    fabrikam = _tenant(world, world.partner_a, "Fabrikam Advisory", "silver")
    initech = _tenant(world, world.partner_b, "Initech Services", "bronze")
    client = Client(db)
    client.ingest(
        [
            _event(t, f"te-{t[-4:]}-{i}", 2 + i)
            for t in (contoso, fabrikam, initech)
            for i in range(3)
        ]
    )
    client.ingest([_event(fabrikam, "te-long", 30), _event(initech, "te-b-long", 30)])
    world.drain()
    # The ERP refuses the next write of Contoso until the customer exists there.
    world.targets[contoso].fail_plan.extend(
        errors.PermanentError(ERP_REFUSAL, hint="create the customer in the ERP, then retry")
        for _ in range(3)
    )
    client.ingest([_event(contoso, "te-refused", 5)])
    world.drain()
    world.exceptions["refused"] = _open_exception(db, contoso, "CUST-17")
    world.exceptions["fabrikam_hours"] = _open_exception(db, fabrikam, "hours")
    world.exceptions["initech_hours"] = _open_exception(db, initech, "hours")
    for label, partner, tenant, role, email in (
        ("operator_a", world.partner_a, None, "partner_operator", "ops@harbor.example"),
        ("viewer_a", world.partner_a, fabrikam, "tenant_viewer", "finance@fabrikam.example"),
        ("operator_b", world.partner_b, None, "partner_operator", "ops@beacon.example"),
    ):
        console.create_demo_login(
            db, partner, email=email, password=PASSWORD, role=role, tenant_id=tenant
        )
        world.users[label] = email
    return world


@contextlib.contextmanager
def serve(world: World) -> Iterator[int]:
    """Serve the app (API and console) on a free loopback port; yield the port."""
    settings = Settings(database_url=f"sqlite:///{world.db_path}", secret_key=SECRET)
    app = create_app(settings, db=world.db)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert_eventually(lambda: server.started, timeout=20, message="uvicorn did not start")
    port: int = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
