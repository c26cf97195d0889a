"""Helpers for engine tests: a tenant with a deployment over a memory target, and a fake clock."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

from ledgerbridge import store, tenancy
from ledgerbridge.engine import Client, Worker, WorkerSettings
from ledgerbridge.model import BusinessEvent
from ledgerbridge.testing import MemoryTarget

_names = itertools.count()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Setup:
    db: store.Database
    tenant_id: str
    connection_id: str
    target: MemoryTarget
    clock: FakeClock

    def client(self) -> Client:
        return Client(self.db, clock=self.clock)

    def worker(self, **kwargs: Any) -> Worker:
        settings = kwargs.pop("settings", WorkerSettings(batch_size=50, lease_seconds=30))
        return Worker(self.db, settings=settings, clock=self.clock, **kwargs)

    def drain(self, *, rounds: int = 50) -> None:
        """Run workers until nothing is due, moving the clock past any backoff."""
        for _ in range(rounds):
            done = asyncio.run(self.worker().run(once=True))
            counts = self.client().counts(self.tenant_id)
            if not counts.get("queued") and not counts.get("running") and done == 0:
                return
            self.clock.advance(120)
        raise AssertionError("queue did not drain")

    def event(self, external_id: str, version: int, **record: Any) -> BusinessEvent:
        return BusinessEvent(
            tenant_id=self.tenant_id,
            connection_id="psa",
            event_type="time_entry.approved",
            object_type="time_entry",
            external_id=external_id,
            source_version=version,
            payload={"record": {"hours": record.pop("hours", 1), "version": version, **record}},
        )


def make_setup(
    db: store.Database,
    blueprint: str,
    *,
    retry: dict[str, Any] | None = None,
    tier: str = "silver",
    limits: dict[str, Any] | None = None,
    clock: FakeClock | None = None,
) -> Setup:
    """Create a partner, tenant, memory connection and deployment of ``blueprint``."""
    name = f"target-{next(_names)}"
    target = MemoryTarget.reset(name)
    partner = tenancy.create_partner(db, name="Partner")
    tenant = tenancy.create_tenant(db, partner_id=partner, name="Firm", sla_tier=tier)
    settings: dict[str, Any] = {"target": name}
    if retry:
        settings["retry"] = retry
    if limits:
        settings["limits"] = limits
    tenancy.add_connection(
        db, tenant_id=tenant, kind="memory", settings=settings, connection_id="erp"
    )
    tenancy.add_connection(
        db, tenant_id=tenant, kind="memory", settings={"target": name}, connection_id="psa"
    )
    tenancy.deploy_blueprint(
        db,
        tenant_id=tenant,
        document=blueprint,
        bindings={"target": "erp", "source": "psa"}
        if "source:" in blueprint
        else {"target": "erp"},
    )
    return Setup(
        db=db, tenant_id=tenant, connection_id="erp", target=target, clock=clock or FakeClock()
    )
