"""The delivery-to-cash pipeline (PSA sandbox -> engine -> Tryton) against a real trytond."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import functools
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledgerbridge import sandboxes, store, tenancy
from ledgerbridge.connectors.tryton import TrytonConnector, TrytonServer
from ledgerbridge.connectors.tryton import _mapping as tryton_mapping
from ledgerbridge.connectors.tryton.cli import erp_app
from ledgerbridge.demo import SHIPPED
from ledgerbridge.engine import Client, Worker, WorkerSettings
from ledgerbridge.engine.poller import Poller
from ledgerbridge.operations import reconcile as reconcile_ops

pytestmark = pytest.mark.slow
PSA_TOKEN = "psa-token"
DAY = dt.date(2026, 10, 5)
RETRY = {"max_attempts": 40, "base_delay": 0.05, "max_delay": 0.5}


@dataclasses.dataclass
class Pipeline:
    """A tenant wired PSA sandbox -> engine -> a real Tryton server, on a fresh store."""

    db: store.Database
    psa: Any
    tryton: TrytonServer
    worker: Worker
    poller: Poller
    client: Client
    tenant_id: str
    seq: Iterator[int] = dataclasses.field(default_factory=lambda: itertools.count(1))

    def apply(self, resource: str, id_: str, fields: dict[str, Any], op: str = "update") -> None:
        """Apply one PSA change, as a person in the PSA would make it."""
        seq = next(self.seq)
        at = f"{DAY.isoformat()}T08:{seq // 60:02d}:{seq % 60:02d}Z"
        self.psa.state.apply_many(
            [{"seq": seq, "at": at, "op": op, "resource": resource, "id": id_, "fields": fields}]
        )

    async def catch_up(self, deadline: float = 60.0) -> None:
        """Poll and run until nothing is queued or running (or the deadline passes)."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            await self.poller.poll()
            done = await self.worker.run_batch()
            counts = self.client.counts(self.tenant_id)
            if not done and not counts.get("queued") and not counts.get("running"):
                return
            if not done:
                await asyncio.sleep(0.05)
        raise AssertionError(f"runs still pending: {self.client.counts(self.tenant_id)}")

    def tryton_connector(self) -> TrytonConnector:
        found = self.worker.connector(self.tenant_id, "erp")
        assert isinstance(found, TrytonConnector)
        return found

    def exceptions(self) -> list[dict[str, Any]]:
        return self.client.list_exceptions(tenant_id=self.tenant_id)

    def run(self, scenario: Callable[[], Awaitable[None]]) -> None:
        """Run ``scenario`` in one event loop, closing the worker's connections in it."""

        async def main() -> None:
            try:
                await scenario()
            finally:
                await self.worker.aclose()

        asyncio.run(main())


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    """A fresh store, PSA sandbox and Tryton server (from the cached template)."""
    db = store.Database(f"sqlite:///{tmp_path / 'lb.db'}")
    store.migrate(db)
    psa = sandboxes.start_psa(sandboxes.PsaConfig(tokens=(PSA_TOKEN,), rate_limit=None))
    server = TrytonServer.from_template(tmp_path / "tryton")
    server.start()
    keyring = tenancy.Keyring(["pipeline-test-key-0123456789abcdef0123456789"])
    partner = tenancy.create_partner(db, name="Partner", brand={"display_name": "P"})
    tenant = tenancy.create_tenant(db, partner_id=partner, name="Acme", sla_tier="gold")
    psa_settings = {"base_url": f"{psa.url}/api/v1", "connection_id": "psa", "retry": RETRY}
    psa_settings.update({"per_page": 200, "rate_limit_per_second": 0})
    tenancy.add_connection(
        db,
        tenant_id=tenant,
        kind="kantata",
        connection_id="psa",
        settings=psa_settings,
        credentials={"token": PSA_TOKEN},
        keyring=keyring,
    )
    settings = server.settings()
    credentials = {"username": settings.pop("username"), "password": settings.pop("password")}
    tenancy.add_connection(
        db,
        tenant_id=tenant,
        kind="tryton",
        connection_id="erp",
        settings={**settings, "connection_id": "erp", "retry": RETRY},
        credentials=credentials,
        keyring=keyring,
    )
    tenancy.deploy_blueprint(
        db, tenant_id=tenant, document=SHIPPED, bindings={"psa": "psa", "erp": "erp"}
    )
    worker = Worker(
        db,
        settings=WorkerSettings(batch_size=100, concurrency=8, lease_seconds=60),
        settings_loader=functools.partial(tenancy.connection_settings, db, secret_key=keyring),
    )
    client = Client(db)
    env = Pipeline(db, psa, server, worker, Poller(db, worker, client=client), client, tenant)
    try:
        yield env
    finally:
        psa.stop()
        server.stop()
        db.dispose()


