"""Loopback throughput of the sandboxes (printed; run with -s to see the figures)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from ledgerbridge.sandboxes import ErpConfig, PsaConfig, start_erp, start_psa

AUTH = {"Authorization": "Bearer sandbox-token"}
SECONDS = 1.5
IN_FLIGHT = 32
FLOOR = 300


async def _measure(method: str, url: str, body: object | None) -> float:
    count = 0
    deadline = time.perf_counter() + SECONDS
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(headers=AUTH, connector=connector) as session:

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                async with session.request(method, url, json=body) as response:
                    await response.read()
                    assert response.status == 200
                count += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return count / (time.perf_counter() - start)


@pytest.mark.slow
def test_erp_sandbox_serves_hundreds_of_requests_per_second():
    """A simple GET and a create each exceed the floor on loopback (figures are printed)."""
    with start_erp(ErpConfig(throttle=False)) as srv:
        base = f"{srv.url}/v3/company/1"
        get_rate = asyncio.run(_measure("GET", f"{base}/account/1", None))
        vendor = srv.state.create("1", "Vendor", {"DisplayName": "Contractor"})
        activity = {"NameOf": "Vendor", "VendorRef": {"value": vendor["Id"]}, "Hours": 1}
        create_rate = asyncio.run(_measure("POST", f"{base}/timeactivity", activity))
    print(f"\nERP GET {get_rate:.0f} req/s, create {create_rate:.0f} req/s")
    assert get_rate > FLOOR
    assert create_rate > FLOOR


@pytest.mark.slow
def test_psa_sandbox_serves_hundreds_of_requests_per_second():
    """A simple GET and a create each exceed the floor on loopback (figures are printed)."""
    with start_psa(PsaConfig(rate_limit=None)) as srv:
        srv.state.apply(
            {
                "seq": 1,
                "at": "2026-10-03T00:00:00Z",
                "op": "create",
                "resource": "workspaces",
                "id": "1",
                "fields": {"title": "W"},
            }
        )
        base = f"{srv.url}/api/v1"
        get_rate = asyncio.run(_measure("GET", f"{base}/workspaces/1", None))
        entry = {
            "time_entry": {
                "workspace_id": "1",
                "date_performed": "2026-10-03",
                "time_in_minutes": 60,
            }
        }
        create_rate = asyncio.run(_measure("POST", f"{base}/time_entries", entry))
    print(f"\nPSA GET {get_rate:.0f} req/s, create {create_rate:.0f} req/s")
    assert get_rate > FLOOR
    assert create_rate > FLOOR
