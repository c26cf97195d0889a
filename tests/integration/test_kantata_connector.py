"""The Kantata connector over real HTTP against the PSA sandbox on loopback."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import itertools
import socket
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web

from ledgerbridge import connectors, errors
from ledgerbridge.connectors.kantata import KantataConnector
from ledgerbridge.model import Customer
from ledgerbridge.sample import SampleConfig, generate
from ledgerbridge.sandboxes import FaultPlan, PsaConfig, PsaState, SandboxServer
from ledgerbridge.sandboxes import psa as psa_sandbox

T = TypeVar("T")
TOKEN = "sandbox-token"
SMALL = SampleConfig(
    seed=14, people=20, clients=5, projects=8, entries_per_month=400, expenses_per_month=40
)
# API writes happen "now" for the sandbox: just after the sample month.
AFTER_SAMPLE = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def sandbox_ops(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the sample's ops with workspace statuses the sandbox knows.

    The sample creates workspaces in status "Estimate", which the sandbox does not list; it
    stands in for "Not Started" (not authorised) here.
    """
    out = []
    for op in ops:
        status = op["fields"].get("status")
        if isinstance(status, dict) and status.get("message") == "Estimate":
            op = {**op, "fields": {**op["fields"], "status": {"message": "Not Started"}}}
        out.append(op)
    return out


def start(config: PsaConfig | None = None, *, faults: FaultPlan | None = None) -> SandboxServer:
    state = PsaState(clock=lambda: AFTER_SAMPLE)
    app = psa_sandbox.create_app(config or PsaConfig(rate_limit=None), faults=faults, state=state)
    return SandboxServer(app, state=state).start()


@pytest.fixture
def psa() -> Iterator[SandboxServer]:
    with start(PsaConfig(rate_limit=None, shuffle_window=7, seed=3)) as server:
        yield server


def settings(server: SandboxServer, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": f"{server.url}/api/v1",
        "token": TOKEN,
        "connection_id": "kantata-1",
        "rate_limit_per_second": 0,
        "timeout_seconds": 5,
        **extra,
    }


def run(config: dict[str, Any], scenario: Callable[[KantataConnector], Awaitable[T]]) -> T:
    """Run ``scenario`` with a connector built through the registry."""

    async def main() -> T:
        connector = connectors.create("kantata", config, tenant_id="tenant-1")
        assert isinstance(connector, KantataConnector)
        try:
            return await scenario(connector)
        finally:
            await connector.aclose()

    return asyncio.run(main())


async def drain(connector: KantataConnector, cursor: str | None, *, limit: int) -> tuple[list, str]:
    events = []
    for _ in range(10_000):
        page = await connector.read_events(cursor, limit=limit)
        events.extend(page.events)
        cursor = page.cursor
        if not page.has_more:
            return events, cursor or ""
    raise AssertionError("the feed never ended")


def feed_by_day(server: SandboxServer, config: dict[str, Any], ops: list[dict[str, Any]]) -> list:
    """Apply ``ops`` a day at a time and read the feed after each day (the feed keeps 9 days)."""

    async def scenario(connector: KantataConnector) -> list:
        events, cursor = [], None
        for _, day in itertools.groupby(ops, key=lambda op: op["at"][:10]):
            server.state.apply_many(list(day))
            read, cursor = await drain(connector, cursor, limit=100)
            events.extend(read)
        return events

    return run(config, scenario)


