"""A partner connects the PSA and ERP sandboxes over the API and watches runs arrive."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ledgerbridge import sample, sandboxes, store, tenancy
from ledgerbridge.api import create_app
from ledgerbridge.api._background import work_until
from tests.integration.test_api_support import http, settings_for

SHIPPED = Path("src/ledgerbridge/blueprints/shipped/delivery-to-cash.yaml")
FIRM = sample.SampleConfig(
    seed=5,
    people=10,
    clients=3,
    projects=4,
    entries_per_month=150,
    expenses_per_month=15,
    problem_rate=0.3,
)


def test_walkthrough_with_sandboxes_posts_time_and_retries_an_exception(
    db_path: Path, db: store.Database
):
    """Create tenant, connect sandboxes, test them, deploy, see runs and postings, retry an exception."""
    _, platform_key = tenancy.bootstrap_api_key(db, name="platform")
    app = create_app(settings_for(db_path), db=db)
    psa = sandboxes.start_psa(sandboxes.PsaConfig(tokens=("psa-t",), rate_limit=None))
    erp = sandboxes.start_erp(sandboxes.ErpConfig(tokens=("erp-t",), throttle=False))
    try:
        with http(app, platform_key) as platform:
            partner = platform.post("/api/v1/partners", json={"name": "Northwind Advisory"}).json()[
                "id"
            ]
            key = platform.post(
                "/api/v1/api-keys",
                json={"name": "admin", "role": "partner_admin", "partner_id": partner},
            ).json()["key"]
        with http(app, key) as api:
            tenant = api.post(
                "/api/v1/tenants", json={"name": "Contoso", "sla_tier": "gold"}
            ).json()["id"]
            base = f"/api/v1/tenants/{tenant}"
            psa_conn = api.post(
                f"{base}/connections",
                json={
                    "kind": "kantata",
                    "settings": {"base_url": f"{psa.url}/api/v1", "rate_limit_per_second": 0},
                    "credentials": {"token": "psa-t"},
                },
            ).json()
            erp_conn = api.post(
                f"{base}/connections",
                json={
                    "kind": "quickbooks",
                    "settings": {
                        "base_url": erp.url,
                        "realm_id": "9130",
                        "rate_limit_per_second": 0,
                    },
                    "credentials": {"access_token": "erp-t"},
                },
            ).json()
            for connection in (psa_conn, erp_conn):
                tested = api.post(f"{base}/connections/{connection['id']}/test").json()
                assert tested == {"ok": True, "error": None}, tested
            assert "erp-t" not in str(api.get(f"{base}/connections/{erp_conn['id']}").json())
            deployed = api.post(
                f"{base}/deployments",
                json={
                    "document": SHIPPED.read_text(),
                    "bindings": {"psa": psa_conn["id"], "erp": erp_conn["id"]},
                },
            )
            assert deployed.status_code == 201, deployed.text

            # Two weeks, a week at a time: the PSA's change feed keeps nine days.
            ops = sample.generate(FIRM).ops
            for start, end in (("", "2026-10-08"), ("2026-10-08", "2026-10-15")):
                psa.state.apply_many([op for op in ops if start <= op["at"] < end])
                loops = {"n": 0}

                def stop(loops: dict[str, int] = loops) -> bool:
                    loops["n"] += 1
                    return loops["n"] > 40

                asyncio.run(work_until(db, app.state.keyring, stop, poll_interval=0.3))

            runs = api.get("/api/v1/runs", params={"tenant_id": tenant, "limit": 200}).json()[
                "items"
            ]
            assert {r["flow"] for r in runs} >= {"customer_sync", "project_sync", "post_time"}
            assert sum(1 for r in runs if r["status"] == "succeeded") > 10
            activities = erp.state.query("9130", "SELECT * FROM TimeActivity MAXRESULTS 1000")
            assert len(activities.get("TimeActivity", [])) > 5

            [first, *_] = api.get("/api/v1/exceptions", params={"status": "open"}).json()["items"]
            assert first["reason"]
            retried = api.post(f"/api/v1/exceptions/{first['id']}/retry")
            assert retried.status_code == 200, retried.text
            assert (
                api.post("/api/v1/audit/verify", json={"tenant_id": tenant}).json()[0]["ok"] is True
            )
    finally:
        psa.stop()
        erp.stop()
