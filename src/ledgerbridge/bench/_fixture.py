"""What a benchmark runs against: a database, an ERP sandbox process, tenants, time entries."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from ledgerbridge import connectors, store, tenancy
from ledgerbridge.bench._postgres import LocalPostgres
from ledgerbridge.model import BusinessEvent
from ledgerbridge.steps import _records

SHIPPED = Path(__file__).parent.parent / "blueprints" / "shipped" / "delivery-to-cash.yaml"
ERP_TOKEN = "bench-erp-token"
PROJECTS_PER_TENANT = 5
MEMORY_BLUEPRINT = """
blueprint: bench-memory
version: 1
schema_version: 1
connections:
  psa: {role: psa}
  erp: {role: erp}
flows:
  - name: post_time
    trigger: {event: time_entry.approved, when: "record.billable"}
    mode: realtime
    steps:
      - {name: post_charge, kind: memory.apply, connection: erp}
"""


@dataclass
class Database:
    """The benchmark's database and, for PostgreSQL, its private server."""

    url: str
    server: LocalPostgres | None = None

    @classmethod
    def start(cls, kind: str, workdir: Path) -> Database:
        """Create an empty migrated database of ``kind`` (``sqlite`` or ``postgres``)."""
        if kind == "postgres":
            server = LocalPostgres(durable=True).start()
            found = cls(url=server.create_database("ledgerbridge_bench"), server=server)
        elif kind == "sqlite":
            found = cls(url=f"sqlite:///{workdir / 'bench.db'}")
        else:
            raise ValueError(f"--db must be sqlite or postgres, not {kind!r}")
        db = store.Database(found.url)
        store.migrate(db)
        db.dispose()
        return found

    def stop(self) -> None:
        """Stop the private server, if any."""
        if self.server is not None:
            self.server.stop()


class ErpProcess:
    """The ERP sandbox in a process of its own, so it does not share the workers' CPU."""

    def __init__(self) -> None:
        cmd = [sys.executable, "-m", "ledgerbridge.bench._erp", ERP_TOKEN]
        self._process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.startswith("http"):
            self.stop()
            raise RuntimeError(f"the ERP sandbox did not start: {line!r}")
        self.url = line

    def stop(self) -> None:
        """Stop the sandbox process (closing its stdin stops it)."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
        if self._process.stdout is not None:
            self._process.stdout.close()


def create_tenants(
    db: store.Database,
    *,
    tenants: int,
    target: str,
    erp_url: str | None,
    tier: str = "gold",
    first: int = 0,
) -> list[str]:
    """Create ``tenants`` tenants with connections and a deployment; return their ids.

    Tenant number ``n`` (counting from ``first``) has its own ERP company.
    """
    partner = tenancy.create_partner(db, name=f"Bench Partner {first}")
    ids = []
    for n in range(first, first + tenants):
        tenant = tenancy.create_tenant(db, partner_id=partner, name=f"Firm {n}", sla_tier=tier)
        tenancy.add_connection(
            db, tenant_id=tenant, kind="memory", settings={}, connection_id="psa"
        )
        if target == "memory":
            settings: dict[str, Any] = {"target": f"bench-{tenant}"}
            tenancy.add_connection(
                db, tenant_id=tenant, kind="memory", settings=settings, connection_id="erp"
            )
            document: str | Path = MEMORY_BLUEPRINT
        else:
            tenancy.add_connection(
                db,
                tenant_id=tenant,
                kind="quickbooks",
                connection_id="erp",
                settings=erp_settings(erp_url or "", n),
            )
            document = SHIPPED
        tenancy.deploy_blueprint(
            db, tenant_id=tenant, document=document, bindings={"psa": "psa", "erp": "erp"}
        )
        ids.append(tenant)
    return ids


def erp_settings(url: str, n: int) -> dict[str, Any]:
    """QuickBooks connection settings for tenant number ``n`` (its own company)."""
    return {
        "base_url": url,
        "realm_id": str(9_130_000_000 + n),
        "connection_id": "erp",
        "access_token": ERP_TOKEN,
        "rate_limit_per_second": 1_000_000,
        "per_minute": 100_000_000,
    }


def customer_record(tenant_n: int, p: int) -> dict[str, Any]:
    """The canonical customer of project ``p``."""
    return {"id": f"cust-{p}", "name": f"Client {tenant_n}-{p}", "currency": "USD", "email": None}


def project_record(tenant_n: int, p: int) -> dict[str, Any]:
    """The canonical time-and-materials project ``p``."""
    return {
        "id": f"proj-{p}", "customer_id": f"cust-{p}", "name": f"Project {tenant_n}-{p}",
        "currency": "USD", "customer_currency": "USD", "billing_type": "time_and_materials",
        "fee": None, "authorized": True,
    }  # fmt: skip


async def seed_erp(
    db: store.Database, tenant_ids: list[str], erp_url: str, *, first: int = 0
) -> None:
    """Create every tenant's customers and projects in the ERP and record their xrefs."""
    connectors.load_builtin()
    rows = []
    async with aiohttp.ClientSession() as session:
        for n, tenant in enumerate(tenant_ids, start=first):
            erp: Any = connectors.create(
                "quickbooks", erp_settings(erp_url, n), session=session, tenant_id=tenant
            )
            for p in range(PROJECTS_PER_TENANT):
                customer = _records.customer(customer_record(n, p))
                cid = await erp.upsert_customer(
                    customer, erp_id=None, idempotency_key=f"seed-c-{tenant}-{p}"
                )
                project = _records.project(project_record(n, p))
                pid = await erp.upsert_project(
                    project,
                    customer_erp_id=cid,
                    erp_id=None,
                    idempotency_key=f"seed-p-{tenant}-{p}",
                )
                rows.append(_xref(tenant, "customer", customer.id, cid, {"name": customer.name}))
                rows.append(
                    _xref(
                        tenant,
                        "project",
                        project.id,
                        pid,
                        {
                            "customer_erp_id": cid,
                            "billing_type": "time_and_materials",
                            "currency": "USD",
                        },
                    )
                )
    with db.write() as conn:
        store.xrefs.save(conn, rows)