def _firm(env: Pipeline, entries: int) -> None:
    """A USD client, a time-and-materials project, a consultant and approved time."""
    env.apply("organizations", "1001", {"name": "Globex", "currency": "USD"}, op="create")
    env.apply("users", "20001", {"full_name": "Ada", "role_name": "Analyst"}, op="create")
    workspace = {
        "title": "Globex rollout",
        "organization_id": "1001",
        "currency": "USD",
        "billing_type": "time_and_materials",
        "price_in_cents": 0,
        "status": {"key": 130, "message": "Okay to Start", "color": "light_green"},
    }
    env.apply("workspaces", "300001", workspace, op="create")
    for n in range(entries):
        _entry(env, f"5000{n:04d}", minutes=60 + 15 * n)


def _entry(env: Pipeline, id_: str, *, minutes: int) -> None:
    fields = {
        "workspace_id": "300001",
        "user_id": "20001",
        "date_performed": DAY.isoformat(),
        "time_in_minutes": minutes,
        "billable": True,
        "rate_in_cents": 15000,
        "currency": "USD",
        "notes": f"entry {id_}",
        "approved": True,
        "is_invoiced": False,
    }
    env.apply("time_entries", id_, fields, op="create")


def _complete_milestone(env: Pipeline, id_: str) -> None:
    story = {"workspace_id": "300001", "title": "Phase 1", "story_type": "milestone"}
    env.apply("stories", id_, {**story, "state": "started", "price_in_cents": 0}, op="create")
    env.apply("stories", id_, {"state": "completed"})


async def _tryton_lines(env: Pipeline) -> dict[str, list[dict[str, Any]]]:
    """Timesheet lines in Tryton by the PSA entry id they carry."""
    rows = (
        await env.tryton_connector()
        .client.model("timesheet.line")
        .search_read([], ["id", "duration", "description", "invoice_line"])
    )
    by_source: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in rows:
        source, _key = tryton_mapping.parse_marker(row["description"]) or ("?", "")
        by_source[source].append(row)
    return dict(by_source)


async def _out_invoices(env: Pipeline) -> list[dict[str, Any]]:
    return (
        await env.tryton_connector()
        .client.model("account.invoice")
        .search_read([["type", "=", "out"]], ["id", "total_amount", "state"])
    )


async def _reconcile(env: Pipeline) -> Any:
    return await reconcile_ops.reconcile_tenant(env.db, env.tenant_id, env.worker)


def test_tryton_pipeline_corrects_edits_and_parks_edits_of_invoiced_time(
    pipeline: Pipeline,
) -> None:
    """Edits fix the line, unapproval removes it, an edit after invoicing parks with the reason."""

    async def scenario() -> None:
        _firm(pipeline, 3)
        await pipeline.catch_up()
        pipeline.apply("time_entries", "50000000", {"time_in_minutes": 150})
        pipeline.apply("time_entries", "50000001", {"approved": False})
        await pipeline.catch_up()
        lines = await _tryton_lines(pipeline)
        assert sorted(lines) == ["50000000", "50000002"]
        assert lines["50000000"][0]["duration"] == dt.timedelta(minutes=150)
        _complete_milestone(pipeline, "4000001")
        await pipeline.catch_up()
        (invoice,) = await _out_invoices(pipeline)
        assert str(invoice["total_amount"]) == "600.00"  # (2.5 h + 1.5 h) x 150
        pipeline.apply("time_entries", "50000002", {"time_in_minutes": 30})
        await pipeline.catch_up()
        (parked,) = pipeline.exceptions()
        assert "50000002 was already invoiced on ERP invoice" in parked["reason"]
        lines = await _tryton_lines(pipeline)
        assert lines["50000002"][0]["duration"] == dt.timedelta(minutes=90)
        report = await _reconcile(pipeline)
        assert report.to_dict()["difference_count"] == 0

    pipeline.run(scenario)


