"""The delivery-to-cash demo: a month of a consulting firm, end to end over real HTTP.

It starts the PSA and ERP sandboxes on loopback, creates a partner, a tenant and its
deployment on the embedded SQLite store, replays the sample month into the PSA hour by hour
(the pipeline catches up after each hour, as it would in real time), lets the client's
finance team pay most invoices in the ERP, and reports what a finance lead wants to know.

With ``erp="tryton"`` the ERP is a real Tryton server started from the cached template
database in a temporary directory. Tryton's project invoicing bills in the company currency
(USD), so the sample firm's clients are all USD clients unless the config says otherwise.
Invoices are posted and paid with Tryton's own pay wizard, and the payments come back
through the Tryton connector's feed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import secrets
import shutil
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from ledgerbridge import errors, sample, sandboxes, store, tenancy
from ledgerbridge._demo_output import render_summary, serve_console
from ledgerbridge.connectors import tryton
from ledgerbridge.engine import Client, Worker, WorkerSettings
from ledgerbridge.engine.poller import Poller
from ledgerbridge.operations import reconcile as reconcile_ops

__all__ = ["DemoOptions", "render_summary", "run_demo", "serve_console"]

log = structlog.get_logger("ledgerbridge.demo")
SHIPPED = Path(__file__).parent / "blueprints" / "shipped" / "delivery-to-cash.yaml"
PSA_TOKEN = "demo-psa-token"
ERP_TOKEN = "demo-erp-token"
REALM = "4620816365"
ERPS = ("sandbox", "tryton")
RETRY = {"max_attempts": 12, "base_delay": 0.05, "max_delay": 2.0}
#: The Tryton template's company currency; a Tryton demo firm bills only in it.
TRYTON_CURRENCIES = (("USD", 1),)


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoOptions:
    """What the demo runs."""

    months: int = 1
    fault_rate: float = 0.0
    seed: int = 42
    database: Path = Path(".ledgerbridge/demo.db")
    erp: str = "sandbox"
    config: sample.SampleConfig | None = None
    #: With ``erp="tryton"``: where to create the Tryton database and keep it after the
    #: run (to inspect it in Tryton); a temporary directory, removed at the end, if None.
    tryton_dir: Path | None = None


@dataclass
class DemoEnvironment:
    """The running pieces of a demo."""

    db: store.Database
    tenant_id: str
    partner_id: str
    psa: Any
    erp: Any
    worker: Worker
    poller: Poller
    client: Client
    erp_kind: str = "sandbox"
    workdir: Path | None = None
    started: float = field(default_factory=time.monotonic)


def scaled_config(*, entries: int, months: int = 1, seed: int = 42) -> sample.SampleConfig:
    """A sample firm scaled from the 600-person default to ``entries`` time entries a month."""
    if entries < 50:
        raise ValueError("entries must be at least 50")
    ratio = entries / 25_000
    clients = max(3, round(120 * ratio))
    return sample.SampleConfig(
        seed=seed,
        months=months,
        people=max(10, round(600 * ratio)),
        clients=clients,
        projects=max(clients, round(250 * ratio)),
        entries_per_month=entries,
        expenses_per_month=max(5, round(3000 * ratio)),
    )


def _faults(rate: float, seed: int) -> sandboxes.FaultPlan | None:
    if rate <= 0:
        return None
    return sandboxes.FaultPlan(
        error_5xx=rate,
        throttle_429=rate / 10,
        throttle_burst=3,
        retry_after_s=1,
        ambiguous=rate / 5,
        ambiguous_mode="drop",
        seed=seed,
    )


def _start_tryton(directory: Path | None) -> tuple[tryton.TrytonServer, Path | None]:
    """Start a Tryton server on a copy of the cached template.

    Returns:
        The server, and the temporary directory to remove afterwards (None when the
        database lives in ``directory``, which is kept).
    """
    temporary = None if directory else Path(tempfile.mkdtemp(prefix="ledgerbridge-tryton-"))
    try:
        server = tryton.TrytonServer.from_template(directory or temporary or Path())
        server.start()
    except BaseException:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
        raise
    return server, temporary


def _add_erp_connection(
    db: store.Database, tenant: str, options: DemoOptions, erp: Any, keyring: tenancy.Keyring
) -> None:
    if options.erp == "tryton":
        settings = erp.settings()
        credentials = {"username": settings.pop("username"), "password": settings.pop("password")}
        settings.update({"connection_id": "erp", "retry": RETRY})
        kind = "tryton"
    else:
        settings = {
            "base_url": erp.url,
            "realm_id": REALM,
            "connection_id": "erp",
            "rate_limit_per_second": 100_000,
            "per_minute": 10_000_000,
            "retry": RETRY,
        }
        credentials, kind = {"access_token": ERP_TOKEN}, "quickbooks"
    tenancy.add_connection(
        db,
        tenant_id=tenant,
        kind=kind,
        connection_id="erp",
        settings=settings,
        credentials=credentials,
        keyring=keyring,
    )


def _setup(options: DemoOptions) -> DemoEnvironment:
    if options.erp not in ERPS:
        raise errors.ConfigError(f"the demo ERP must be sandbox or tryton, not {options.erp!r}")
    if options.database.exists():
        options.database.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{options.database}{suffix}").unlink(missing_ok=True)
    db = store.Database(f"sqlite:///{options.database}")
    store.migrate(db)
    faults = _faults(options.fault_rate, options.seed)
    psa = sandboxes.start_psa(
        sandboxes.PsaConfig(tokens=(PSA_TOKEN,), rate_limit=None), faults=faults
    )
    workdir = None
    erp: Any
    if options.erp == "tryton":
        erp, workdir = _start_tryton(options.tryton_dir)
    else:
        erp = sandboxes.start_erp(
            sandboxes.ErpConfig(tokens=(ERP_TOKEN,), throttle=False), faults=faults
        )
    # The demo's credentials are sealed at rest like any partner's, under a key of its own.
    key_file = options.database.with_suffix(".key")
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(32))
        key_file.chmod(0o600)
    keyring = tenancy.Keyring([key_file.read_text().strip()])
    partner = tenancy.create_partner(
        db,
        name="Northwind Partners",
        brand={"display_name": "Northwind Cloud Ops", "primary": "#0b5cad"},
    )
    tenant = tenancy.create_tenant(db, partner_id=partner, name="Acme Consulting", sla_tier="gold")
    tenancy.add_connection(
        db,
        tenant_id=tenant,
        kind="kantata",
        connection_id="psa",
        settings={
            "base_url": f"{psa.url}/api/v1",
            "connection_id": "psa",
            "per_page": 200,
            "rate_limit_per_second": 0,
            "retry": RETRY,
        },
        credentials={"token": PSA_TOKEN},
        keyring=keyring,
    )
    _add_erp_connection(db, tenant, options, erp, keyring)
    tenancy.deploy_blueprint(
        db, tenant_id=tenant, document=SHIPPED, bindings={"psa": "psa", "erp": "erp"}
    )
    worker = Worker(
        db,
        settings=WorkerSettings(batch_size=200, concurrency=32, lease_seconds=60),
        settings_loader=functools.partial(tenancy.connection_settings, db, secret_key=keyring),
    )
    client = Client(db)
    return DemoEnvironment(
        db=db,
        tenant_id=tenant,
        partner_id=partner,
        psa=psa,
        erp=erp,
        worker=worker,
        poller=Poller(db, worker, client=client),
        client=client,
        erp_kind=options.erp,
        workdir=workdir,
    )


async def _catch_up(env: DemoEnvironment, *, deadline: float = 120.0) -> None:
    """Poll the feeds and run the worker until nothing is due or waiting to retry."""
    end = time.monotonic() + deadline
    while True:
        await env.poller.poll()
        done = 0
        while True:
            n = await env.worker.run_batch()
            done += n
            if n == 0:
                break
        counts = env.client.counts(env.tenant_id)
        if not counts.get("queued") and not counts.get("running") and not env.poller.failures:
            return
        if time.monotonic() > end:
            log.warning("demo catch-up deadline passed", counts=counts)
            return
        if done == 0:
            await asyncio.sleep(0.05)


def _payment_share(invoice_id: str, balance: Decimal) -> Decimal:
    """What the finance team pays: 70% of invoices in full, 15% half, 15% not yet."""
    share = int(str(invoice_id)[-2:] or 0) % 20
    if balance <= 0 or share >= 17:
        return Decimal(0)
    return balance if share < 14 else (balance / 2).quantize(Decimal("0.01"))


async def _pay_tryton_invoices(env: DemoEnvironment) -> dict[str, int]:
    """The finance team posts every drafted invoice in Tryton, then pays most of them."""
    with env.db.read() as conn:
        rows = store.xrefs.list_(conn, env.tenant_id, object_type="invoice", system="erp")
    ids = sorted(int(row.external_id) for row in rows)
    paid = Counter[str]()
    async with aiohttp.ClientSession() as http:
        settings = env.erp.settings()
        client = tryton.TrytonClient(http, **settings)
        await tryton.post_invoices(client, ids)
        balances = await client.model("account.invoice").read(ids, ["id", "amount_to_pay"])
        for row in balances:
            balance = Decimal(row["amount_to_pay"])
            amount = _payment_share(str(row["id"]), balance)
            if amount > 0:
                await tryton.pay_invoice(client, int(row["id"]), amount)
                paid["full" if amount == balance else "partial"] += 1
    return dict(paid)


def _pay_invoices(env: DemoEnvironment) -> dict[str, int]:
    """The client's finance team pays: 70% of invoices in full, 15% in part, 15% not yet."""
    state = env.erp.state
    paid = Counter[str]()
    start = 1
    while True:
        batch = state.query(REALM, f"SELECT * FROM Invoice STARTPOSITION {start} MAXRESULTS 1000")
        found = batch.get("Invoice", [])
        for invoice in found:
            balance = Decimal(str(invoice["Balance"]))
            amount = _payment_share(str(invoice["Id"]), balance)
            if amount <= 0:
                continue
            state.create(
                REALM,
                "Payment",
                {
                    "CustomerRef": invoice["CustomerRef"],
                    "TotalAmt": amount,
                    "CurrencyRef": invoice.get("CurrencyRef"),
                    "Line": [
                        {
                            "Amount": amount,
                            "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                        }
                    ],
                },
            )
            paid["full" if amount == balance else "partial"] += 1
        if len(found) < 1000:
            break
        start += 1000
    return dict(paid)


async def run_demo(options: DemoOptions) -> dict[str, Any]:
    """Run the demo month(s) and return the summary."""
    config = options.config or sample.SampleConfig(seed=options.seed, months=options.months)
    if options.erp == "tryton" and config.client_currencies is None:
        config = dataclasses.replace(config, client_currencies=TRYTON_CURRENCIES)
    dataset = sample.generate(config)
    env = _setup(options)
    started = time.monotonic()
    try:
        for group in sample.by_hour(dataset.ops):
            env.psa.state.apply_many(group)
            await _catch_up(env)
        if env.erp_kind == "tryton":
            payments = await _pay_tryton_invoices(env)
        else:
            payments = _pay_invoices(env)
        await _catch_up(env)
        elapsed = time.monotonic() - started
        recon = await reconcile_ops.reconcile_tenant(env.db, env.tenant_id, env.worker)
        faults = await _fault_stats(env)
        summary = _summary(env, dataset, recon, elapsed, payments, faults)
    finally:
        await env.worker.aclose()
        env.psa.stop()
        env.erp.stop()
        env.db.dispose()
        if env.workdir is not None:
            shutil.rmtree(env.workdir, ignore_errors=True)
    return summary


def _summary(
    env: DemoEnvironment,
    dataset: Any,
    recon: Any,
    elapsed: float,
    payments: dict[str, int],
    faults: dict[str, Any],
) -> dict[str, Any]:
    with env.db.read() as conn:
        exceptions = store.exceptions.count_open_by_reason(conn, env.tenant_id)
        open_rows = store.exceptions.list_(
            conn, tenant_id=env.tenant_id, status="open", limit=100_000
        )
        latencies = store.runs.posting_latencies(
            conn, env.tenant_id, flows=("post_time", "post_expense")
        )
        counts = store.runs.count_runs_by_status(conn, env.tenant_id)
        events = store.runs.count_events(conn, env.tenant_id)
    by_reason: dict[str, int] = defaultdict(int)
    for row in exceptions:
        by_reason[row.reason] += row.n
    latencies.sort()
    return {
        "months": dataset.config.months,
        "partner_id": env.partner_id,
        "tenant_id": env.tenant_id,
        "elapsed_seconds": round(elapsed, 1),
        "events": events,
        "events_per_second": round(events / elapsed, 1) if elapsed else None,
        "runs": counts,
        "sample": dataset.summary().get("counts", {}),
        "money": recon.totals_by_currency(),
        "invoices": recon.invoices,
        "payments_made_in_erp": payments,
        "exceptions": {
            "open": sum(by_reason.values()),
            "by_reason": dict(sorted(by_reason.items())),
        },
        "approval_to_posting_seconds": {
            "median": round(statistics.median(latencies), 3) if latencies else None,
            "p95": round(latencies[int(len(latencies) * 0.95) - 1], 3) if latencies else None,
            "count": len(latencies),
        },
        "reconciliation": recon.to_dict(),
        "exception_records": [_exception_record(row) for row in open_rows],
        "faults_injected": faults,
    }


def _exception_record(row: Any) -> dict[str, Any]:
    detail = store.loads(row.detail) or {}
    _connection, object_type, external_id = str(detail.get("entity_key", "::")).split(":", 2)
    return {
        "id": row.id,
        "flow": row.flow,
        "object_type": object_type,
        "external_id": external_id,
        "reason": row.reason,
    }


async def _fault_stats(env: DemoEnvironment) -> dict[str, Any]:
    """Faults the sandboxes injected, from their admin endpoints."""
    by_kind: Counter[str] = Counter()
    servers = [env.psa] if env.erp_kind == "tryton" else [env.psa, env.erp]
    async with aiohttp.ClientSession() as http:
        for server in servers:
            async with http.get(f"{server.url}/_admin/stats") as response:
                stats = await response.json()
            for kind, n in (stats.get("faults") or {}).items():
                by_kind[kind] += int(n)
    return {"total": sum(by_kind.values()), "by_kind": dict(by_kind)}