def _xref(
    tenant: str, object_type: str, canonical: str, erp_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "tenant_id": tenant, "object_type": object_type, "canonical_id": canonical,
        "system": "erp", "external_id": erp_id, "data": store.dumps(data), "updated_at": 0.0,
    }  # fmt: skip


def time_entry_event(tenant_id: str, n: int) -> BusinessEvent:
    """Approved billable time entry number ``n`` of a tenant, as the PSA connector emits it."""
    minutes = 30 + (n % 16) * 15
    rate = Decimal("150.00")
    hours = (Decimal(minutes) / 60).quantize(Decimal("0.0001"))
    amount = (Decimal(minutes) * rate / 60).quantize(Decimal("0.01"))
    p = n % PROJECTS_PER_TENANT
    record = {
        "id": f"te-{n}", "project_id": f"proj-{p}", "customer_id": f"cust-{p}",
        "resource_id": f"u-{n % 40}", "resource_name": f"Consultant {n % 40}", "role": "Consultant",
        "date": f"2026-11-{1 + n % 28:02d}", "hours": hours, "minutes": minutes, "billable": True,
        "rate": rate, "currency": "USD", "project_currency": "USD", "customer_currency": "USD",
        "amount": amount, "approved": True, "invoiced": False, "notes": f"work item {n}",
    }  # fmt: skip
    return BusinessEvent(
        tenant_id=tenant_id, connection_id="psa", event_type="time_entry.approved",
        object_type="time_entry", external_id=f"te-{n}", source_version=1,
        payload={"record": record},
    )  # fmt: skip


def workdir() -> Path:
    """A fresh temporary directory for the benchmark's files."""
    return Path(tempfile.mkdtemp(prefix="ledgerbridge-bench-"))


def run_seed(db: store.Database, tenant_ids: list[str], erp_url: str, *, first: int = 0) -> None:
    """Synchronous wrapper of :func:`seed_erp`."""
    asyncio.run(seed_erp(db, tenant_ids, erp_url, first=first))
