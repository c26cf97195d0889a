"""The QuickBooks Online connector against the ERP sandbox, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from aiohttp import web

from ledgerbridge import connectors, errors
from ledgerbridge.connectors import InvoiceRequest
from ledgerbridge.connectors.quickbooks import (
    QuickBooksConnector,
    parse_notifications,
    request_id,
    verify_signature,
)
from ledgerbridge.model import BillingType, Contract, Customer, Expense, Money, Project, TimeEntry
from ledgerbridge.sandboxes import ErpConfig, FaultPlan, SandboxServer, start_erp
from ledgerbridge.sandboxes import erp as erp_sandbox

T = TypeVar("T")
TODAY = dt.date(2025, 3, 14)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """One ERP sandbox without request limits; each test uses its own company."""
    with start_erp(ErpConfig(throttle=False)) as srv:
        yield srv


def uid() -> str:
    return uuid.uuid4().hex[:10]


def settings(server: SandboxServer, **overrides: Any) -> dict[str, Any]:
    return {
        "base_url": server.url,
        "realm_id": f"realm-{uid()}",
        "access_token": "sandbox-token",
        "connection_id": "conn-qbo",
        "rate_limit_per_second": 0,
        "per_minute": 0,
        **overrides,
    }


def run(config: dict[str, Any], scenario: Callable[[QuickBooksConnector], Awaitable[T]]) -> T:
    """Run ``scenario`` with a connector built through the registry."""

    async def main() -> T:
        connector = connectors.create("quickbooks", config, tenant_id="tenant-1")
        assert isinstance(connector, QuickBooksConnector)
        try:
            return await scenario(connector)
        finally:
            await connector.aclose()

    return asyncio.run(main())


def realm_of(server: SandboxServer, config: dict[str, Any]) -> Any:
    return server.state.realm(config["realm_id"])


def customer(name: str | None = None) -> Customer:
    return Customer(
        id=f"cust-{uid()}", name=name or f"Globex {uid()}", currency="USD", email="ap@globex.test"
    )


def project(cust: Customer) -> Project:
    contract = Contract(billing_type=BillingType.TIME_AND_MATERIALS, currency="USD")
    return Project(
        id=f"proj-{uid()}", customer_id=cust.id, name=f"Rollout {uid()}", contract=contract
    )


def entry(proj: Project, minutes: int, rate: str = "150") -> TimeEntry:
    return TimeEntry(
        id=f"te-{uid()}",
        project_id=proj.id,
        resource_id="res-ada",
        date=TODAY,
        hours=(Decimal(minutes) / 60).quantize(Decimal("0.0001")),
        billable=True,
        rate=Money.of(rate, "USD"),
        approved=True,
        notes="design workshop",
    )


def expense(proj: Project, amount: str) -> Expense:
    return Expense(
        id=f"ex-{uid()}",
        project_id=proj.id,
        resource_id="res-ada",
        date=TODAY,
        amount=Money.of(amount, "USD"),
        category="travel",
        billable=True,
        approved=True,
        notes="train to client site",
    )


async def make_project(conn: QuickBooksConnector) -> tuple[str, str, Project]:
    cust = customer()
    customer_id = await conn.upsert_customer(cust, erp_id=None, idempotency_key=f"k-{uid()}")
    proj = project(cust)
    project_id = await conn.upsert_project(
        proj, customer_erp_id=customer_id, erp_id=None, idempotency_key=f"k-{uid()}"
    )
    return customer_id, project_id, proj


async def pay(conn: QuickBooksConnector, project_id: str, invoice_id: str, amount: str) -> str:
    """Record a payment the way the customer's finance team would, through the API."""
    body = {
        "CustomerRef": {"value": project_id},
        "TotalAmt": Decimal(amount),
        "TxnDate": TODAY.isoformat(),
        "Line": [
            {"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
        ],
    }
    payment = await conn.client.create("Payment", body, request_id=f"pay-{uid()}")
    return str(payment["Id"])


def test_quickbooks_connector_is_registered(server):
    """The registry builds a QuickBooksConnector for the kind "quickbooks"."""
    assert "quickbooks" in connectors.kinds()
    assert isinstance(connectors.create("quickbooks", settings(server)), QuickBooksConnector)


def test_quickbooks_settings_missing_token_is_config_error():
    """Settings without a realm or token are refused with both fields named."""
    with pytest.raises(errors.ConfigError) as caught:
        connectors.create("quickbooks", {"base_url": "http://127.0.0.1:9"})
    assert "realm_id" in caught.value.message
    assert "access_token" in caught.value.message


def test_quickbooks_delivery_to_cash(server):
    """Time and an expense are invoiced, marked billed, paid in two parts and reported once each."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> None:
        customer_id, project_id, proj = await make_project(conn)
        first, second = entry(proj, 90), entry(proj, 20, rate="100")
        kw = {"project_erp_id": project_id, "customer_erp_id": customer_id, "erp_id": None}
        t1 = await conn.post_time(first, idempotency_key=f"k-{uid()}", **kw)
        t2 = await conn.post_time(second, idempotency_key=f"k-{uid()}", **kw)
        e1 = await conn.post_expense(expense(proj, "42.17"), idempotency_key=f"k-{uid()}", **kw)
        charges = {c["erp_id"]: c for c in await conn.list_charges(project_id)}
        assert {k: charges[k]["amount"] for k in (t1, t2, e1)} == {
            t1: Decimal("225.00"),
            t2: Decimal("33.33"),
            e1: Decimal("42.17"),
        }
        assert not any(c["billed"] for c in charges.values())
        assert charges[t1]["source_id"] == first.id

        lines = [
            {"description": "Ada 1.5 h", "quantity": Decimal("1.5"), "unit_price": Decimal("150"),
             "charge_id": t1, "charge_type": "time_entry"},
            {"description": "Ada 20 min", "quantity": Decimal("0.3333"), "unit_price": Decimal("100"),
             "charge_id": t2, "charge_type": "time_entry"},
            {"description": "Train", "quantity": Decimal(1), "unit_price": Decimal("42.17"),
             "charge_id": e1, "charge_type": "expense"},
        ]  # fmt: skip
        request = InvoiceRequest(
            project_erp_id=project_id,
            customer_erp_id=customer_id,
            currency="USD",
            txn_date=TODAY,
            lines=lines,
            memo="March work",
        )
        invoice_id = await conn.create_invoice(request, idempotency_key=f"k-{uid()}")
        assert all(c["billed"] for c in await conn.list_charges(project_id))
        opened = await conn.get_invoice(invoice_id)
        assert (opened.total, opened.balance, opened.status) == (
            Money.of("300.50", "USD"),
            Money.of("300.50", "USD"),
            "open",
        )

        page = await conn.read_events(None)
        assert page.events == []
        p1 = await pay(conn, project_id, invoice_id, "100.50")
        page = await conn.read_events(page.cursor)
        partly = await conn.get_invoice(invoice_id)
        assert (partly.balance, partly.status) == (Money.of("200.00", "USD"), "partially_paid")
        assert [(e.event_type, e.external_id) for e in page.events] == [("payment.received", p1)]
        record = page.events[0].payload["record"]
        assert record == {
            "id": p1,
            "invoice_erp_id": invoice_id,
            "amount": Decimal("100.50"),
            "currency": "USD",
            "date": TODAY.isoformat(),
            "invoice_balance": Decimal("200.00"),
        }
        assert (page.events[0].tenant_id, page.events[0].connection_id) == ("tenant-1", "conn-qbo")
        p2 = await pay(conn, project_id, invoice_id, "200.00")
        page = await conn.read_events(page.cursor)
        assert [e.external_id for e in page.events] == [p2]
        assert page.events[0].payload["record"]["invoice_balance"] == Decimal("0.00")
        again = await conn.read_events(page.cursor)
        assert again.events == []
        paid = await conn.get_invoice(invoice_id)
        assert (paid.balance, paid.status) == (Money.of("0", "USD"), "paid")
        assert [(p["erp_id"], p["amount"]) for p in paid.payments] == [
            (p1, Decimal("100.50")),
            (p2, Decimal("200.00")),
        ]

    run(config, scenario)
    stored = realm_of(server, config).entities
    assert len(stored["TimeActivity"]) == 2
    assert len(stored["Purchase"]) == 1
    assert len(stored["Invoice"]) == 1


def test_quickbooks_payment_feed_pages_and_keeps_unmappable_payments(server):
    """The feed pages by limit and reports an unapplied payment with a mapping error."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> None:
        _charge, invoice_id = await _billed_charge(conn)
        project_id = (await conn.client.read("Invoice", invoice_id))["CustomerRef"]["value"]
        p1 = await pay(conn, project_id, invoice_id, "10")
        p2 = await pay(conn, project_id, invoice_id, "20")
        body = {"CustomerRef": {"value": project_id}, "TotalAmt": Decimal("5")}
        p3 = str((await conn.client.create("Payment", body, request_id=f"p-{uid()}"))["Id"])
        first = await conn.read_events(None, limit=2)
        assert [e.external_id for e in first.events] == [p1, p2]
        assert first.has_more
        rest = await conn.read_events(first.cursor, limit=2)
        assert [e.external_id for e in rest.events] == [p3]
        assert not rest.has_more
        payload = rest.events[0].payload
        assert payload["record"] is None
        assert payload["mapping_error"]["field"] == "Line.LinkedTxn"
        assert payload["raw"]["Id"] == p3
        assert (await conn.read_events(rest.cursor)).events == []
        since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
        changed = await conn.client.cdc(["Payment"], since)
        assert sorted(p["Id"] for p in changed[0]["QueryResponse"][0]["Payment"]) == sorted(
            [p1, p2, p3]
        )

    run(config, scenario)


def test_quickbooks_project_is_a_sub_customer(server):
    """A project lands as a billable-with-parent sub-customer that QuickBooks shows as a project."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> tuple[str, str]:
        customer_id, project_id, _proj = await make_project(conn)
        return customer_id, project_id

    customer_id, project_id = run(config, scenario)
    stored = realm_of(server, config).entities["Customer"][project_id]
    assert stored["ParentRef"]["value"] == customer_id
    assert (stored["Job"], stored["IsProject"], stored["BillWithParent"]) == (True, True, True)


def test_quickbooks_time_activity_carries_exact_duration_and_rate(server):
    """A 95-minute entry is posted as 1 h 35 min at the hourly rate, billable to the project."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> tuple[str, str]:
        customer_id, project_id, proj = await make_project(conn)
        te = entry(proj, 95, rate="123.45")
        erp_id = await conn.post_time(
            te, project_erp_id=project_id, customer_erp_id=customer_id, erp_id=None,
            idempotency_key="key-95",
        )  # fmt: skip
        return erp_id, project_id

    erp_id, project_id = run(config, scenario)
    stored = realm_of(server, config).entities["TimeActivity"][erp_id]
    assert (stored["Hours"], stored["Minutes"]) == (1, 35)
    assert stored["HourlyRate"] == Decimal("123.45")
    assert stored["BillableStatus"] == "Billable"
    assert stored["CustomerRef"]["value"] == project_id
    assert stored["Description"].endswith("|key-95]")


def test_quickbooks_ambiguous_write_is_replayed_by_requestid():
    """A time post whose answer is lost raises AmbiguousError; the retry creates nothing new."""
    with start_erp(ErpConfig(throttle=False)) as srv:
        config = settings(srv)
        injector = srv.app[erp_sandbox.FAULTS_KEY]

        async def scenario(conn: QuickBooksConnector) -> tuple[str, str | None]:
            customer_id, project_id, proj = await make_project(conn)
            kw = {"project_erp_id": project_id, "customer_erp_id": customer_id, "erp_id": None}
            await conn.post_time(entry(proj, 30), idempotency_key="warm-up", **kw)
            lost = entry(proj, 60)
            injector.set_plan(FaultPlan(ambiguous=1.0))
            with pytest.raises(errors.AmbiguousError):
                await conn.post_time(lost, idempotency_key="key-lost", **kw)
            injector.set_plan(FaultPlan())
            assert len(realm_of(srv, config).entities["TimeActivity"]) == 2
            found = await conn.find_by_idempotency_key("time_entry", "key-lost")
            again = await conn.post_time(lost, idempotency_key="key-lost", **kw)
            return again, found

        again, found = run(config, scenario)
        assert len(realm_of(srv, config).entities["TimeActivity"]) == 2
        assert found == again


def test_quickbooks_lost_answer_after_timeout_is_ambiguous():
    """A write whose answer does not arrive within the timeout raises AmbiguousError."""
    plan = FaultPlan(ambiguous=1.0, ambiguous_mode="timeout", ambiguous_hold_s=3.0)
    with start_erp(ErpConfig(throttle=False), faults=plan) as srv:
        config = settings(srv, timeout_seconds=0.3)

        async def scenario(conn: QuickBooksConnector) -> None:
            with pytest.raises(errors.AmbiguousError):
                await conn.upsert_customer(customer(), erp_id=None, idempotency_key="k-timeout")

        run(config, scenario)
        assert len(realm_of(srv, config).entities["Customer"]) == 1


def test_quickbooks_stale_synctoken_is_reread_and_retried(server):
    """An update after someone else changed the customer re-reads the SyncToken and lands."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> str:
        cust = customer()
        erp_id = await conn.upsert_customer(cust, erp_id=None, idempotency_key="k-1")
        current = await conn.client.read("Customer", erp_id)
        await conn.client.update(
            "Customer",
            {"Id": erp_id, "SyncToken": current["SyncToken"], "sparse": True, "Notes": "x"},
            request_id="finance-edit",
        )
        renamed = Customer(id=cust.id, name=f"{cust.name} Ltd", currency="USD")
        assert await conn.upsert_customer(renamed, erp_id=erp_id, idempotency_key="k-2") == erp_id
        return erp_id

    erp_id = run(config, scenario)
    realm = realm_of(server, config)
    stored = realm.entities["Customer"][erp_id]
    assert stored["DisplayName"].endswith(" Ltd")
    assert stored["SyncToken"] == "2"
    assert realm.replays[request_id("k-2", "update")][0] == 400
    assert realm.replays[request_id("k-2", "update-retry")][0] == 200


def test_quickbooks_duplicate_display_name_is_permanent(server):
    """A customer whose name another QuickBooks customer already uses is refused with the reason."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> None:
        await conn.client.create("Customer", {"DisplayName": "Initech"}, request_id="manual")
        with pytest.raises(errors.PermanentError) as caught:
            await conn.upsert_customer(customer("Initech"), erp_id=None, idempotency_key="k-dup")
        assert "Initech" in caught.value.message
        assert "6240 Duplicate Name Exists Error" in (caught.value.internal_detail or "")

    run(config, scenario)


def test_quickbooks_own_customer_is_adopted_on_name_clash(server):
    """Posting a customer again with a new key finds the one ledgerbridge made, not a duplicate."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> tuple[str, str]:
        cust = customer()
        first = await conn.upsert_customer(cust, erp_id=None, idempotency_key="k-a")
        second = await conn.upsert_customer(cust, erp_id=None, idempotency_key="k-b")
        return first, second

    first, second = run(config, scenario)
    assert first == second
    assert len(realm_of(server, config).entities["Customer"]) == 1


async def _billed_charge(conn: QuickBooksConnector) -> tuple[str, str]:
    customer_id, project_id, proj = await make_project(conn)
    kw = {"project_erp_id": project_id, "customer_erp_id": customer_id, "erp_id": None}
    charge = await conn.post_time(entry(proj, 60), idempotency_key=f"k-{uid()}", **kw)
    line = {"description": "1 h", "quantity": Decimal(1), "unit_price": Decimal(150),
            "charge_id": charge, "charge_type": "time_entry"}  # fmt: skip
    request = InvoiceRequest(
        project_erp_id=project_id, customer_erp_id=customer_id, currency="USD",
        txn_date=TODAY, lines=[line],
    )  # fmt: skip
    invoice_id = await conn.create_invoice(request, idempotency_key=f"k-{uid()}")
    return charge, invoice_id


def test_quickbooks_remove_billed_charge_names_the_invoice(server):
    """Removing or correcting invoiced time is refused with the invoice number and a credit memo hint."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> None:
        charge, invoice_id = await _billed_charge(conn)
        number = (await conn.client.read("Invoice", invoice_id))["DocNumber"]
        with pytest.raises(errors.PermanentError) as caught:
            await conn.remove_charge("time_entry", charge, idempotency_key="k-remove")
        assert f"already invoiced in QuickBooks (invoice {number})" in caught.value.message
        assert "credit memo" in caught.value.message

    run(config, scenario)


def test_quickbooks_remove_unbilled_charge_deletes_it_once(server):
    """An unbilled time activity is deleted; removing it again is harmless."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> str:
        customer_id, project_id, proj = await make_project(conn)
        kw = {"project_erp_id": project_id, "customer_erp_id": customer_id, "erp_id": None}
        charge = await conn.post_time(entry(proj, 45), idempotency_key="k-post", **kw)
        await conn.remove_charge("time_entry", charge, idempotency_key="k-del")
        await conn.remove_charge("time_entry", charge, idempotency_key="k-del-2")
        return charge

    charge = run(config, scenario)
    assert charge not in realm_of(server, config).entities["TimeActivity"]


def test_quickbooks_corrected_time_updates_duration(server):
    """Posting time again with its erp_id changes the existing time activity in place."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> str:
        customer_id, project_id, proj = await make_project(conn)
        kw = {"project_erp_id": project_id, "customer_erp_id": customer_id}
        te = entry(proj, 60)
        erp_id = await conn.post_time(te, erp_id=None, idempotency_key="k-v1", **kw)
        longer = entry(proj, 135)
        return await conn.post_time(longer, erp_id=erp_id, idempotency_key="k-v2", **kw)

    erp_id = run(config, scenario)
    stored = realm_of(server, config).entities["TimeActivity"]
    assert len(stored) == 1
    assert (stored[erp_id]["Hours"], stored[erp_id]["Minutes"]) == (2, 15)


def test_quickbooks_bad_token_is_config_error(server):
    """A token QuickBooks does not accept raises ConfigError."""
    with pytest.raises(errors.ConfigError) as caught:
        run(settings(server, access_token="expired"), lambda conn: conn.ping())
    assert caught.value.status_code == 401


@pytest.mark.parametrize(
    ("plan", "retry_after"),
    [(FaultPlan(error_5xx=1.0), None), (FaultPlan(throttle_429=1.0, retry_after_s=7), 7.0)],
)
def test_quickbooks_5xx_and_429_are_transient(plan, retry_after):
    """503 and 429 answers raise TransientError; a 429 carries its Retry-After."""
    with (
        start_erp(ErpConfig(throttle=False), faults=plan) as srv,
        pytest.raises(errors.TransientError) as caught,
    ):
        run(settings(srv), lambda conn: conn.ping())
    assert not isinstance(caught.value, errors.AmbiguousError)
    assert caught.value.retry_after == retry_after


def test_quickbooks_vendor_throttle_waits_sixty_seconds():
    """The service's own 429 (no Retry-After) asks for the documented 60 s wait."""
    with start_erp(ErpConfig(per_second=2)) as srv:

        async def scenario(conn: QuickBooksConnector) -> None:
            for _ in range(3):
                await conn.ping()

        with pytest.raises(errors.TransientError) as caught:
            run(settings(srv), scenario)
    assert caught.value.retry_after == 60.0
    assert caught.value.status_code == 429


def test_quickbooks_rate_limiter_keeps_under_the_vendor_limit():
    """With the client limit equal to the vendor's, a burst of requests gets no 429."""
    with start_erp(ErpConfig(per_second=10)) as srv:
        config = settings(srv, rate_limit_per_second=10, per_minute=500)

        async def scenario(conn: QuickBooksConnector) -> float:
            started = time.monotonic()
            await asyncio.gather(*(conn.ping() for _ in range(25)))
            return time.monotonic() - started

        elapsed = run(config, scenario)
    assert elapsed >= 1.9


def test_quickbooks_connection_refused_is_transient():
    """A company URL where nothing listens raises TransientError, not AmbiguousError."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {"base_url": f"http://127.0.0.1:{port}", "realm_id": "r", "access_token": "t"}
    with pytest.raises(errors.TransientError) as caught:
        run(config, lambda conn: conn.upsert_customer(customer(), erp_id=None, idempotency_key="k"))
    assert not isinstance(caught.value, errors.AmbiguousError)


def test_quickbooks_malformed_json_is_permanent():
    """A 200 answer that is not JSON raises PermanentError naming the endpoint."""

    async def garbage(request: web.Request) -> web.Response:
        return web.Response(text="<html>maintenance</html>", content_type="application/json")

    app = web.Application()
    app.router.add_get("/v3/company/{realm}/query", garbage)
    with SandboxServer(app, state=None) as srv:
        config = {"base_url": srv.url, "realm_id": "r", "access_token": "t"}
        with pytest.raises(errors.PermanentError) as caught:
            run(config, lambda conn: conn.ping())
    assert "GET query" in caught.value.message


def test_quickbooks_throughput_with_32_in_flight(server):
    """Posting 200 time activities 32 at a time creates each exactly once."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> tuple[list[str], float]:
        customer_id, project_id, proj = await make_project(conn)
        kw = {"project_erp_id": project_id, "customer_erp_id": customer_id, "erp_id": None}
        await conn.post_time(entry(proj, 15), idempotency_key="warm-up", **kw)
        gate = asyncio.Semaphore(32)

        async def post(i: int) -> str:
            async with gate:
                return await conn.post_time(entry(proj, 30), idempotency_key=f"bulk-{i}", **kw)

        started = time.perf_counter()
        ids = await asyncio.gather(*(post(i) for i in range(200)))
        return ids, time.perf_counter() - started

    ids, elapsed = run(config, scenario)
    assert len(set(ids)) == 200
    assert len(realm_of(server, config).entities["TimeActivity"]) == 201
    print(f"quickbooks post_time: {200 / elapsed:.0f} creates/s with 32 in flight")


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_quickbooks_webhook_delivery_verifies_and_parses(fmt):
    """A signed delivery from the sandbox verifies and names the customer that was created."""
    received: list[tuple[bytes, str]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers.get("intuit-signature", "")))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hooks", receive)
    with SandboxServer(app, state=None) as hook:
        erp_config = ErpConfig(
            throttle=False,
            webhook_urls=(f"{hook.url}/hooks",),
            webhook_verifier="s3cret",
            webhook_format=fmt,
            webhook_batch_ms=20,
        )
        with start_erp(erp_config) as srv:
            config = settings(srv)
            cust_id = run(
                config,
                lambda conn: conn.upsert_customer(customer(), erp_id=None, idempotency_key="k-h"),
            )
            deadline = time.monotonic() + 5
            while not received and time.monotonic() < deadline:
                time.sleep(0.02)
    body, signature = received[0]
    assert verify_signature(body, signature, "s3cret")
    assert not verify_signature(body, signature, "wrong")
    notices = parse_notifications(body)
    assert (config["realm_id"], "Customer", cust_id, "Create") in notices


def test_quickbooks_charges_of_many_projects_match_one_project_at_a_time(server):
    """Listing several projects at once gives each project exactly its own charges."""
    config = settings(server)

    async def scenario(conn: QuickBooksConnector) -> None:
        posted: dict[str, set[str]] = {}
        for minutes in (30, 45, 60):
            customer_id, project_id, proj = await make_project(conn)
            kw = {"project_erp_id": project_id, "customer_erp_id": customer_id, "erp_id": None}
            time_id = await conn.post_time(entry(proj, minutes), idempotency_key=f"k-{uid()}", **kw)
            cost = f"{minutes}.10"
            spend_id = await conn.post_expense(
                expense(proj, cost), idempotency_key=f"k-{uid()}", **kw
            )
            posted[project_id] = {time_id, spend_id}
        together = await conn.list_charges_of(list(posted))
        assert {p: {c["erp_id"] for c in cs} for p, cs in together.items()} == posted
        for project_id in posted:
            alone = await conn.list_charges(project_id)
            assert sorted(alone, key=str) == sorted(together[project_id], key=str)
        with pytest.raises(errors.PermanentError, match="no project"):
            await conn.list_charges_of([*posted, "999999"])

    run(config, scenario)
