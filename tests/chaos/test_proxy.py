"""The fault proxy forwards to any HTTP target and injects each kind of fault it is asked for."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from ledgerbridge.chaos import FaultProxy
from ledgerbridge.chaos.cli import chaos_app
from ledgerbridge.sandboxes import FaultPlan
from ledgerbridge.testing import RecordingServer


@pytest.fixture
def target():
    with RecordingServer() as server:
        yield server


def _post(url: str, n: int = 1) -> httpx.Response:
    return httpx.post(
        f"{url}/effects", json={"n": n}, headers={"Idempotency-Key": f"k-{n}"}, timeout=10
    )


def test_proxy_forwards_requests_and_answers_unchanged_when_quiet(target):
    """With no faults, a write goes through once and the target's answer comes back as is."""
    with FaultProxy(target.url) as proxy:
        response = _post(proxy.url)
        listed = httpx.get(f"{proxy.url}/effects", timeout=10).json()
    assert response.status_code == 201
    assert response.json() == {"id": "rec-1"}
    assert [e["body"] for e in listed["effects"]] == [{"n": 1}]


def test_proxy_5xx_answers_503_without_reaching_the_target(target):
    """An injected 5xx is answered by the proxy; the target never sees the write."""
    with FaultProxy(target.url, FaultPlan(error_5xx=1.0, seed=1)) as proxy:
        response = _post(proxy.url)
        stats = httpx.get(f"{proxy.url}/_admin/stats", timeout=10).json()
    assert response.status_code == 503
    assert target.effects == []
    assert stats["faults"]["error_5xx"] == 1


def test_proxy_429_carries_retry_after_for_the_whole_burst(target):
    """A 429 burst of three answers every request with Retry-After, then lets traffic through."""
    plan = FaultPlan(throttle_429=1.0, throttle_burst=3, retry_after_s=7, seed=1)
    with FaultProxy(target.url, plan) as proxy:
        answers = [_post(proxy.url, n) for n in range(3)]
        httpx.put(f"{proxy.url}/_admin/faults", json={}, timeout=10)
        after = _post(proxy.url, 9)
    assert [a.status_code for a in answers] == [429, 429, 429]
    assert {a.headers["Retry-After"] for a in answers} == {"7"}
    assert after.status_code == 201
    assert [e["body"]["n"] for e in target.effects] == [9]


def test_proxy_reset_closes_the_connection_without_an_answer(target):
    """A connection reset reaches the caller as a transport error and nothing is applied."""
    plan = FaultPlan(drop_connection=1.0, seed=1)
    with FaultProxy(target.url, plan) as proxy, pytest.raises(httpx.TransportError):
        _post(proxy.url)
    assert target.effects == []


def test_proxy_ambiguous_applies_the_write_but_loses_the_answer(target):
    """The ambiguous case: the target applied the write, the caller only saw the connection drop."""
    with FaultProxy(target.url, FaultPlan(ambiguous=1.0, seed=1)) as proxy:
        with pytest.raises(httpx.TransportError):
            _post(proxy.url, 5)
        reads = httpx.get(f"{proxy.url}/effects", timeout=10)
    assert [e["body"]["n"] for e in target.effects] == [5]
    assert reads.status_code == 200, "reads are never ambiguous"


def test_proxy_latency_is_counted(target):
    """Latency is added to every request when asked, and counted in the stats."""
    with FaultProxy(target.url, FaultPlan(latency_ms=5, seed=1)) as proxy:
        _post(proxy.url)
        stats = httpx.get(f"{proxy.url}/_admin/stats", timeout=10).json()
    assert stats["faults"]["latency"] == 1


def test_proxy_target_down_answers_502_naming_the_target():
    """A target that refuses connections gives 502 with the target in the message."""
    with FaultProxy("http://127.0.0.1:9") as proxy:
        response = httpx.get(f"{proxy.url}/anything", timeout=10)
    assert response.status_code == 502
    assert "127.0.0.1:9" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["proxy", "--target", "ftp://x"], "http:// or https://"),
        (["proxy", "--target", "http://x", "--5xx", "1.5"], "--5xx"),
        (["proxy", "--target", "http://x", "--ambiguous-mode", "maybe"], "ambiguous_mode"),
        (["run", "--db", "mysql"], "--db must be sqlite or postgres"),
        (["run", "--entries", "10"], "--entries"),
    ],
)
def test_chaos_cli_bad_arguments_exit_1_naming_the_option(args, expected):
    """Bad options are refused with exit code 1 or 2 and a message naming the option."""
    result = CliRunner().invoke(chaos_app, args)
    assert result.exit_code in (1, 2), result.output
    assert expected in result.output, result.output


def test_chaos_cli_postgres_with_a_non_postgres_url_names_the_variable(monkeypatch):
    """--db postgres with a database URL that is not PostgreSQL is refused, naming the variable."""
    monkeypatch.setenv("LEDGERBRIDGE_DATABASE_URL", "sqlite:///elsewhere.db")
    result = CliRunner().invoke(chaos_app, ["run", "--db", "postgres"])
    assert result.exit_code in (1, 2), result.output
    assert "LEDGERBRIDGE_DATABASE_URL" in result.output
