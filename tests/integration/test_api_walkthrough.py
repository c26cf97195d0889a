"""The partner walk-through of docs/walkthrough.md, over HTTP against a real uvicorn server.

The first test drives the engine over the ``memory`` connector kind; the second connects
the Kantata and QuickBooks sandboxes and deploys the shipped delivery-to-cash blueprint.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from pathlib import Path

from ledgerbridge import engine, store, tenancy
from ledgerbridge.api import create_app
from ledgerbridge.api._signatures import sign_generic
from ledgerbridge.testing import MemoryTarget
from tests.conftest import ENGINE_BLUEPRINT
from tests.integration.test_api_support import bearer, http, settings_for

HOOK_SECRET = "whsec-walkthrough-7f3a9c"


def _signed(body: bytes) -> dict[str, str]:
    signature = sign_generic(body, HOOK_SECRET, timestamp=int(time.time()))
    return {"X-Ledgerbridge-Signature": signature, "Content-Type": "application/json"}


def _time_entry(external_id: str, hours: float) -> bytes:
    event = {
        "event_type": "time_entry.approved",
        "object_type": "time_entry",
        "external_id": external_id,
        "source_version": 1,
        "record": {"hours": hours},
    }
    return json.dumps({"events": [event]}).encode()


def test_walkthrough_partner_onboards_a_tenant_and_works_an_exception(
    db_path: Path, db: store.Database
) -> None:
    """A partner creates a tenant, connects, deploys, ingests, runs and retries over HTTP."""
    target = MemoryTarget.reset("walkthrough-erp")
    _, platform_key = tenancy.bootstrap_api_key(db, name="platform")
    app = create_app(settings_for(db_path), db=db)
    with http(app, platform_key) as platform:
        partner = platform.post(
            "/api/v1/partners",
            json={
                "name": "Northwind Advisory",
                "brand": {
                    "display_name": "Northwind Connect",
                    "primary_colour": "#0A3D62",
                    "support_email": "help@northwind.example",
                    "domains": ["connect.northwind.example"],
                },
            },
        )
        assert partner.status_code == 201, partner.text
        created = platform.post(
            "/api/v1/api-keys",
            json={
                "name": "northwind admin",
                "role": "partner_admin",
                "partner_id": partner.json()["id"],
            },
        )
        assert created.status_code == 201, created.text
        partner_key = created.json()["key"]
    with http(app, partner_key) as api:
        tenant = api.post(
            "/api/v1/tenants", json={"name": "Contoso Consulting", "sla_tier": "gold"}
        ).json()["id"]
        base = f"/api/v1/tenants/{tenant}"
        psa = api.post(
            f"{base}/connections",
            json={
                "kind": "memory",
                "environment": "production",
                "settings": {"target": "walkthrough-psa"},
                "credentials": {"webhook_secret": HOOK_SECRET},
            },
        ).json()
        erp = api.post(
            f"{base}/connections",
            json={
                "kind": "memory",
                "settings": {"target": "walkthrough-erp"},
                "credentials": {"client_secret": "s3cr3t"},
            },
        ).json()
        for connection in (psa, erp):
            assert api.post(f"{base}/connections/{connection['id']}/test").json() == {
                "ok": True,
                "error": None,
            }
        deployment = api.post(
            f"{base}/deployments",
            json={
                "document": ENGINE_BLUEPRINT,
                "bindings": {"source": psa["id"], "target": erp["id"]},
            },
        )
        assert deployment.status_code == 201, deployment.text

        for external_id, hours in (("te-1", 2.5), ("te-2", 30.0)):
            body = _time_entry(external_id, hours)
            answer = api.post(f"/hooks/{psa['id']}", content=body, headers=_signed(body))
            assert answer.status_code == 202, answer.text

        keyring = app.state.keyring
        loader = functools.partial(tenancy.connection_settings, db, secret_key=keyring)
        asyncio.run(engine.Worker(db, settings_loader=loader).run(once=True))

        runs = api.get("/api/v1/runs", params={"tenant_id": tenant}).json()["items"]
        assert sorted(r["status"] for r in runs) == ["parked", "succeeded"]
        done = next(r for r in runs if r["status"] == "succeeded")
        steps = api.get(f"/api/v1/runs/{done['id']}/steps").json()["items"]
        assert [s["name"] for s in steps] == ["first", "second"]
        assert len(target.effects) == 2

        exceptions = api.get("/api/v1/exceptions", params={"status": "open"}).json()["items"]
        assert len(exceptions) == 1
        assert "hours" in exceptions[0]["reason"]
        retried = api.post(f"/api/v1/exceptions/{exceptions[0]['id']}/retry")
        assert retried.status_code == 200, retried.text
        again = api.post(f"/api/v1/exceptions/{exceptions[0]['id']}/retry")
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"

        audit = api.get("/api/v1/audit", params={"tenant_id": tenant, "limit": 100}).json()["items"]
        actions = [row["action"] for row in audit]
        assert {
            "tenant.created",
            "connection.added",
            "blueprint.deployed",
            "exception.retried",
        } <= set(actions)
        api_actions = {
            "tenant.created",
            "connection.added",
            "blueprint.deployed",
            "exception.retried",
        }
        assert all(r["actor"].startswith("key:") for r in audit if r["action"] in api_actions)
        assert api.post("/api/v1/audit/verify", json={"tenant_id": tenant}).json()[0]["ok"] is True
    with http(app) as anonymous:
        assert anonymous.get("/api/v1/runs").status_code == 401
    with http(app, "lbk_nope_nope") as wrong:
        assert wrong.get("/api/v1/runs", headers=bearer("lbk_nope_nope")).status_code == 401