def test_tryton_pipeline_refusal_parks_with_trytons_message_and_retry_completes(
    pipeline: Pipeline,
) -> None:
    """No receivable account: the invoice run parks in Tryton's words; fix, retry, one invoice."""

    async def scenario() -> None:
        _firm(pipeline, 2)
        await pipeline.catch_up()
        config = pipeline.tryton_connector().client.model("account.configuration")
        (saved,) = await config.read([1], ["default_account_receivable"])
        await config.write([1], {"default_account_receivable": None})
        _complete_milestone(pipeline, "4000001")
        await pipeline.catch_up()
        (parked,) = pipeline.exceptions()
        assert parked["flow"] == "invoice_milestone"
        assert 'you must define a receivable account for party "Globex"' in parked["reason"]
        assert await _out_invoices(pipeline) == []
        await config.write([1], {"default_account_receivable": saved["default_account_receivable"]})
        pipeline.client.retry(parked["id"], actor="finance@acme.example")
        await pipeline.catch_up()
        assert pipeline.exceptions() == []
        (invoice,) = await _out_invoices(pipeline)
        assert str(invoice["total_amount"]) == "337.50"  # (1 h + 1.25 h) x 150
        lines = await _tryton_lines(pipeline)
        assert all(len(rows) == 1 and rows[0]["invoice_line"] for rows in lines.values())

    pipeline.run(scenario)


def test_tryton_pipeline_survives_server_stop_mid_run(pipeline: Pipeline) -> None:
    """Tryton stops while entries post; after restart every entry is there exactly once."""

    async def scenario() -> None:
        _firm(pipeline, 1)
        await pipeline.catch_up()
        for n in range(1, 60):
            _entry(pipeline, f"5000{n:04d}", minutes=30 + n)
        running = asyncio.create_task(pipeline.catch_up(deadline=120))
        end = time.monotonic() + 30
        stopped_with = 0
        while stopped_with < 10 and time.monotonic() < end:
            await asyncio.sleep(0.02)
            stopped_with = len(await _tryton_lines(pipeline))
        await asyncio.to_thread(pipeline.tryton.stop)
        await asyncio.sleep(1.0)  # runs fail and wait to retry while the server is down
        assert not running.done()
        await asyncio.to_thread(pipeline.tryton.start)
        await running
        assert pipeline.exceptions() == []
        lines = await _tryton_lines(pipeline)
        assert len(lines) == 60
        assert 10 <= stopped_with < 60  # the server really stopped in the middle
        assert [s for s, rows in lines.items() if len(rows) != 1] == []
        report = (await _reconcile(pipeline)).to_dict()
        assert report["difference_count"] == 0, report["differences"][:5]

    pipeline.run(scenario)


def test_tryton_init_cli_prints_how_to_start_the_server(tmp_path: Path) -> None:
    """`erp tryton-init DIR` writes the database and prints URL, login and start command."""
    result = CliRunner().invoke(erp_app, ["tryton-init", str(tmp_path), "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123" in result.output
    assert "admin / admin" in result.output
    assert f"-c {tmp_path / 'trytond.conf'} -d ledgerbridge" in result.output
    assert (tmp_path / "db" / "ledgerbridge.sqlite").stat().st_size > 1_000_000
    again = CliRunner().invoke(erp_app, ["tryton-init", str(tmp_path)])
    assert again.exit_code == 1
    assert "already holds a Tryton database" in again.output
