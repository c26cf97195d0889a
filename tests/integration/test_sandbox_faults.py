"""Fault injection as a client sees it, over real HTTP on loopback."""

from __future__ import annotations

import time

import httpx
import pytest

from ledgerbridge.sandboxes import ErpConfig, FaultPlan, PsaConfig, start_erp, start_psa

AUTH = {"Authorization": "Bearer sandbox-token"}


@pytest.fixture
def erp():
    with start_erp(ErpConfig(throttle=False)) as srv:
        yield srv


def set_plan(srv, **plan):
    response = httpx.put(f"{srv.url}/_admin/faults", json=plan)
    assert response.status_code == 200, response.text
    return response.json()


def stats(srv):
    return httpx.get(f"{srv.url}/_admin/stats").json()


def test_fault_5xx_is_seen_and_counted(erp):
    """An error_5xx rate of 1 answers 503 with a Fault body and counts it."""
    set_plan(erp, error_5xx=1.0, seed=1)
    response = httpx.get(f"{erp.url}/v3/company/1/customer/1", headers=AUTH)
    assert response.status_code == 503
    assert response.json()["Fault"]["type"] == "SystemFault"
    assert stats(erp)["faults"]["error_5xx"] == 1


def test_fault_429_comes_in_bursts_with_retry_after():
    """A 429 burst repeats for throttle_burst requests, each with Retry-After, then clears."""
    with start_psa(
        PsaConfig(rate_limit=None),
        faults=FaultPlan(throttle_429=1.0, throttle_burst=3, retry_after_s=7, seed=3),
    ) as srv:
        first = [httpx.get(f"{srv.url}/api/v1/users", headers=AUTH) for _ in range(3)]
        set_plan(srv, throttle_429=0.0)
        after = httpx.get(f"{srv.url}/api/v1/users", headers=AUTH)
    assert [r.status_code for r in first] == [429, 429, 429]
    assert {r.headers["Retry-After"] for r in first} == {"7"}
    assert after.status_code == 200


def test_fault_burst_continues_after_trigger(erp):
    """Once triggered, a burst continues even when later draws would not trigger."""
    set_plan(erp, throttle_429=0.5, throttle_burst=4, seed=11)
    codes = [
        httpx.get(f"{erp.url}/v3/company/1/customer/1", headers=AUTH).status_code for _ in range(40)
    ]
    first = codes.index(429)
    assert codes[first : first + 4] == [429] * 4


def test_fault_latency_delays_answers(erp):
    """latency_ms delays each answer by at least that long."""
    set_plan(erp, latency_ms=150)
    start = time.perf_counter()
    response = httpx.get(f"{erp.url}/v3/company/1/customer/1", headers=AUTH)
    assert time.perf_counter() - start >= 0.15
    assert response.status_code == 400
    assert stats(erp)["faults"]["latency"] == 1


def test_fault_drop_closes_connection_without_answer(erp):
    """drop_connection closes the connection so the client gets no response at all."""
    set_plan(erp, drop_connection=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{erp.url}/v3/company/1/customer/1", headers=AUTH)
    assert stats(erp)["faults"]["drop_connection"] == 1


def test_fault_ambiguous_write_is_applied_though_client_sees_error(erp):
    """An ambiguous write fails for the client, yet the object exists afterwards."""
    set_plan(erp, ambiguous=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{erp.url}/v3/company/5/customer", json={"DisplayName": "Maybe"}, headers=AUTH)
    reads = httpx.get(f"{erp.url}/v3/company/5/customer/6", headers=AUTH)
    assert reads.status_code == 200
    assert reads.json()["Customer"]["DisplayName"] == "Maybe"
    assert stats(erp)["faults"]["ambiguous"] == 1


def test_fault_ambiguous_timeout_mode_holds_the_answer(erp):
    """In timeout mode the write is applied and the client times out waiting."""
    set_plan(erp, ambiguous=1.0, ambiguous_mode="timeout", ambiguous_hold_s=5)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{erp.url}/v3/company/5/customer",
            json={"DisplayName": "Slow"},
            headers=AUTH,
            timeout=0.3,
        )
    assert erp.state.read("5", "Customer", "6")["DisplayName"] == "Slow"


def test_fault_ambiguous_spares_reads(erp):
    """Reads, including POST /query, are never ambiguous."""
    set_plan(erp, ambiguous=1.0)
    response = httpx.post(
        f"{erp.url}/v3/company/5/query", content=b"SELECT * FROM Customer", headers=AUTH
    )
    assert response.status_code == 200


def test_faults_change_live_and_admin_is_never_faulted(erp):
    """PUT /_admin/faults takes effect at once; admin routes stay healthy under any plan."""
    assert httpx.get(f"{erp.url}/v3/company/1/customer/1", headers=AUTH).status_code == 400
    plan = set_plan(erp, error_5xx=1.0, drop_connection=0.0)
    assert plan["error_5xx"] == 1.0
    assert httpx.get(f"{erp.url}/v3/company/1/customer/1", headers=AUTH).status_code == 503
    assert httpx.get(f"{erp.url}/_admin/faults").json()["error_5xx"] == 1.0
    assert httpx.get(f"{erp.url}/_admin/state").status_code == 200
    assert stats(erp)["requests"] == 2
    set_plan(erp)
    assert httpx.get(f"{erp.url}/v3/company/1/customer/1", headers=AUTH).status_code == 400


def test_faults_admin_refuses_bad_plans(erp):
    """A plan with a rate above 1 or an unknown field is refused with 400."""
    assert httpx.put(f"{erp.url}/_admin/faults", json={"error_5xx": 2}).status_code == 400
    assert httpx.put(f"{erp.url}/_admin/faults", json={"typo": 1}).status_code == 400


def test_faults_are_deterministic_with_a_seed():
    """The same seed gives the same sequence of faults."""
    outcomes = []
    for _ in range(2):
        with start_psa(PsaConfig(rate_limit=None), faults=FaultPlan(error_5xx=0.5, seed=42)) as srv:
            outcomes.append(
                [httpx.get(f"{srv.url}/api/v1/users", headers=AUTH).status_code for _ in range(20)]
            )
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 503}
