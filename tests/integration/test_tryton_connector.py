"""The Tryton connector against a real trytond server started from the cached template."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from ledgerbridge import connectors, errors
from ledgerbridge.connectors.tryton import TrytonConnector, TrytonServer, _harness
from ledgerbridge.model import BillingType, Contract, Customer, Expense, Money, Project, TimeEntry

pytestmark = pytest.mark.slow
T = TypeVar("T")
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    """One real Tryton server per module, on a copy of the template database."""
    server = TrytonServer.from_template(tmp_path_factory.mktemp("tryton"))
    with server:
        yield server


def run(server: TrytonServer, scenario: Callable[[TrytonConnector], Awaitable[T]]) -> T:
    """Run ``scenario`` with a connector on its own aiohttp session."""

    async def main() -> T:
        async with aiohttp.ClientSession() as http:
            connector = connectors.create("tryton", server.settings(), session=http)
            assert isinstance(connector, TrytonConnector)
            try:
                return await scenario(connector)
            finally:
                await connector.aclose()

    return asyncio.run(main())


def uid() -> str:
    return uuid.uuid4().hex[:10]


def customer() -> Customer:
    return Customer(id=f"cust-{uid()}", name=f"Globex {uid()}", currency="USD")


def project(cust: Customer, billing: BillingType = BillingType.TIME_AND_MATERIALS) -> Project:
    contract = Contract(billing_type=billing, currency="USD", fee=Money.of("5000", "USD"))
    return Project(
        id=f"proj-{uid()}", customer_id=cust.id, name=f"Rollout {uid()}", contract=contract
    )


def entry(proj: Project, hours: str, rate: str = "150", day: int = 0) -> TimeEntry:
    return TimeEntry(
        id=f"te-{uid()}",
        project_id=proj.id,
        resource_id="res-1",
        date=TODAY - dt.timedelta(days=day),
        hours=Decimal(hours),
        billable=True,
        rate=Money.of(rate, "USD"),
        approved=True,
        notes=f"work day {day}",
    )


async def make_project(
    conn: TrytonConnector, billing: BillingType = BillingType.TIME_AND_MATERIALS
) -> tuple[str, str, Project]:
    cust = customer()
    cust_id = await conn.upsert_customer(cust, erp_id=None, idempotency_key=f"k-{uid()}")
    proj = project(cust, billing)
    proj_id = await conn.upsert_project(
        proj, customer_erp_id=cust_id, erp_id=None, idempotency_key=f"k-{uid()}"
    )
    return cust_id, proj_id, proj


async def post(conn: TrytonConnector, ids: tuple[str, str, Project], e: TimeEntry, key: str) -> str:
    cust_id, proj_id, _proj = ids
    return await conn.post_time(
        e, project_erp_id=proj_id, customer_erp_id=cust_id, erp_id=None, idempotency_key=key
    )


async def invoice(conn: TrytonConnector, ids: tuple[str, str, Project], key: str) -> str:
    cust_id, proj_id, _proj = ids
    request = connectors.InvoiceRequest(
        project_erp_id=proj_id, customer_erp_id=cust_id, currency="USD", txn_date=TODAY, lines=[]
    )
    return await conn.create_invoice(request, idempotency_key=key)


async def post_and_pay(conn: TrytonConnector, invoice_id: str) -> None:
    """Post the invoice and pay it in full, the way the finance team does in Tryton."""
    rpc = conn.client
    inv = rpc.model("account.invoice")
    await inv.write([int(invoice_id)], {"invoice_date": TODAY})
    await inv.button("post", [int(invoice_id)])
    (row,) = await inv.read([int(invoice_id)], ["amount_to_pay"])
    (method,) = await rpc.model("account.invoice.payment.method").search([], limit=1)
    await rpc.run_wizard(
        "account.invoice.pay",
        {"start": ("choice", {"payment_method": method, "amount": row["amount_to_pay"]})},
        active_model="account.invoice",
        active_ids=[int(invoice_id)],
    )


async def line_count(conn: TrytonConnector, proj_id: str) -> int:
    return len([c for c in await conn.list_charges(proj_id) if c["object_type"] == "time_entry"])


def test_tryton_full_path_invoices_to_the_cent_and_reads_paid(tryton: TrytonServer) -> None:
    """Customer, project, time and an expense become a draft invoice with the exact total, then paid."""

    async def scenario(conn: TrytonConnector) -> dict[str, Any]:
        ids = await make_project(conn)
        cust_id, proj_id, proj = ids
        for e in (entry(proj, "3.25"), entry(proj, "1.5", day=1), entry(proj, "2", "95.5")):
            await post(conn, ids, e, f"k-{uid()}")
        exp = Expense(
            id=f"ex-{uid()}",
            project_id=proj.id,
            resource_id="res-1",
            date=TODAY,
            amount=Money.of("42.37", "USD"),
            category="Travel",
            billable=True,
            approved=True,
        )
        await conn.post_expense(
            exp, project_erp_id=proj_id, customer_erp_id=cust_id, erp_id=None, idempotency_key=uid()
        )
        charges = await conn.list_charges(proj_id)
        invoice_id = await invoice(conn, ids, f"inv-{uid()}")
        draft = await conn.get_invoice(invoice_id)
        billed = await conn.list_charges(proj_id)
        await post_and_pay(conn, invoice_id)
        return {
            "charges": charges,
            "billed": billed,
            "invoice_id": invoice_id,
            "draft": draft,
            "paid": await conn.get_invoice(invoice_id),
        }

    result = run(tryton, scenario)
    # 4.75 h x 150 + 2 h x 95.50 + 42.37 = 712.50 + 191.00 + 42.37
    expected = Money(Decimal("945.87"), "USD")
    assert sum(c["amount"] for c in result["charges"]) == expected.amount
    assert not any(c["billed"] or "invoice_erp_id" in c for c in result["charges"])
    assert {(c["billed"], c.get("invoice_erp_id")) for c in result["billed"]} == {
        (True, result["invoice_id"])
    }
    assert (result["draft"].status, result["draft"].total) == ("draft", expected)
    assert result["paid"].status == "paid"
    assert result["paid"].total == expected
    assert result["paid"].balance == Money.zero("USD")
    assert sum(p["amount"].amount for p in result["paid"].payments) == expected.amount


def test_tryton_post_time_same_key_creates_one_line(tryton: TrytonServer) -> None:
    """Posting one entry twice with the same key leaves one line, which the key finds."""

    async def scenario(conn: TrytonConnector) -> tuple[str, str, str | None, int]:
        ids = await make_project(conn)
        e = entry(ids[2], "2.5")
        first = await post(conn, ids, e, "same-key_%")
        second = await post(conn, ids, e, "same-key_%")
        found = await conn.find_by_idempotency_key("time_entry", "same-key_%")
        return first, second, found, await line_count(conn, ids[1])

    first, second, found, count = run(tryton, scenario)
    assert first == second == found
    assert count == 1


def test_tryton_post_time_with_erp_id_corrects_duration(tryton: TrytonServer) -> None:
    """A corrected entry (erp_id given) changes the duration of the same line."""

    async def scenario(conn: TrytonConnector) -> tuple[str, list[dict[str, Any]]]:
        ids = await make_project(conn)
        e = entry(ids[2], "2")
        line = await post(conn, ids, e, uid())
        fixed = TimeEntry(**{**_fields(e), "hours": Decimal("3.75")})
        again = await conn.post_time(
            fixed, project_erp_id=ids[1], customer_erp_id=ids[0], erp_id=line, idempotency_key=uid()
        )
        assert again == line
        rows = await conn.client.model("timesheet.line").read([int(line)], ["duration"])
        return line, rows

    _line, rows = run(tryton, scenario)
    assert rows[0]["duration"] == dt.timedelta(hours=3, minutes=45)


def _fields(e: TimeEntry) -> dict[str, Any]:
    return {name: getattr(e, name) for name in e.__dataclass_fields__}


def test_tryton_invoiced_line_refuses_removal_and_correction(tryton: TrytonServer) -> None:
    """An invoiced line cannot be removed (our reason) or corrected (Tryton's own message)."""

    async def scenario(conn: TrytonConnector) -> tuple[str, str]:
        ids = await make_project(conn)
        e = entry(ids[2], "1")
        line = await post(conn, ids, e, uid())
        await invoice(conn, ids, uid())
        with pytest.raises(errors.PermanentError) as removal:
            await conn.remove_charge("time_entry", line, idempotency_key=uid())
        fixed = TimeEntry(**{**_fields(e), "hours": Decimal("5")})
        with pytest.raises(errors.PermanentError) as correction:
            await conn.post_time(
                fixed,
                project_erp_id=ids[1],
                customer_erp_id=ids[0],
                erp_id=line,
                idempotency_key=uid(),
            )
        return removal.value.message, correction.value.message

    removal, correction = run(tryton, scenario)
    assert "already invoiced" in removal
    assert "You cannot modify the duration of timesheet line" in correction
    assert "because it has been invoiced" in correction


def test_tryton_remove_charge_deletes_uninvoiced_line(tryton: TrytonServer) -> None:
    """An uninvoiced line is deleted, and removing it again is harmless."""

    async def scenario(conn: TrytonConnector) -> int:
        ids = await make_project(conn)
        line = await post(conn, ids, entry(ids[2], "1"), uid())
        await conn.remove_charge("time_entry", line, idempotency_key=uid())
        await conn.remove_charge("time_entry", line, idempotency_key=uid())
        return await line_count(conn, ids[1])

    assert run(tryton, scenario) == 0


def test_tryton_refused_write_carries_tryton_message(tryton: TrytonServer) -> None:
    """Time dated after the work's timesheet end date is refused in Tryton's own words."""

    async def scenario(conn: TrytonConnector) -> str:
        ids = await make_project(conn)
        line = await post(conn, ids, entry(ids[2], "1", day=3), uid())
        lines = conn.client.model("timesheet.line")
        (row,) = await lines.read([int(line)], ["work"])
        closed = TODAY - dt.timedelta(days=2)
        await conn.client.model("timesheet.work").write(
            [row["work"]], {"timesheet_end_date": closed}
        )
        with pytest.raises(errors.PermanentError) as refused:
            await post(conn, ids, entry(ids[2], "2"), uid())
        return refused.value.message

    message = run(tryton, scenario)
    assert "Timesheet Line" in message
    assert "is not valid according to its domain" in message


def test_tryton_fixed_fee_invoice_has_request_lines(tryton: TrytonServer) -> None:
    """A fixed-fee project's milestone becomes a draft invoice with the request's line."""

    async def scenario(conn: TrytonConnector) -> Any:
        cust_id, proj_id, _proj = await make_project(conn, BillingType.FIXED_FEE)
        request = connectors.InvoiceRequest(
            project_erp_id=proj_id,
            customer_erp_id=cust_id,
            currency="USD",
            txn_date=TODAY,
            lines=[
                {
                    "description": "Milestone 1",
                    "quantity": Decimal(1),
                    "unit_price": Decimal("2500.10"),
                }
            ],
        )
        key = uid()
        first = await conn.create_invoice(request, idempotency_key=key)
        assert await conn.create_invoice(request, idempotency_key=key) == first
        return await conn.get_invoice(first)

    inv = run(tryton, scenario)
    assert (inv.status, inv.total, inv.balance) == (
        "draft",
        Money.of("2500.10", "USD"),
        Money.of("2500.10", "USD"),
    )


def test_tryton_outage_is_transient_and_retry_makes_no_duplicate(tryton: TrytonServer) -> None:
    """While the server is down calls raise TransientError; after restart the retry adds no line."""

    async def scenario(conn: TrytonConnector) -> tuple[list[str], int]:
        ids = await make_project(conn)
        e = entry(ids[2], "4")
        key = uid()
        first = await post(conn, ids, e, key)
        tryton.stop()
        outcomes = []
        try:
            for call in (lambda: post(conn, ids, e, key), conn.ping, lambda: conn.get_invoice("1")):
                with pytest.raises(errors.TransientError) as caught:
                    await call()
                outcomes.append(type(caught.value).__name__)
        finally:
            tryton.start()
        assert await post(conn, ids, e, key) == first
        return outcomes, await line_count(conn, ids[1])

    outcomes, count = run(tryton, scenario)
    assert set(outcomes) <= {"TransientError", "AmbiguousError"}
    assert count == 1


def test_tryton_wrong_password_is_config_error(tryton: TrytonServer) -> None:
    """Bad credentials surface as ConfigError, never as a retryable error."""

    async def scenario() -> None:
        async with aiohttp.ClientSession() as http:
            settings = {**tryton.settings(), "password": "not-the-password"}
            conn = TrytonConnector(settings, session=http)
            await conn.ping()

    with pytest.raises(errors.ConfigError):
        asyncio.run(scenario())


def test_tryton_batched_posting_is_faster_than_single(tryton: TrytonServer, capsys: Any) -> None:
    """post_time_many creates every line once and beats one call per line."""

    async def scenario(conn: TrytonConnector) -> tuple[float, float, list[str], list[str]]:
        ids = await make_project(conn)
        singles = [entry(ids[2], "0.25") for _ in range(30)]
        started = time.perf_counter()
        for e in singles:
            await post(conn, ids, e, f"s-{e.id}")
        single_rate = len(singles) / (time.perf_counter() - started)
        batch = [(entry(ids[2], "0.5"), f"b-{uid()}") for _ in range(300)]
        started = time.perf_counter()
        created = await conn.post_time_many(batch, project_erp_id=ids[1])
        batch_rate = len(batch) / (time.perf_counter() - started)
        again = await conn.post_time_many(batch[:150], project_erp_id=ids[1])
        return single_rate, batch_rate, created, again

    single_rate, batch_rate, created, again = run(tryton, scenario)
    with capsys.disabled():
        print(f"\ntryton timesheet posting: single {single_rate:.0f}/s, batched {batch_rate:.0f}/s")
    assert len(set(created)) == 300
    assert again == created[:150]
    assert batch_rate > 2 * single_rate


def test_tryton_cached_template_starts_quickly(tmp_path: Path) -> None:
    """A second server from the cached template is serving logins within seconds."""
    started = time.monotonic()
    with TrytonServer.from_template(tmp_path) as server:
        elapsed = time.monotonic() - started
        assert server.url.startswith("http://127.0.0.1:")
    print(f"cached start {elapsed:.1f}s")
    assert elapsed < 20


def test_tryton_corrupt_template_is_not_trusted(tryton: TrytonServer, tmp_path: Path) -> None:
    """A template whose bytes no longer match its checksum is rebuilt rather than used."""
    template, _cached = _harness.ensure_template()
    copy = tmp_path / "t.sqlite"
    copy.write_bytes(template.read_bytes())
    copy.with_suffix(".json").write_text(template.with_suffix(".json").read_text())
    assert _harness._template_is_valid(copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    assert not _harness._template_is_valid(copy)


def test_tryton_concurrent_posts_share_batches_and_stay_idempotent(tryton: TrytonServer) -> None:
    """Sixty runs posting time at once (two projects, two rates) cost one or two creates;
    posting the same sixty again, at once, finds every line and creates none."""

    async def scenario(conn: TrytonConnector) -> tuple[list[str], list[str], int, int, int]:
        first, second = await make_project(conn), await make_project(conn)
        work = [
            (ids, entry(ids[2], "0.5", rate=rate), f"c-{uid()}")
            for ids, rate in ((first, "150"), (second, "120"))
            for _ in range(30)
        ]
        posted = await asyncio.gather(*(post(conn, ids, e, key) for ids, e, key in work))
        calls = conn.new_lines.calls
        again = await asyncio.gather(*(post(conn, ids, e, key) for ids, e, key in work))
        counts = [await line_count(conn, ids[1]) for ids in (first, second)]
        return list(posted), list(again), calls, *counts

    posted, again, calls, first_lines, second_lines = run(tryton, scenario)
    assert len(set(posted)) == 60
    assert again == posted
    assert calls <= 2
    assert (first_lines, second_lines) == (30, 30)