def expected_from_ops(ops: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Replay the ops and list, per business event type, the object ids it must report."""
    approved: dict[str, bool] = {}
    milestones = set()
    found = collections.defaultdict(list)
    for op in ops:
        fields, oid = op["fields"], op["id"]
        if op["resource"] == "organizations":
            found["customer.upserted"].append(oid)
        elif op["resource"] == "stories" and fields.get("story_type") == "milestone":
            milestones.add(oid)
        elif (
            op["resource"] == "stories" and fields.get("state") == "completed" and oid in milestones
        ):
            found["milestone.completed"].append(oid)
        elif op["resource"] == "workspaces" and op["op"] == "update":
            found["project.authorized"].append(oid)
        elif op["resource"] == "time_entries":
            was, now = approved.get(oid, False), fields.get("approved", approved.get(oid, False))
            approved[oid] = now
            if now and not was:
                found["time_entry.approved"].append(oid)
            elif was and not now:
                found["time_entry.unapproved"].append(oid)
            elif was and now:
                found["time_entry.changed"].append(oid)
        elif op["resource"] == "expenses" and fields.get("approved") is True:
            found["expense.approved"].append(oid)
    return found


def test_read_events_reports_each_business_event_once_over_a_sample_month(psa):
    """Every approval, edit, un-approval and milestone completion is reported exactly once."""
    ops = sandbox_ops(generate(SMALL).ops)
    events = feed_by_day(psa, settings(psa, per_page=50), ops)
    got = collections.defaultdict(list)
    for event in events:
        got[str(event.event_type)].append(event.external_id)
    expected = expected_from_ops(ops)
    assert expected["time_entry.unapproved"] and expected["time_entry.changed"]
    for event_type in sorted(set(expected) | set(got)):
        assert sorted(got[event_type]) == sorted(expected[event_type]), event_type
    keys = [(e.object_type, e.external_id, e.source_version) for e in events]
    assert len(keys) == len(set(keys))
    assert not [e for e in events if e.payload.get("mapping_error")]


def test_read_events_source_version_grows_per_object(psa):
    """Later events about one object always carry a higher source version."""
    ops = sandbox_ops(generate(SMALL).ops)
    events = feed_by_day(psa, settings(psa, per_page=50), ops)
    last: dict[tuple[str, str], int] = {}
    for event in events:
        key = (event.object_type, event.external_id)
        assert event.source_version > last.get(key, -1), key
        last[key] = event.source_version


def test_read_events_fills_canonical_time_entry_fields(psa):
    """An approved time entry carries customer, currencies, resource and exact money."""
    ops = sandbox_ops(generate(SMALL).ops)
    events = feed_by_day(psa, settings(psa), ops)
    entry = next(e for e in events if e.event_type == "time_entry.approved")
    record, raw = entry.payload["record"], entry.payload["raw"]
    workspace = psa.state.tables["workspaces"][record["project_id"]]
    user = psa.state.tables["users"][raw["user_id"]]
    assert record["customer_id"] == workspace["organization_id"]
    assert record["project_currency"] == workspace["currency"]
    assert record["resource_name"] == user["full_name"] and record["role"] == user["role_name"]
    assert record["minutes"] == raw["time_in_minutes"]
    assert record["hours"] == (Decimal(raw["time_in_minutes"]) / 60).quantize(Decimal("0.0001"))
    assert isinstance(record["amount"], Decimal) and record["approved"] is True
    assert entry.connection_id == "kantata-1" and entry.tenant_id == "tenant-1"


def test_read_events_pages_whole_feed_with_small_pages_without_loss(psa):
    """Reading one retained feed with 50 per page and limit 30 gives each event once."""
    ops = sandbox_ops(generate(SMALL).ops)
    psa.state.apply_many([op for op in ops if op["at"] < "2026-10-08"])
    feed_ids = {e["id"] for e in psa.state.events}

    async def scenario(connector):
        return await drain(connector, None, limit=30)

    events, cursor = run(settings(psa, per_page=50), scenario)
    versions = [e.source_version for e in events]
    assert len(versions) == len(set(versions))
    assert cursor.split("|")[0] == max(feed_ids, key=int)
    approvals = [o for o in ops if o["at"] < "2026-10-08" and o["fields"] == {"approved": True}]
    assert len(events) >= len(approvals) > 0


def test_read_events_plain_id_cursor_skips_earlier_events(psa):
    """A cursor that is just an event id resumes after that id."""
    ops = sandbox_ops(generate(SMALL).ops)
    psa.state.apply_many([op for op in ops if op["at"] < "2026-10-08"])

    async def scenario(connector):
        everything, _ = await drain(connector, None, limit=200)
        middle = everything[len(everything) // 2].source_version
        rest, _ = await drain(connector, str(middle), limit=200)
        return everything, middle, rest

    everything, middle, rest = run(settings(psa), scenario)
    assert [e.source_version for e in rest] == [
        e.source_version for e in everything if e.source_version > middle
    ]


def test_read_events_reports_unmappable_record_with_mapping_error(psa):
    """A time entry with minutes as text becomes a mapping_error event, not an exception."""
    psa.state.apply_many(sandbox_ops(generate(SMALL).ops)[:60])
    workspace = next(iter(psa.state.tables["workspaces"]))
    bad = {"workspace_id": workspace, "date_performed": "2026-10-02", "time_in_minutes": "90"}
    psa.state.apply_many(
        [
            {
                "seq": 10_000,
                "at": "2026-10-02T10:00:00Z",
                "op": "create",
                "resource": "time_entries",
                "id": "99",
                "fields": {**bad, "approved": True},
            },
        ]
    )

    async def scenario(connector):
        return await drain(connector, None, limit=200)

    events, _ = run(settings(psa), scenario)
    (broken,) = [e for e in events if e.external_id == "99"]
    assert broken.event_type == "time_entry.approved"
    assert broken.payload["record"] is None
    assert broken.payload["mapping_error"]["field"] == "time_in_minutes"
    assert "whole number" in broken.payload["mapping_error"]["message"]


# --- write-backs -----------------------------------------------------------------------------


def billable_entries(server: SandboxServer) -> tuple[str, list[str]]:
    """Return a workspace and its approved, billable, uninvoiced time entries."""
    by_workspace = collections.defaultdict(list)
    for entry in server.state.tables["time_entries"].values():
        ready = entry["approved"] and entry["billable"] and not entry["is_invoiced"]
        if ready and isinstance(entry["time_in_minutes"], int) and entry["rate_in_cents"]:
            by_workspace[entry["workspace_id"]].append(entry["id"])
    workspace, ids = max(by_workspace.items(), key=lambda kv: len(kv[1]))
    return workspace, ids[:5]


@pytest.fixture
def loaded(psa):
    ops = sandbox_ops(generate(SMALL).ops)
    psa.state.apply_many([op for op in ops if op["at"] < "2026-10-20"])
    return psa


def invoice_args(workspace: str, ids: list[str], key: str = "key-1") -> dict[str, Any]:
    return {
        "project_id": workspace,
        "time_entry_ids": ids,
        "expense_ids": [],
        "milestone_ids": [],
        "erp_invoice_id": "INV-1001",
        "idempotency_key": key,
    }


def test_mark_invoiced_marks_entries_and_is_idempotent(loaded):
    """Two calls with one key create one invoice and mark its entries invoiced."""
    workspace, ids = billable_entries(loaded)

    async def scenario(connector):
        first = await connector.mark_invoiced(**invoice_args(workspace, ids))
        second = await connector.mark_invoiced(**invoice_args(workspace, ids))
        return first, second

    first, second = run(settings(loaded), scenario)
    assert first == second
    assert len(loaded.state.tables["invoices"]) == 1
    for oid in ids:
        entry = loaded.state.tables["time_entries"][oid]
        assert entry["is_invoiced"] is True and entry["invoice_id"] == first
    invoice = loaded.state.tables["invoices"][first]
    assert invoice["external_reference"]["service_model_ref"] == "key-1"
    assert invoice["payment_schedule"] == 30 and invoice["draft"] is False


def test_record_payment_partial_then_full_accepts_payment(loaded):
    """A partial payment leaves a balance; paying the rest moves the invoice to accepted payment."""
    workspace, ids = billable_entries(loaded)

    async def scenario(connector):
        invoice_id = await connector.mark_invoiced(**invoice_args(workspace, ids))
        balance = loaded.state.tables["invoices"][invoice_id]["balance_in_cents"]
        part = Decimal(balance // 3).scaleb(-2)
        rest = Decimal(balance - balance // 3).scaleb(-2)
        paid_on = dt.date(2026, 11, 20)
        args = {
            "psa_invoice_id": invoice_id,
            "currency": loaded.state.tables["invoices"][invoice_id]["currency"],
            "paid_on": paid_on,
        }
        await connector.record_payment(amount=part, idempotency_key="pay-1", **args)
        status_after_part = loaded.state.tables["invoices"][invoice_id]["status"]
        await connector.record_payment(amount=part, idempotency_key="pay-1", **args)
        await connector.record_payment(amount=rest, idempotency_key="pay-2", **args)
        return invoice_id, status_after_part

    invoice_id, status_after_part = run(settings(loaded), scenario)
    invoice = loaded.state.tables["invoices"][invoice_id]
    assert status_after_part == "new"
    assert invoice["status"] == "accepted payment" and invoice["balance_in_cents"] == 0
    assert len(loaded.state.tables["external_payments"]) == 2


def test_write_back_customer_updates_name_and_email(loaded):
    """The ERP-owned name and email are written to the organization; a new one is created once."""
    org_id = next(iter(loaded.state.tables["organizations"]))
    renamed = Customer(id="c-1", name="Renamed Ltd", currency="USD", email="ap@renamed.example")
    fresh = Customer(id="c-2", name="Fresh Co", currency="EUR", email=None)

    async def scenario(connector):
        updated = await connector.write_back_customer(renamed, psa_id=org_id, idempotency_key="k1")
        created = await connector.write_back_customer(fresh, psa_id=None, idempotency_key="k2")
        again = await connector.write_back_customer(fresh, psa_id=None, idempotency_key="k2")
        return updated, created, again

    updated, created, again = run(settings(loaded), scenario)
    organization = loaded.state.tables["organizations"][org_id]
    assert updated == org_id and organization["name"] == "Renamed Ltd"
    assert organization["email"] == "ap@renamed.example"
    assert created == again and loaded.state.tables["organizations"][created]["currency"] == "EUR"


# --- error classification --------------------------------------------------------------------


def set_faults(server: SandboxServer, plan: FaultPlan) -> None:
    server.app[psa_sandbox.FAULTS_KEY].set_plan(plan)


def failure(config: dict[str, Any], call: Callable[[KantataConnector], Awaitable[Any]]):
    async def scenario(connector):
        with pytest.raises(errors.LedgerbridgeError) as caught:
            await call(connector)
        return caught.value

    return run(config, scenario)


def test_errors_5xx_is_transient(psa):
    """A 503 from Kantata is a TransientError with the status code."""
    set_faults(psa, FaultPlan(error_5xx=1.0))
    error = failure(settings(psa), lambda c: c.ping())
    assert type(error) is errors.TransientError and error.status_code == 503


def test_errors_429_is_transient_with_retry_after(psa):
    """A 429 is a TransientError carrying the server's Retry-After."""
    set_faults(psa, FaultPlan(throttle_429=1.0, retry_after_s=7))
    error = failure(settings(psa), lambda c: c.read_events(None))
    assert type(error) is errors.TransientError and error.retry_after == 7


def test_errors_sandbox_rate_limit_is_transient_with_retry_after():
    """Running over the sandbox's own rate limit gives TransientError with retry_after."""
    with start(PsaConfig(rate_limit=2, rate_window_s=60)) as server:

        async def pings(connector):
            for _ in range(3):
                await connector.ping()

        error = failure(settings(server), pings)
    assert isinstance(error, errors.TransientError) and error.retry_after and error.retry_after > 0


def test_client_rate_limiter_keeps_under_the_vendor_limit():
    """With the limiter on, a burst of calls is paced so the sandbox never answers 429."""
    with start(PsaConfig(rate_limit=10, rate_window_s=1.0)) as server:

        async def pings(connector):
            for _ in range(14):
                await connector.ping()

        run(settings(server, rate_limit_per_second=4), pings)
        stats = server.app[psa_sandbox.FAULTS_KEY].stats()
    assert stats["requests"] == 14


def test_errors_dropped_connection_on_write_is_ambiguous_and_retry_finds_it(loaded):
    """A write whose answer is lost is ambiguous; the retry finds the invoice, not a second."""
    workspace, ids = billable_entries(loaded)
    set_faults(loaded, FaultPlan(ambiguous=1.0, ambiguous_mode="drop"))
    error = failure(settings(loaded), lambda c: c.mark_invoiced(**invoice_args(workspace, ids)))
    assert type(error) is errors.AmbiguousError
    set_faults(loaded, FaultPlan())
    invoice_id = run(settings(loaded), lambda c: c.mark_invoiced(**invoice_args(workspace, ids)))
    assert list(loaded.state.tables["invoices"]) == [invoice_id]


def test_errors_dropped_connection_on_read_is_transient(psa):
    """A read whose connection drops is transient, not ambiguous."""
    set_faults(psa, FaultPlan(drop_connection=1.0))
    error = failure(settings(psa), lambda c: c.ping())
    assert type(error) is errors.TransientError


def test_errors_bad_token_is_config_error(psa):
    """A 401 is a ConfigError."""
    error = failure(settings(psa, token="wrong"), lambda c: c.ping())
    assert type(error) is errors.ConfigError and error.status_code == 401


def test_errors_422_is_permanent_with_the_vendor_message(loaded):
    """Invoicing an unapproved entry is a PermanentError with Kantata's message and field."""
    entry = next(e for e in loaded.state.tables["time_entries"].values() if not e["approved"])
    args = invoice_args(entry["workspace_id"], [entry["id"]])
    error = failure(settings(loaded), lambda c: c.mark_invoiced(**args))
    assert type(error) is errors.PermanentError and error.status_code == 422
    assert "unapproved" in error.message and error.field == "time_entry_ids"


def test_errors_connection_refused_is_transient():
    """A port nobody listens on gives TransientError."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {
        "base_url": f"http://127.0.0.1:{port}/api/v1",
        "token": TOKEN,
        "rate_limit_per_second": 0,
    }
    error = failure(config, lambda c: c.ping())
    assert type(error) is errors.TransientError


def test_errors_malformed_json_is_permanent_naming_the_endpoint():
    """An answer that is not JSON is a PermanentError that names the endpoint."""

    async def garbage(request: web.Request) -> web.Response:
        return web.Response(text="<html>oops", content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v1/users", garbage)
    with SandboxServer(app, state=None) as server:
        error = failure(settings(server), lambda c: c.ping())
    assert type(error) is errors.PermanentError and "GET /users" in error.message


def test_connector_is_registered_and_requires_settings():
    """The registry builds the connector by kind, and missing settings are a ConfigError."""
    assert "kantata" in connectors.kinds()
    with pytest.raises(errors.ConfigError, match="token"):
        connectors.create("kantata", {"base_url": "http://127.0.0.1:1/api/v1"})


def test_connector_uses_an_injected_session_without_closing_it(psa):
    """A given session is used and left open by aclose."""

    async def main():
        async with aiohttp.ClientSession() as http:
            connector = KantataConnector(settings(psa), session=http, tenant_id="t")
            await connector.ping()
            await connector.aclose()
            assert not http.closed

    asyncio.run(main())


def test_errors_write_timeout_after_sending_is_ambiguous(loaded):
    """A write whose answer does not arrive within the timeout is ambiguous."""
    workspace, ids = billable_entries(loaded)
    set_faults(loaded, FaultPlan(ambiguous=1.0, ambiguous_mode="timeout", ambiguous_hold_s=2.0))
    config = settings(loaded, timeout_seconds=0.5)
    error = failure(config, lambda c: c.mark_invoiced(**invoice_args(workspace, ids)))
    assert type(error) is errors.AmbiguousError
    assert len(loaded.state.tables["invoices"]) == 1
