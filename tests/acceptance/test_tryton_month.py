"""A month of delivery-to-cash through the real pipeline into a real Tryton server."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ledgerbridge import sample, store
from ledgerbridge.connectors.tryton import TrytonClient, TrytonServer
from ledgerbridge.connectors.tryton import _mapping as tryton_mapping
from ledgerbridge.demo import TRYTON_CURRENCIES, DemoOptions, run_demo, scaled_config
from ledgerbridge.engine import Client

pytestmark = pytest.mark.slow
OBJECT_TYPES = {"time_entries": "time_entry", "expenses": "expense"}
ENTRIES = 1000
CENT = Decimal("0.01")


@dataclasses.dataclass
class TrytonBooks:
    """What Tryton holds after the month, read over JSON-RPC."""

    lines_by_source: dict[str, int]  # time entry id -> timesheet lines carrying it
    expenses_by_source: dict[str, int]  # expense id -> expense works carrying it
    charges: dict[str, tuple[str, Decimal]]  # source id -> (project.work id, amount)
    invoice_totals: dict[int, Decimal]  # invoice id -> untaxed total
    invoice_states: collections.Counter[str]


async def _read_books(server: TrytonServer) -> TrytonBooks:
    async with aiohttp.ClientSession() as http:
        rpc = TrytonClient(http, **server.settings())
        works = await rpc.model("project.work").search_read(
            [], ["id", "type", "parent", "list_price", "comment", "timesheet_works"]
        )
        lines = await rpc.model("timesheet.line").search_read(
            [], ["work", "duration", "description"]
        )
        invoices = await rpc.model("account.invoice").search_read(
            [["type", "=", "out"]], ["id", "total_amount", "state"]
        )
    price = {tw: (w["list_price"], w["parent"]) for w in works for tw in w["timesheet_works"]}
    books = TrytonBooks(
        lines_by_source=collections.Counter(),
        expenses_by_source=collections.Counter(),
        charges={},
        invoice_totals={i["id"]: i["total_amount"] for i in invoices},
        invoice_states=collections.Counter(i["state"] for i in invoices),
    )
    for line in lines:
        source, _key = tryton_mapping.parse_marker(line["description"]) or ("?", "")
        books.lines_by_source[source] += 1
        rate, project = price[line["work"]]
        hours = tryton_mapping.duration_to_hours(line["duration"])
        books.charges[source] = (str(project), (hours * rate).quantize(CENT))
    for work in works:
        marker = tryton_mapping.parse_marker(work["comment"])
        if work["type"] == "project" and work["parent"] and marker:
            books.expenses_by_source[marker[0]] += 1
            books.charges[marker[0]] = (str(work["parent"]), work["list_price"])
    return books


def _ledgerbridge_view(database: Path) -> dict[str, Any]:
    """Project and invoice cross-references and held records, from the demo's store."""
    db = store.Database(f"sqlite:///{database}")
    try:
        with db.read() as conn:
            (tenant,) = store.tenancy.list_tenants(conn)
            projects = store.xrefs.list_(conn, tenant.id, object_type="project", system="erp")
            invoices = store.xrefs.list_(conn, tenant.id, object_type="invoice", system="erp")
        payments = Client(db).list_runs(tenant_id=tenant.id, flow="payment_writeback", limit=10_000)
        return {
            "payment_runs": collections.Counter(run["status"] for run in payments),
            "project_of_work": {row.external_id: row.canonical_id for row in projects},
            "invoice_project": {
                int(row.external_id): (store.loads(row.data) or {})["project_id"]
                for row in invoices
            },
        }
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the scaled month against Tryton once; keep its database to inspect."""
    root = tmp_path_factory.mktemp("tryton-month")
    config = dataclasses.replace(
        scaled_config(entries=ENTRIES), client_currencies=TRYTON_CURRENCIES
    )
    options = DemoOptions(
        database=root / "demo.db", erp="tryton", config=config, tryton_dir=root / "tryton"
    )
    started = time.monotonic()
    summary = asyncio.run(run_demo(options))
    elapsed = time.monotonic() - started
    with TrytonServer(root / "tryton", database="ledgerbridge") as server:
        books = asyncio.run(_read_books(server))
    postings = summary["approval_to_posting_seconds"]["count"]
    print(
        f"\ntryton month: {ENTRIES} entries, {summary['events']} events, {postings} postings "
        f"in {elapsed:.1f} s ({postings / summary['elapsed_seconds']:.1f} postings/s)"
    )
    return {
        "summary": summary,
        "dataset": sample.generate(config),
        "books": books,
        "view": _ledgerbridge_view(root / "demo.db"),
    }


def test_tryton_month_reconciles_and_parks_only_the_seeded_problems(month: dict[str, Any]) -> None:
    """Zero difference against Tryton; the exception queue holds exactly the seeded problems."""
    summary, dataset = month["summary"], month["dataset"]
    recon = summary["reconciliation"]
    assert recon["difference_count"] == 0, recon["differences"][:5]
    expected = {(OBJECT_TYPES[p.resource], p.id) for p in dataset.problems}
    parked = {(e["object_type"], e["external_id"]) for e in summary["exception_records"]}
    assert parked == expected
    counts = summary["invoices"]["counts"]
    assert counts["drafted"] > 0 and counts["paid"] > 0


def test_tryton_month_has_every_charge_exactly_once(month: dict[str, Any]) -> None:
    """Each approved billable entry and expense is in Tryton once; per project to the cent."""
    books, dataset, view = month["books"], month["dataset"], month["view"]
    held = {p.id for p in dataset.problems}
    assert [s for s, n in books.lines_by_source.items() if n != 1] == []
    assert [s for s, n in books.expenses_by_source.items() if n != 1] == []
    expected = collections.defaultdict(Decimal)
    for totals in (dataset.expected.approved_time, dataset.expected.approved_expenses):
        for (project, _currency), amount in totals.items():
            expected[project] += amount
    found: dict[str, Decimal] = collections.defaultdict(Decimal)
    for source, (work, amount) in books.charges.items():
        if source not in held:  # an entry edited after invoicing keeps its invoiced value
            found[view["project_of_work"][work]] += amount
    assert {p: a for p, a in found.items() if a} == {p: a for p, a in expected.items() if a}


def test_tryton_month_invoices_per_project_match_the_psa(month: dict[str, Any]) -> None:
    """Invoiced totals per project in Tryton equal what the PSA's milestones call for."""
    books, dataset, view = month["books"], month["dataset"], month["view"]
    invoiced: dict[str, Decimal] = collections.defaultdict(Decimal)
    for invoice_id, project in view["invoice_project"].items():
        invoiced[project] += books.invoice_totals[invoice_id]
    expected = {p: a for (p, _c), a in dataset.expected.invoiced().items() if a}
    assert {p: a for p, a in invoiced.items() if a} == expected
    assert set(books.invoice_totals) == set(view["invoice_project"])
    assert books.invoice_states["paid"] > 0 and books.invoice_states["draft"] == 0


def test_tryton_month_payments_flow_back_to_the_psa(month: dict[str, Any]) -> None:
    """Every payment made in Tryton comes back through its feed and is recorded in the PSA."""
    payments = month["summary"]["payments_made_in_erp"]
    runs = month["view"]["payment_runs"]
    assert sum(payments.values()) > 0
    assert runs == {"succeeded": sum(payments.values())}
